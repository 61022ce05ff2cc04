# The two commands of the README, on a fresh machine:
#   make lab    set everything up, then open the course in JupyterLab
#   make test   set everything up, then run the unit tests and every notebook (smoke profile)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# JupyterLab refuses to run as root unless told to (containers, some cloud machines).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test
setup: $(STAMP)

# PIP_FIND_LINKS is emptied so that a machine-local torch wheel (a CPU-only build whose torchvision ops
# fail) is never picked: torch and torchvision come from the registry together. Their CUDA builds run on CPU.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	PIP_FIND_LINKS= $(BIN)/python -m pip install --quiet --upgrade pip
	PIP_FIND_LINKS= $(BIN)/python -m pip install --quiet -e ".[browser]"
	$(BIN)/python -m tutorial doctor
	touch $(STAMP)

lab: setup
	$(BIN)/jupyter lab $(ALLOW_ROOT) notebooks/00_start_here.ipynb

test: setup
	$(BIN)/python -m pytest
