"""The course as learners meet it: JupyterLab in a real browser (headless Debian Chromium, driven by Playwright).

One JupyterLab server (this environment's, on 127.0.0.1, a free port, a throw-away copy of the notebooks) serves
both notebooks; for each, the test clicks through what a learner does: open it, accept the kernel, run all cells
(smoke profile), then checks *from the page* that

- no cell shows an error,
- a plotted image is rendered,
- an ipywidgets slider is drawn, and moving it (arrow key on its handle) changes the output it drives.

Screenshots go to ``artifacts/jupyterlab/`` (run pytest with ``-rA`` to see their paths for passing tests; a
failure names its screenshot in the message). Skipped, with the reason, when Chromium or Playwright is missing:
``.ci/run`` installs Debian's ``chromium``; ``make test`` installs the ``browser`` extra (Playwright). Playwright's
own browser download is never used. ``.ci/run`` sets ``TUTORIAL_REQUIRE_BROWSER=1``: in CI a missing browser fails
the test instead of skipping it.

``TUTORIAL_E2E_NOTEBOOKS=DIR`` runs the same checks on the notebooks in another folder (a draft, or a copy with a
widget broken on purpose to see the test fail).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright
except ImportError:  # the `browser` extra is not installed
    sync_playwright = None

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = Path(os.environ.get("TUTORIAL_E2E_NOTEBOOKS") or REPO / "notebooks")
ARTIFACTS = REPO / "artifacts" / "jupyterlab"
START_HERE = "00_start_here.ipynb"
# The first lesson notebook with a slider that runs fast in the smoke profile.
WIDGET_LESSON = "01_cnn.ipynb"

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)
# What Chromium needs on a machine with no display, as root, with a closed network.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

SERVER_START_S = 90  # JupyterLab answers within ~8 s on an idle 2-core machine
LAB_LOAD_S = 90  # the page: ~7 s
KERNEL_START_S = 60
RUN_ALL_S = 300  # a smoke notebook: ~30 s on an idle 2-core machine, 115 s seen under a load of 10
WIDGET_RESPONSE_S = 30

MISSING = (
    "Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)" if CHROMIUM is None
    else "Playwright is not installed (pip install -e '.[browser]'; make test does it)" if sync_playwright is None
    else None
)
# .ci/run sets this: in CI a missing browser fails the test instead of skipping it.
REQUIRE_BROWSER = os.environ.get("TUTORIAL_REQUIRE_BROWSER") == "1"
pytestmark = pytest.mark.skipif(MISSING is not None and not REQUIRE_BROWSER,
                                reason=f"{MISSING}: the JupyterLab browser test needs it")

# JupyterLab settings for a fresh, quiet, deterministic session: no news or update prompts (no network here),
# and every cell kept in the page so that the checks see all outputs, not only those scrolled into view.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _processes_mentioning(text: str) -> list[int]:
    """PIDs whose command line contains ``text`` (our kernels name their connection file in our temp dir)."""
    pids = []
    if not Path("/proc").is_dir():  # not Linux: the server's own shutdown has to do
        return pids
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


class LabServer:
    """``jupyter lab`` from this environment, in a temp root holding a copy of the notebooks."""

    def __init__(self, home: Path):
        self.home = home
        self.root = home / "root"
        shutil.copytree(NOTEBOOK_DIR, self.root / "notebooks",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        for name, values in LAB_SETTINGS.items():
            path = home / "lab-settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "jupyterlab.log"
        env = dict(os.environ)
        env.pop("MPLBACKEND", None)  # conftest.py sets Agg for unit tests; kernels must use the inline backend
        env.update(
            TUTORIAL_PROFILE="smoke",  # kernels inherit the server's environment
            # Nothing from the user's ~/.jupyter or ~/.local/share/jupyter: this environment's kernel and extensions.
            JUPYTER_CONFIG_DIR=str(home / "config"),
            JUPYTER_DATA_DIR=str(home / "data"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            IPYTHONDIR=str(home / "ipython"),
        )
        command = [
            sys.executable, "-m", "jupyter", "lab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            "--IdentityProvider.token=",  # loopback only; the config dir is empty, so no password either
            f"--ServerApp.root_dir={self.root}",
            f"--LabApp.user_settings_dir={home / 'lab-settings'}",
            f"--LabApp.workspaces_dir={home / 'lab-workspaces'}",
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run commands, read kernel state
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(command, env=env, cwd=self.root, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.process.returncode} before answering:\n"
                                   + self.log_tail())
            try:
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not answer on {self.url} within {SERVER_START_S} s:\n"
                                   + self.log_tail())
            time.sleep(0.25)

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server and every kernel it started, politely first, then by force."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # jupyter_server shuts its kernels down on SIGTERM
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        try:  # the server's process group: anything it left behind
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait(timeout=10)
        # Kernels run in sessions of their own; they name a connection file in our runtime dir.
        for pid in _processes_mentioning(str(self.home / "runtime")):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if MISSING:
        pytest.fail(f"{MISSING}, and TUTORIAL_REQUIRE_BROWSER=1 says this test must run.", pytrace=False)
    server = LabServer(tmp_path_factory.mktemp("jupyterlab"))
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lab_page(lab, tmp_path_factory):
    """One browser tab with JupyterLab loaded (~7 s on 2 cores); each test opens its notebook in it."""
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh, empty profile
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 1100},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.goto(f"{lab.url}/lab")
            if not _succeeds(lambda: page.wait_for_function("() => window.jupyterapp !== undefined",
                                                            timeout=LAB_LOAD_S * 1000)):
                _fail(page, "lab-load", f"JupyterLab did not load in Chromium within {LAB_LOAD_S} s.\n"
                                        f"Server log:\n{lab.log_tail()}")
            page.evaluate("() => window.jupyterapp.restored")
            # More room for the notebook in screenshots: hide the file browser.
            page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
            yield page
        finally:
            context.close()


# --- JavaScript run in the page (window.jupyterapp is JupyterLab's application object) ---------------------
# Each snippet is a function of the notebook's path; `PANEL(path)` in it finds that notebook's panel.

def _js(source: str) -> str:
    finder = "(path => [...window.jupyterapp.shell.widgets('main')].find(w => w.context && w.context.path === path))"
    return source.replace("PANEL(", f"{finder}(")


JS_KERNEL_STATUS = _js("""path => {
    if (!window.jupyterapp) return 'no app';
    const panel = PANEL(path);
    if (!panel) return 'no notebook';
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    return kernel ? kernel.status : 'no kernel';
}""")

JS_START_RUN_ALL = _js("""path => {
    const panel = PANEL(path);
    window.jupyterapp.shell.activateById(panel.id);
    window.__runAll = {done: false};
    window.jupyterapp.commands.execute('notebook:run-all-cells').then(
        ok => { window.__runAll = {done: true, ok}; },
        error => { window.__runAll = {done: true, ok: false, error: String(error)}; });
}""")

JS_RUN_ALL_DONE = _js("""path => {
    const session = PANEL(path).sessionContext.session;
    return window.__runAll.done && session && session.kernel && session.kernel.status === 'idle';
}""")

JS_CELLS = _js("""path => PANEL(path).content.widgets.map((cell, index) => {
    const source = cell.model.sharedModel.getSource();
    const prompt = cell.node.querySelector('.jp-InputPrompt');
    const outputs = cell.model.outputs ? Array.from({length: cell.model.outputs.length}, (_, i) => cell.model.outputs.get(i)) : [];
    return {
        index, type: cell.model.type, empty: source.trim() === '', source: source.split('\\n')[0].slice(0, 100),
        executionCount: cell.model.type === 'code' ? cell.model.executionCount : null,
        running: cell.model.executionState === 'running' || (prompt !== null && prompt.textContent.includes('*')),
        // An error renders as stderr text: found by the output's type, and inside widget outputs (an exception
        // in an interact callback) by the traceback header the page shows.
        errors: [
            ...outputs.filter(output => output.type === 'error')
                .map(output => `${output.toJSON().ename}: ${output.toJSON().evalue}`),
            ...[...cell.node.querySelectorAll('.widget-output .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
                .map(node => node.textContent).filter(text => text.includes('Traceback (most recent call last)'))
                .map(text => text.slice(-600)),
        ],
    };
})""")

JS_IMAGES_LOADED = _js("""path => {
    const images = [...PANEL(path).node.querySelectorAll('.jp-OutputArea-output img')];
    return images.length > 0 && images.every(img => img.complete);
}""")

JS_RENDERED_IMAGES = _js("""path => [...PANEL(path).node.querySelectorAll('.jp-OutputArea-output img')]
    .filter(img => img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0).length""")

JS_PANEL_ID = _js("path => PANEL(path).id")

# What a slider drives: every image in an output and the text of every widget output (not the sliders).
JS_DRIVEN_OUTPUT = _js("""path => {
    const node = PANEL(path).node;
    const images = [...node.querySelectorAll('.jp-OutputArea-output img')].map(img => img.src);
    const texts = [...node.querySelectorAll('.widget-output')].map(e => e.textContent);
    return JSON.stringify([images, texts]);
}""")

JS_OUTPUT_CHANGED = JS_DRIVEN_OUTPUT.replace("path => {", "([path, before]) => {", 1).replace(
    "return JSON.stringify([images, texts]);", "return JSON.stringify([images, texts]) !== before;")

JS_OPEN = "path => { window.jupyterapp.commands.execute('docmanager:open', {path}); }"

JS_CLOSE = _js("""async path => {
    const panel = PANEL(path);
    if (panel) { await panel.sessionContext.shutdown(); panel.dispose(); }
}""")


def _succeeds(wait) -> bool:
    """Whether a Playwright wait succeeded (a failure is then reported with what the page shows instead)."""
    try:
        wait()
        return True
    except PlaywrightError:
        return False


def _notebook_path(name: str) -> str:
    return f"notebooks/{name}"


def _fail(page, stem: str, message: str):
    shot = ARTIFACTS / f"{stem}-failure.png"
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot))
        message += f"\n(screenshot: {shot})"
    except (PlaywrightError, OSError):
        pass
    pytest.fail(message, pytrace=False)


def _open_with_kernel(page, lab: LabServer, name: str, stem: str) -> None:
    """Open the notebook and get an idle kernel, choosing the default one when JupyterLab asks (as a learner does)."""
    path = _notebook_path(name)
    page.evaluate(JS_OPEN, path)
    deadline = time.monotonic() + KERNEL_START_S
    status = "page not loaded"
    while time.monotonic() < deadline:
        status = page.evaluate(JS_KERNEL_STATUS, path)
        if status == "idle":
            return
        dialog = page.locator(".jp-Dialog")
        if dialog.count() and "Select Kernel" in dialog.first.inner_text():
            dialog.locator(".jp-mod-accept").first.click()
        time.sleep(0.25)
    _fail(page, stem, f"{name}: the kernel did not become idle within {KERNEL_START_S} s (last state: {status}).\n"
                      f"Server log:\n{lab.log_tail()}")


def _run_all_cells(page, name: str, stem: str) -> None:
    path = _notebook_path(name)
    started = time.monotonic()
    page.evaluate(JS_START_RUN_ALL, path)
    if not _succeeds(lambda: page.wait_for_function(JS_RUN_ALL_DONE, arg=path, timeout=RUN_ALL_S * 1000,
                                                    polling=250)):
        running = [c for c in page.evaluate(JS_CELLS, path) if c["running"]]
        where = f"cell {running[0]['index']} ({running[0]['source']!r}) still running" if running else "no cell running"
        _fail(page, stem, f"{name}: Run All Cells did not finish within {RUN_ALL_S} s: {where}.")
    print(f"{name}: ran all cells in {time.monotonic() - started:.1f} s")


def _check_no_errors(page, name: str, stem: str, when: str) -> None:
    cells = page.evaluate(JS_CELLS, _notebook_path(name))
    errors = [c for c in cells if c["errors"]]
    if errors:
        first = errors[0]
        _fail(page, stem, f"{name}: {when}, {len(errors)} cell(s) show an error; first: cell {first['index']} "
                          f"({first['source']!r}):\n{first['errors'][0]}")


def _check_all_ran(page, name: str, stem: str) -> None:
    cells = page.evaluate(JS_CELLS, _notebook_path(name))
    not_run = [c for c in cells if c["type"] == "code" and not c["empty"] and not c["executionCount"]]
    if not_run:
        _fail(page, stem, f"{name}: {len(not_run)} code cell(s) did not run; first: cell {not_run[0]['index']} "
                          f"({not_run[0]['source']!r}).")


def _check_image(page, name: str, stem: str) -> None:
    path = _notebook_path(name)
    _succeeds(lambda: page.wait_for_function(JS_IMAGES_LOADED, arg=path, timeout=10_000))  # counted below
    if page.evaluate(JS_RENDERED_IMAGES, path) == 0:
        _fail(page, stem, f"{name}: no plotted image is rendered in any output (no loaded <img> in an output area).")


def _what_shows_instead_of_widgets(page, panel: str) -> str:
    """The widget manager's error views (with their JavaScript error), or widgets shown as plain text."""
    errors = page.locator(f"{panel} .jupyter-widgets-error-widget")
    if errors.count():
        errors.first.scroll_into_view_if_needed()
        errors.first.click()  # "Click to show javascript error."
        return f"{errors.count()} widget(s) failed to render; the first says: {errors.first.inner_text().strip()[:400]!r}"
    texts = [t.strip()[:200] for t in page.locator(f"{panel} .jp-OutputArea-output").all_inner_texts()
             if "Slider(" in t or "interactive(" in t]
    if texts:
        return f"widgets are shown as plain text (is the ipywidgets JupyterLab extension missing?): {texts[0]!r}"
    return "No widget output was found at all."


def _check_slider(page, name: str, stem: str) -> None:
    """A slider is drawn; pressing the right arrow key on its handle changes what it drives."""
    path = _notebook_path(name)
    panel = f"[id='{page.evaluate(JS_PANEL_ID, path)}']"
    slider = page.locator(f"{panel} .jp-OutputArea-output .widget-slider").first
    handle = slider.locator(".noUi-handle").first
    if not _succeeds(lambda: handle.wait_for(state="visible", timeout=10_000)):
        _fail(page, stem, f"{name}: no ipywidgets slider is drawn (no visible .widget-slider handle in any output). "
                          + _what_shows_instead_of_widgets(page, panel))
    handle.scroll_into_view_if_needed()
    readout = slider.locator(".widget-readout").first
    value_before = readout.inner_text() if readout.count() else ""
    output_before = page.evaluate(JS_DRIVEN_OUTPUT, path)
    handle.press("ArrowRight")
    if readout.count() and not _succeeds(lambda: page.wait_for_function(
            "([node, before]) => node.textContent !== before", arg=[readout.element_handle(), value_before],
            timeout=3_000)):
        handle.press("ArrowLeft")  # it was at its maximum
    changed = _succeeds(lambda: page.wait_for_function(JS_OUTPUT_CHANGED, arg=[path, output_before],
                                                       timeout=WIDGET_RESPONSE_S * 1000, polling=250))
    value_after = readout.inner_text() if readout.count() else ""
    slider.evaluate("node => node.scrollIntoView({block: 'center'})")  # the screenshot shows it and its output
    if not changed:
        _fail(page, stem, f"{name}: moving the slider (value {value_before!r} -> {value_after!r}) did not change "
                          f"the output within {WIDGET_RESPONSE_S} s.")
    _succeeds(lambda: page.wait_for_function(JS_IMAGES_LOADED, arg=path, timeout=10_000))
    print(f"{name}: slider {value_before} -> {value_after} changed the output")


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.skipif(not (NOTEBOOK_DIR / name).exists(),
                                                reason=f"{NOTEBOOK_DIR / name} does not exist yet"))
    for name in (START_HERE, WIDGET_LESSON)
])
def test_notebook_runs_in_jupyterlab(name, lab, lab_page):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = Path(name).stem
    page = lab_page
    try:
        _open_with_kernel(page, lab, name, stem)
        _run_all_cells(page, name, stem)
        _check_no_errors(page, name, stem, when="after Run All Cells")
        _check_all_ran(page, name, stem)
        _check_image(page, name, stem)
        _check_slider(page, name, stem)
        _check_no_errors(page, name, stem, when="after moving the slider")
        shot = ARTIFACTS / f"{stem}.png"
        page.screenshot(path=str(shot))
        print(f"{name}: screenshot {shot}")
    finally:  # leave the tab clean for the next notebook: no dialog, no kernel, no open notebook
        try:
            page.keyboard.press("Escape")
            page.evaluate(JS_CLOSE, _notebook_path(name))
        except PlaywrightError:
            pass
