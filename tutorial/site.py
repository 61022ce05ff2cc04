"""``python -m tutorial site``: the course as a static website, every notebook executed, with its outputs.

Built with Sphinx and MyST-NB (the engine under Jupyter Book 1, used here directly: one ``conf.py`` this
module writes, no other build tool, and MyST-NB reads ``.ipynb`` files as they are). Executions are kept in a
jupyter-cache database per profile, keyed by each notebook's code: a rebuild after changing one notebook
executes only that one, and a changed profile never reuses another profile's outputs.

The notebooks are executed here first, one at a time, with a timeout per cell (a known race between the
notebook client and ipywidgets can leave a run waiting after an ``interact`` cell); a notebook that timed
out is run once more, and every notebook that still fails is named with the cell and error that stopped it.
Sphinx then renders from the cache only (a failed notebook is rendered without outputs, never re-run there).

Pages: the home page (the notebooks in order with their objectives), one page per notebook (outputs,
equations typeset with a MathJax copy served by the site itself, "open in Colab" and "download" buttons),
a results page (the README's measured tables) and a gallery of key pictures, each with the credits its
notebook printed. Widgets are not live on a static page: their saved state is drawn by the ipywidgets HTML
manager, which MyST-NB loads from a CDN (so not offline).
"""
from __future__ import annotations

import base64
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
SITE = REPO / "build" / "site"
REPOSITORY = "https://github.com/image-gen-course/image-gen-course"

# The gallery: (notebook, cell id, caption); the cell's last picture is shown, or the one PICTURE names.
PICTURE = {"04_neural_style_transfer": 0}  # its cell then shows the snapshots
GALLERY = [
    ("02_gan", "c34436f6", "DCGAN samples, one per row and cluster (notebook 02)"),
    ("03_vae", "16f7aa0f", "VAE samples (top) beside DCGAN samples (bottom) (notebook 03)"),
    ("04_neural_style_transfer", "97088143", "Gatys et al.'s style transfer: photo, painting, result (notebook 04)"),
    ("05_adain", "611321b0", "AdaIN: one photo in several paintings' styles, one forward pass each (notebook 05)"),
    ("06_cyclegan", "01308638", "One photo through CycleGAN, Gatys et al.'s optimisation and AdaIN (notebook 06)"),
    ("07_vq_vae", "9983b21b", "VQ-VAE: test digits and their reconstructions from discrete codes (notebook 07)"),
    ("08_progan", "0804977a", "ProGAN samples as it grows, one row per phase (notebook 08)"),
    ("09_stylegan", "09034335", "StyleGAN style mixing: coarse styles from the top row, fine from the left (notebook 09)"),
    ("10_stylegan2", "f758ed6f", "StyleGAN2 samples over training (notebook 10)"),
    ("11_diffusion", "b38a2b72", "Diffusion samples (notebook 11)"),
    ("12_generators_compared", "a03f1515", "Every generator of the course, its first samples from seed 0, and real digits (notebook 12)"),
]


class SiteError(RuntimeError):
    """The site could not be built as asked; the message says which notebook failed and why."""


def _cache(profile: str):
    from jupyter_cache import get_cache

    return get_cache(str(SITE / "cache" / profile))


def _reason(traceback: str | None) -> str:
    """The last lines of a failed execution that say what went wrong."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in (traceback or "").strip().splitlines()]
    lines = [line for line in lines if line.strip()]
    return "\n    ".join(lines[-6:]) or "(no traceback recorded)"


def _timed_out(traceback: str | None) -> bool:
    return bool(traceback) and ("CellTimeoutError" in traceback or "timed out" in traceback.lower())


def execute(notebooks: list[Path], profile: str, timeout: int = 900, retries: int = 1,
            log=print) -> dict[str, str]:
    """Execute the notebooks whose code changed since their cached run, in ``profile``, one at a time.
    A notebook that timed out is run again up to ``retries`` times. Returns {notebook name: reason} for
    those that still failed (empty when all ran)."""
    from jupyter_cache.executors import load_executor

    cache = _cache(profile)
    records = {str(nb.resolve()): cache.add_nb_to_project(str(nb.resolve())) for nb in notebooks}
    stale = [uri for uri, record in records.items() if cache.get_cached_project_nb(record.pk) is None]
    for uri in records:
        log(f"  {Path(uri).name}: {'to execute' if uri in stale else 'cached, not executed again'}")
    executor = load_executor("local-serial", cache=cache, logger=_progress(log))
    todo = stale
    before, os.environ["TUTORIAL_PROFILE"] = os.environ.get("TUTORIAL_PROFILE"), profile  # kernels inherit it
    try:
        failed = _run(executor, cache, todo, timeout, retries, log)
    finally:
        if before is None:
            os.environ.pop("TUTORIAL_PROFILE", None)
        else:
            os.environ["TUTORIAL_PROFILE"] = before
    return {Path(uri).name: ("timed out: " if _timed_out(tb) else "") + _reason(tb) for uri, tb in failed.items()}


def _progress(log) -> logging.Logger:
    """A logger that passes jupyter-cache's "Executing: ..." lines (and its errors) on to ``log`` with the
    time of day, so a long build shows which notebook it is on."""
    class Forward(logging.Handler):
        def emit(self, record):
            message = record.getMessage().split("\n", 1)[0]
            if message.startswith(("Executing:", "Execution Excepted:", "Failed")):
                verb, _, uri = message.partition(": ")
                log(f"  {time.strftime('%H:%M:%S')} {verb.lower()} {Path(uri).name}")

    logger = logging.getLogger("tutorial.site.execution")
    logger.handlers[:] = [Forward()]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def _run(executor, cache, todo: list[str], timeout: int, retries: int, log) -> dict[str, str]:
    """Run ``todo`` (URIs), then again those that timed out, up to ``retries`` times: {URI: traceback}."""
    failed: dict[str, str] = {}
    for attempt in range(retries + 1):
        if not todo:
            break
        began = time.perf_counter()
        result = executor.run_and_cache(filter_uris=todo, timeout=timeout)
        log(f"  executed {len(todo)} notebook(s) in {time.perf_counter() - began:.0f} s")
        for uri in todo:  # each one's own time, as jupyter-cache recorded it with its outputs
            record = cache.get_cached_project_nb(uri)
            if record is not None and "execution_seconds" in (record.data or {}):
                log(f"  {Path(uri).name}: ran in {record.data['execution_seconds']:.0f} s")
        for uri in todo:
            failed.pop(uri, None)  # a retried notebook is judged by its last run
        now = {uri: cache.get_project_record(uri).traceback or "" for uri in result.excepted + result.errored}
        failed.update(now)
        todo = [uri for uri, tb in now.items() if _timed_out(tb)] if attempt < retries else []
        for uri in todo:
            log(f"  {Path(uri).name} timed out (a cell ran over {timeout} s): running it once more")
    return failed


def _first_markdown(nb: dict) -> str:
    return next("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def _title_and_objectives(nb: dict) -> tuple[str, str]:
    text = _first_markdown(nb)
    title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), "")
    match = re.search(r"\*\*(?:Learning o|O)bjectives\.\*\*.*?(?=\n\s*\n(?!\s*\d+\.|\s{2,})|\Z)", text, re.S)
    if match:
        return title, match.group(0).strip()
    prose = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip() and not p.lstrip().startswith(("#", "[!["))]
    return title, prose[0] if prose else ""  # a notebook without an objectives list: its first paragraph


def _home(notebooks: list[Path]) -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    intro = readme.split("\n## ", 1)[0].split("\n", 1)[1].strip()
    parts = ["# Image generation and style transfer, from scratch in PyTorch", "", intro, "",
             "Every lecture below is shown as executed, with its pictures and printed results. Each page has an "
             "**open in Colab** button (the launch icon at the top) and a **download** button for the notebook.",
             "", "## The notebooks, in order", ""]
    for nb_path in notebooks:
        title, objectives = _title_and_objectives(json.loads(nb_path.read_text(encoding="utf-8")))
        parts += [f"### [{title or nb_path.stem}](notebooks/{nb_path.name})", "", objectives, ""]
    parts += ["See also the [measured results](results.md) and the [gallery](gallery.md).", "",
              "```{toctree}", ":hidden:", ":maxdepth: 1", "",
              *[f"notebooks/{p.stem}" for p in notebooks], "results", "gallery", "```", ""]
    return "\n".join(parts)


def _results() -> str:
    return "\n".join([
        "# Measured results", "",
        "The course's reference figures, as the README holds them: each table says when, on which machine and at "
        "which commit it was measured. No figure here is typed from memory: each came from a run of "
        "`python -m tutorial bench LESSON` or of a notebook.", "",
        "```{include} ../../../README.md", ':start-after: "## Profiles"', ':end-before: "## Data and offline use"',
        ":relative-docs: notebooks/", ":relative-images:", "```", ""])


def _gallery(profile: str, src: Path, executed: set[str]) -> str:
    """Extract each gallery cell's last PNG from the cached run; credits are the lines the notebook printed."""
    cache = _cache(profile)
    (src / "gallery").mkdir(exist_ok=True)
    parts = ["# Gallery", "", f"Key pictures of the course, from this build's runs (profile `{profile}`): "
             "in `smoke` they show only that the code runs; `laptop` and `full` show what the models learn. "
             "Each is credited as its notebook printed the credits.", ""]
    for stem, cell_id, caption in GALLERY:
        path = NOTEBOOKS / f"{stem}.ipynb"
        if not path.exists() or path.name not in executed:
            continue
        try:
            _, nb = cache.merge_match_into_notebook(_read(path))
        except KeyError:
            continue
        cells = {c.get("id"): c for c in nb.cells}
        pngs = [o["data"]["image/png"] for o in cells.get(cell_id, {}).get("outputs", [])
                if "data" in o and "image/png" in o["data"]]
        if not pngs:
            continue
        (src / "gallery" / f"{stem}.png").write_bytes(base64.b64decode(pngs[PICTURE.get(stem, -1)]))
        credits = sorted({line.strip().removeprefix("Credit:").strip() for c in nb.cells if c.cell_type == "code"
                          for o in c.get("outputs", []) for line in (o.get("text") or "").splitlines()
                          if "License:" in line})  # the lines tutorial.credit printed
        parts += [f"## {caption}", "", f"![{caption}](gallery/{stem}.png)", "",
                  f"From [the notebook](notebooks/{stem}.ipynb)."
                  + ("" if not credits else " Credits: " + " · ".join(credits)), ""]
    return "\n".join(parts)


def _read(path: Path):
    import nbformat

    return nbformat.read(str(path), as_version=4)


CONF = '''# Written by tutorial/site.py for each build; edit that file, not this one.
project = "Image generation and style transfer, from scratch in PyTorch"
extensions = ["myst_nb", "sphinx-mathjax-offline"]  # the package's import name has hyphens
myst_enable_extensions = ["dollarmath", "amsmath"]
nb_execution_mode = "cache"
nb_execution_cache_path = {cache!r}
nb_execution_excludepatterns = {exclude!r}
nb_execution_timeout = {timeout}
nb_execution_raise_on_error = False
nb_merge_streams = True
exclude_patterns = ["_build"]
suppress_warnings = ["myst.header", "myst.xref_missing", "misc.highlighting_failure", "mystnb.unknown_mime_type"]
html_theme = "sphinx_book_theme"
html_title = "Image generation and style transfer"
html_theme_options = {{
    "repository_url": {repository!r},
    "repository_branch": "main",
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {{"colab_url": "https://colab.research.google.com"}},
}}
'''


def build(profile: str | None = None, timeout: int = 900, retries: int = 1, only: list[str] | None = None,
          log=print) -> Path:
    """Execute (what changed) and render the site into ``build/site/<profile>/html``; return the index page.
    ``only``: notebook file names to include (default all). Raises :class:`SiteError` naming the notebooks that
    failed; the pages are rendered first, the failed ones without outputs."""
    from .profiles import current_profile

    profile = profile or current_profile()
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    if only:
        notebooks = [p for p in notebooks if p.name in only or p.stem in only]
    log(f"Building the course site in the {profile!r} profile ({len(notebooks)} notebooks)")
    failures = execute(notebooks, profile, timeout, retries, log)
    src = SITE / profile / "src"
    shutil.rmtree(src, ignore_errors=True)
    (src / "notebooks").mkdir(parents=True)
    for p in notebooks:
        shutil.copy2(p, src / "notebooks" / p.name)
    (src / "conf.py").write_text(CONF.format(cache=str(SITE / "cache" / profile), timeout=timeout,
                                             exclude=[f"notebooks/{n}" for n in failures], repository=REPOSITORY))
    (src / "index.md").write_text(_home(notebooks), encoding="utf-8")
    (src / "results.md").write_text(_results(), encoding="utf-8")
    executed = {p.name for p in notebooks} - set(failures)
    (src / "gallery.md").write_text(_gallery(profile, src, executed), encoding="utf-8")
    out = SITE / profile / "html"
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", str(src), str(out)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SiteError(f"Sphinx could not render the site:\n{done.stderr[-3000:]}")
    log(f"  rendered in {time.perf_counter() - began:.0f} s: {out / 'index.html'}")
    if failures:
        raise SiteError("These notebooks failed to execute; their pages are shown without outputs:\n"
                        + "\n".join(f"  {name}: {reason}" for name, reason in failures.items()))
    return out / "index.html"
