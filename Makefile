# The two commands of the README, on a fresh machine:
#   make lab    set everything up, then open the course in JupyterLab
#   make test   set everything up, then run the unit tests and every notebook (smoke profile)
# and, in CI:
#   make test-lowest   the unit tests on the lowest version of every package that pyproject.toml allows
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# JupyterLab refuses to run as root unless told to (containers, some cloud machines).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test test-lowest site
setup: $(STAMP)

# PIP_FIND_LINKS is emptied so that a machine-local torch wheel (a CPU-only build whose torchvision ops
# fail) is never picked: torch and torchvision come from the registry together. Their CUDA builds run on CPU.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	PIP_FIND_LINKS= $(BIN)/python -m pip install --quiet --upgrade pip
	PIP_FIND_LINKS= $(BIN)/python -m pip install --quiet -e ".[browser,site]"
	$(BIN)/python -m tutorial doctor
	touch $(STAMP)

lab: setup
	$(BIN)/jupyter lab $(ALLOW_ROOT) notebooks/00_start_here.ipynb

test: setup
	$(BIN)/python -m pytest

# The course as a static website in build/site/PROFILE/html (default profile: full on a GPU, else laptop).
# Executions are cached per notebook: after changing one notebook, only that one runs again.
site: setup
	$(BIN)/python -m tutorial site $(if $(PROFILE),--profile $(PROFILE),)

# The lowest versions pyproject.toml declares, each one (uv's lowest-direct resolution), in their own venv:
# a lower bound is one that the unit tests have run on. The notebooks run in `make test`, on the newest.
LOWEST ?= .venv-lowest
$(LOWEST)/.installed: pyproject.toml
	$(PYTHON) -m venv $(LOWEST)
	PIP_FIND_LINKS= $(LOWEST)/bin/python -m pip install --quiet uv
	$(LOWEST)/bin/python -m uv pip install --quiet --python $(LOWEST)/bin/python --resolution lowest-direct -e .
	touch $(LOWEST)/.installed

test-lowest: $(LOWEST)/.installed
	TUTORIAL_LOWEST=1 $(LOWEST)/bin/python -m pytest tests --ignore=tests/test_notebooks_alone.py \
		--ignore=tests/test_jupyterlab.py --durations=5
