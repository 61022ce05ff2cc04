"""One source for lesson code: notebook cells marked ``#| export MODULE`` become ``tutorial/MODULE.py``.

The notebook that teaches a piece of code is where it is written. A code cell whose first line is
``#| export gan`` is copied, in order, into ``tutorial/gan.py``; later notebooks, ``bench`` and the tests
import it from there. Each generated module names its notebook in its first line and must not be edited by
hand: ``python -m tutorial export`` regenerates every module, and a test fails when a module and its
notebook differ.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

MARKER = re.compile(r"^#\|\s*export\s+([a-z_][a-z0-9_]*)\s*$")
PACKAGE = Path(__file__).resolve().parent
NOTEBOOKS = PACKAGE.parent / "notebooks"
HEADER = ("# GENERATED from {notebook} by `python -m tutorial export`. Edit the notebook, not this file.\n"
          "# Each block below is one code cell of that notebook, in order.\n")


def exported_cells(notebook: Path) -> list[tuple[str, str]]:
    """``(module, source)`` for each exported cell of ``notebook``, marker line removed."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    found = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        first, _, rest = source.partition("\n")
        match = MARKER.match(first.strip())
        if match:
            found.append((match.group(1), rest.strip("\n") + "\n"))
    return found


def generated_modules(notebooks_dir: Path = NOTEBOOKS) -> dict[str, str]:
    """Module file name -> the text the notebooks say it must hold."""
    modules: dict[str, tuple[str, list[str]]] = {}
    for notebook in sorted(Path(notebooks_dir).glob("*.ipynb")):
        rel = f"notebooks/{notebook.name}"
        for module, source in exported_cells(notebook):
            origin, blocks = modules.setdefault(module, (rel, []))
            if origin != rel:
                raise ValueError(f"module {module!r} is exported from both {origin} and {rel}: one source only")
            blocks.append(source)
    return {f"{m}.py": HEADER.format(notebook=origin) + "\n" + "\n\n".join(blocks)
            for m, (origin, blocks) in modules.items()}


def is_generated(path: Path) -> bool:
    return path.read_text(encoding="utf-8").startswith("# GENERATED from ")


def export(check: bool = False, package: Path = PACKAGE, notebooks_dir: Path = NOTEBOOKS) -> list[str]:
    """Write the generated modules (or, with ``check``, only list those that differ). Returns their names."""
    wanted = generated_modules(notebooks_dir)
    stale = []
    for name, text in wanted.items():
        path = package / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
            if not check:
                path.write_text(text, encoding="utf-8")
    for path in package.glob("*.py"):  # a generated module whose notebook no longer exports it
        if path.name not in wanted and is_generated(path):
            stale.append(path.name)
            if not check:
                path.unlink()
    return stale
