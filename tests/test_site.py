"""The course as a static website (tutorial/site.py, `make site`).

- Executing is robust: a notebook whose cell runs past the timeout is run once more and then named with the
  reason; a notebook whose code did not change is not executed again.
- The whole site builds in the `smoke` profile, and headless Chromium (as in tests/test_jupyterlab.py) finds
  the home page and a notebook page loaded, equations typeset, pictures present, no cell error shown, and the
  Colab and download buttons. Screenshots go to ``artifacts/site/``.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

pytest.importorskip("myst_nb", reason="the `site` extra is not installed (make setup installs it)")
pytest.importorskip("jupyter_cache", reason="the `site` extra is not installed (make setup installs it)")
from tutorial import site  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts" / "site"


def _notebook(path: Path, code: str) -> None:
    path.write_text(json.dumps({
        "cells": [{"cell_type": "markdown", "id": "aaaa0001", "metadata": {}, "source": ["# A title\n"]},
                  {"cell_type": "code", "id": "aaaa0002", "metadata": {}, "execution_count": None,
                   "outputs": [], "source": [code]}],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5}))


def test_a_notebook_that_times_out_is_run_once_more_then_named_and_unchanged_ones_are_not_rerun(tmp_path,
                                                                                                monkeypatch):
    monkeypatch.setattr(site, "SITE", tmp_path / "site")
    fine, slow, broken = tmp_path / "fine.ipynb", tmp_path / "slow.ipynb", tmp_path / "broken.ipynb"
    _notebook(fine, "import os\nassert os.environ['TUTORIAL_PROFILE'] == 'smoke'")
    _notebook(slow, "import time\ntime.sleep(60)")
    _notebook(broken, "1 / 0")
    said = []
    monkeypatch.setenv("TUTORIAL_PROFILE", "laptop")
    failures = site.execute([fine, slow, broken], "smoke", timeout=2, retries=1, log=said.append)
    assert os.environ["TUTORIAL_PROFILE"] == "laptop"  # the kernels ran in smoke; the caller's setting is back
    assert sorted(failures) == ["broken.ipynb", "slow.ipynb"] and failures["slow.ipynb"].startswith("timed out")
    assert "ZeroDivisionError" in failures["broken.ipynb"]  # named with its error, and not retried:
    assert not any("broken.ipynb timed out" in line for line in said)
    assert any("slow.ipynb timed out" in line and "once more" in line for line in said)
    assert any(line.endswith("executing fine.ipynb") for line in said)  # live: which notebook is running
    assert any(re.fullmatch(r"  fine\.ipynb: ran in \d+ s", line) for line in said)  # and what each took
    said.clear()
    assert list(site.execute([fine, slow], "smoke", timeout=2, retries=0, log=said.append)) == ["slow.ipynb"]
    assert sum("once more" in line for line in said) == 0
    assert "fine.ipynb: cached, not executed again" in "\n".join(said)
    assert "slow.ipynb: to execute" in "\n".join(said)


def test_home_page_lists_every_notebook_with_its_objectives():
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    home = site._home(notebooks)
    for nb in notebooks:
        assert f"](notebooks/{nb.name})" in home and f"notebooks/{nb.stem}" in home
    assert home.count("bjectives.**") == len(notebooks) - 1  # 00, the start, has none: its first paragraph
    assert "{toctree}" in home and "results" in home and "gallery" in home


def _browser():
    from test_jupyterlab import CHROMIUM, CHROMIUM_FLAGS, sync_playwright

    if CHROMIUM is None or sync_playwright is None:
        if os.environ.get("TUTORIAL_REQUIRE_BROWSER"):
            pytest.fail("Chromium or Playwright is missing, and TUTORIAL_REQUIRE_BROWSER is set (CI)")
        pytest.skip("needs Debian's chromium and the `browser` extra (Playwright)")
    return CHROMIUM, CHROMIUM_FLAGS, sync_playwright


@pytest.mark.skipif(os.environ.get("TUTORIAL_LOWEST") == "1", reason="the site is built on the newest packages")
def test_the_whole_site_builds_in_smoke_and_renders_in_chromium(tmp_path, monkeypatch):
    chromium, flags, sync_playwright = _browser()
    monkeypatch.setattr(site, "SITE", tmp_path / "site")
    monkeypatch.setenv("TUTORIAL_CHECKPOINTS", str(tmp_path / "checkpoints"))
    index = site.build("smoke", timeout=300, log=print)
    html = index.parent
    assert (html / "notebooks" / "01_cnn.html").exists() and (html / "gallery.html").exists()
    assert (html / "results.html").exists()
    assert "License:" in (tmp_path / "site" / "smoke" / "src" / "gallery.md").read_text()  # credited pictures
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=flags)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(index.as_uri())
        assert "Image generation" in page.title()
        assert page.locator('a[href*="notebooks/11_diffusion"]').count() >= 1
        page.screenshot(path=str(ARTIFACTS / "home.png"), full_page=False)

        page.goto((html / "notebooks" / "01_cnn.html").as_uri())
        page.wait_for_selector("mjx-container", timeout=60_000)  # MathJax, served by the site, typeset
        assert page.locator("mjx-container").count() > 5
        images = page.eval_on_selector_all(".cell_output img", "els => els.map(e => e.naturalWidth)")
        assert len(images) >= 3 and all(w > 0 for w in images)
        assert page.locator(".cell_output .traceback, .output.traceback").count() == 0  # no cell error shown
        assert page.locator('a[href*="colab.research.google.com"]').count() >= 1
        assert page.locator('a[href$=".ipynb"]').count() >= 1  # download the notebook
        page.screenshot(path=str(ARTIFACTS / "01_cnn.png"), full_page=False)

        page.goto((html / "gallery.html").as_uri())
        gallery = page.eval_on_selector_all("article img, main img", "els => els.map(e => e.naturalWidth)")
        assert len(gallery) >= 5 and all(w > 0 for w in gallery)
        page.screenshot(path=str(ARTIFACTS / "gallery.png"), full_page=True)
        browser.close()
