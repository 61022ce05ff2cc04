"""The repository itself: install lists, committed notebooks, exported lesson code, README and CI."""
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tutorial import export

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(.*)$")


def parse(requirements):
    return {REQUIREMENT.match(r).group(1).lower(): REQUIREMENT.match(r).group(2).replace(" ", "")
            for r in requirements}


def pyproject_dependencies():
    import tomllib

    return parse(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])


def environment_pip_dependencies():
    lines, inside = [], False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.strip() == "- pip:":
            inside = True
        elif inside and line.strip().startswith("- ") and not line.strip().startswith("- -e"):
            lines.append(line.strip()[2:])
    return parse(lines)


def test_pyproject_and_environment_yml_agree():
    assert pyproject_dependencies() == environment_pip_dependencies()
    assert set(pyproject_dependencies()) == {"torch", "torchvision", "jupyterlab", "ipywidgets", "matplotlib",
                                            "pillow", "nbval", "tqdm"}


def test_dependencies_are_bounded_ranges_not_pins():
    for name, spec in pyproject_dependencies().items():
        assert "==" not in spec, f"{name} is pinned exactly: use a range"
        assert ">=" in spec and "<" in spec.replace("<=", ""), f"{name} needs a lower and an upper bound"


@pytest.mark.skipif(not __import__("os").environ.get("TUTORIAL_LOWEST"), reason="only in `make test-lowest`")
def test_the_lowest_run_has_exactly_the_declared_lower_bounds():
    """`make test-lowest` installs the lowest versions pyproject.toml allows: check that these, and no newer
    ones, are what the unit tests ran on, so each lower bound is a tested one."""
    import tomllib
    from importlib.metadata import version

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    python = re.fullmatch(r">=(\d+)\.(\d+)", project["requires-python"])
    assert sys.version_info[:2] == (int(python[1]), int(python[2])), "run the lowest job on the lowest Python"
    for name, spec in pyproject_dependencies().items():
        lowest = re.search(r">=([0-9.]+)", spec)[1]
        installed = version(name).split("+")[0]
        padded = lambda v: [int(x) for x in v.split(".")] + [0] * (3 - len(v.split(".")))  # 4.0 == 4.0.0
        assert padded(installed) == padded(lowest), f"{name} {installed} is not its declared lower bound {lowest}"


def test_declared_python_is_one_the_tests_can_run_on():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"  # the tests read pyproject.toml with tomllib (3.11+)
    yml = (ROOT / "environment.yml").read_text()
    assert "python>=3.11" in yml


def test_installed_torchvision_ops_work_with_installed_torch():
    import torch
    import torchvision

    keep = torchvision.ops.nms(torch.tensor([[0.0, 0, 1, 1], [0, 0, 1, 1]]), torch.tensor([0.9, 0.8]), 0.5)
    assert keep.tolist() == [0]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.name for n in NOTEBOOKS])
def test_committed_notebooks_carry_no_outputs(notebook):
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{notebook.name}: cells {dirty} have outputs; clear them before committing"


def test_exported_modules_match_their_notebooks():
    stale = export.export(check=True)
    assert not stale, f"run `python -m tutorial export`: {stale} differ from their notebooks"


def test_exporter_writes_checks_and_removes(tmp_path):
    notebooks, package = tmp_path / "notebooks", tmp_path / "pkg"
    notebooks.mkdir(), package.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# teach"),
                nbformat.v4.new_code_cell("#| export lesson\ndef area(r):\n    return 3.14159 * r * r"),
                nbformat.v4.new_code_cell("area(2)  # not exported")]
    nbformat.write(nb, notebooks / "07_x.ipynb")
    assert export.export(package=package, notebooks_dir=notebooks) == ["lesson.py"]
    text = (package / "lesson.py").read_text()
    assert text.startswith("# GENERATED from notebooks/07_x.ipynb") and "def area" in text and "area(2)" not in text
    assert export.export(check=True, package=package, notebooks_dir=notebooks) == []
    (package / "lesson.py").write_text(text + "\n# edited by hand\n")
    assert export.export(check=True, package=package, notebooks_dir=notebooks) == ["lesson.py"]
    nbformat.write(nbformat.v4.new_notebook(), notebooks / "07_x.ipynb")
    export.export(package=package, notebooks_dir=notebooks)
    assert not (package / "lesson.py").exists()
    nb2 = nbformat.v4.new_notebook()
    nb2.cells = [nbformat.v4.new_code_cell("#| export lesson\nX = 1")]
    nbformat.write(nb2, notebooks / "08_a.ipynb")
    nbformat.write(nb2, notebooks / "09_b.ipynb")
    with pytest.raises(ValueError, match="one source only"):
        export.generated_modules(notebooks)


def test_readme_lists_every_notebook_with_a_colab_badge():
    readme = (ROOT / "README.md").read_text()
    for notebook in NOTEBOOKS:
        assert f"notebooks/{notebook.name}" in readme, f"README does not list {notebook.name}"
        assert re.search(r"colab\.research\.google\.com/github/[^)]*/notebooks/" + re.escape(notebook.name), readme)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- test-command -->\s*```(?:bash|sh)?\n(.+?)\n```", readme)
    assert match, "README must mark its test command with <!-- test-command -->"
    assert match.group(1).strip() in (ROOT / ".ci" / "run").read_text()


def test_no_data_or_weights_are_tracked():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    assert [f for f in tracked if f.startswith("data/")] == ["data/README.md"]
    assert not [f for f in tracked if f.endswith((".pt", ".pth", ".gz", ".npy", ".ckpt"))]


def test_cli_doctor_and_bench_errors(capsys):
    from tutorial import cli

    assert cli.main(["doctor"]) == 0 and "torchvision ops: ok" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="no benchmark named 'no_such_lesson'"):
        cli.main(["bench", "no_such_lesson", "--profile", "smoke"])
    assert cli.main(["download", "--list"]) == 0 and "mnist (11.6 MB)" in capsys.readouterr().out


def test_module_entry_point():
    done = subprocess.run([sys.executable, "-m", "tutorial", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "bench" in done.stdout


def test_every_lesson_module_is_importable():
    import importlib

    for name in export.generated_modules():
        importlib.import_module(f"tutorial.{name[:-3]}")
    from tutorial.bench import lessons

    for lesson in lessons():
        assert callable(importlib.import_module(f"tutorial.bench.{lesson}").run)


def test_bench_prints_one_json_object(monkeypatch, capsys, tmp_path):
    """`bench` runs a lesson's run(profile, device, overrides) with fresh checkpoints and wraps its metrics."""
    import types

    from tutorial import bench, cli

    seen = {}

    def run(profile, device, overrides=None):
        import os

        seen["checkpoints"] = os.environ["TUTORIAL_CHECKPOINTS"]
        seen["overrides"] = overrides
        return {"accuracy": 0.5, "profile_seen": profile}

    monkeypatch.setitem(sys.modules, "tutorial.bench.fake", types.SimpleNamespace(run=run))
    monkeypatch.setattr(bench, "lessons", lambda: ["fake"])
    monkeypatch.setenv("TUTORIAL_CHECKPOINTS", "/keep/me")
    assert cli.main(["bench", "fake", "--profile", "smoke", "--device", "cpu", "--json", str(tmp_path / "r.json"),
                     "--set", "epochs=3", "--set", "lr=2e-4"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["overrides"] == seen["overrides"] == {"epochs": 3, "lr": 2e-4}  # parsed, and recorded
    assert printed == json.loads((tmp_path / "r.json").read_text())
    assert {"lesson", "profile", "device", "torch", "wall_seconds", "metrics"} <= set(printed)
    assert printed["metrics"] == {"accuracy": 0.5, "profile_seen": "smoke"} and printed["device"] == "cpu"
    assert printed["peak_gpu_memory_mib"] is None  # no GPU counter on a CPU run
    assert seen["checkpoints"] != "/keep/me"  # trained from scratch in a scratch folder
    assert not Path(seen["checkpoints"]).exists()  # and the scratch folder is gone
    import os

    assert os.environ["TUTORIAL_CHECKPOINTS"] == "/keep/me"


def test_bench_records_peak_gpu_memory_on_cuda(monkeypatch):
    """On CUDA a benchmark records the most memory it allocated: the measured budget of a `full` run."""
    import torch

    from tutorial import bench

    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: 1536 * 2**20 + 2**19)
    assert bench.peak_gpu_memory_mib(torch.device("cuda", 0)) == 1536.5
    assert bench.peak_gpu_memory_mib(torch.device("cpu")) is None


NOTEBOOK_NUMBER = re.compile(r"\b[Nn]otebooks?\s+(\d\d(?:\s*(?:,|and|or|to|–|-)\s*\d\d)*)")
NOTEBOOK_FILE = re.compile(r"\b(\d\d_[a-z0-9_]+)\.ipynb")


def referenced_notebooks(text):
    """The notebook numbers a text names ("notebook 03", "notebooks 08–10", "notebooks 02 and 03") and the
    notebook files it names ("11_diffusion.ipynb")."""
    numbers, files = set(), set(NOTEBOOK_FILE.findall(text))
    for match in NOTEBOOK_NUMBER.finditer(text):
        group = match.group(1)
        for start, end in re.findall(r"(\d\d)\s*(?:to|–|-)\s*(\d\d)", group):
            numbers.update(f"{n:02d}" for n in range(int(start), int(end) + 1))
        numbers.update(re.findall(r"\d\d", group))
    return numbers, files


def test_referenced_notebooks_exist():
    assert referenced_notebooks("notebooks 08–10, notebook 03 and notebooks 01 and 02; see 11_diffusion.ipynb") == (
        {"01", "02", "03", "08", "09", "10"}, {"11_diffusion"})
    present = {p.stem[:2] for p in NOTEBOOKS}
    missing = []
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            numbers, files = referenced_notebooks("".join(cell["source"]))
            missing += [f"{path.name}: notebook {n}" for n in sorted(numbers - present)]
            missing += [f"{path.name}: {f}.ipynb" for f in sorted(files) if not (ROOT / "notebooks" / f"{f}.ipynb").exists()]
    assert not missing, f"cross-references to notebooks that do not exist: {missing}"


# Notebooks 00-05: what their prose may type, and the conventions they teach (issue 21, items 2 to 4).
LESSONS = [p for p in NOTEBOOKS if p.name[:2] in {"00", "01", "02", "03", "04", "05"}]


def lesson_cells(path, kind=None):
    """(index, source) of the notebook's cells, of one kind ("markdown", "code") or all."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(i, "".join(c["source"])) for i, c in enumerate(cells) if kind in (None, c["cell_type"])]


def test_lesson_list_is_complete():
    assert [p.name[:2] for p in LESSONS] == ["00", "01", "02", "03", "04", "05"]


# Decimal numbers, percentages and "N times" that each notebook's prose may type: definitions, settings and
# published figures. A result of a run is never typed: a code cell prints it and the prose says "the number
# printed above" (or it lives in the README's measured tables, with date, machine and commit).
TYPED_NUMBERS_ALLOWED = {
    "00": {"0.05",                           # a learning rate to try
           "0.2989", "0.587", "0.114"},      # the exercise's luma weights
    "01": {"0.9", "0.1",                     # the judge's confidence threshold; a perfect spread of ten classes
           "3.0"},                           # MNIST's licence, CC BY-SA 3.0
    "02": {"0.2", "0.02", "0.5", "0.9",      # DCGAN: LeakyReLU slope, initial std, Adam's beta1 and its default
           "0.1", "0.01",                    # a perfect spread of ten classes; the Jacobian exercise's epsilon
           "3.0"},
    "03": {"86.76", "84.78",                 # Burda et al.'s published test NLLs
           "784 times",                      # 784 pixels
           "0.5", "0.25",                    # exp(0.5 * logvar); a beta to try
           "3.0"},
    "04": {"0.03",                           # Adam's learning rate
           "0.5"},                           # the coarse stage's scale, objective.resized(0.5)
    "05": {"1.1"},                           # gigabytes that `full` downloads
}
TYPED_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?%|(?<![\w.])\d+\.\d+(?![\w.])|\b\d[\d,.]*\s+times\b")


def typed_numbers(markdown):
    """The decimals, percentages and "N times" of a markdown text, links and arXiv numbers left out."""
    text = re.sub(r"\]\([^)\s]*\)", "]", markdown)
    text = re.sub(r"arXiv:\S+|https?://\S+", "", text)
    return [m.group().replace(" ", "") if "%" in m.group() else m.group() for m in TYPED_NUMBER.finditer(text)]


def test_typed_numbers_finds_results_and_skips_links():
    assert typed_numbers("fid 1.65, confident 0.91, 8.6 % rarest, about 40 times larger") == [
        "1.65", "0.91", "8.6%", "40 times"]
    assert typed_numbers("[paper](https://arxiv.org/abs/1511.06434), arXiv:1606.05897, 28×28, 2e-4") == []


@pytest.mark.parametrize("notebook", LESSONS, ids=[n.name for n in LESSONS])
def test_lesson_prose_types_no_results_of_runs(notebook):
    allowed = TYPED_NUMBERS_ALLOWED[notebook.name[:2]]
    typed = [(i, n) for i, text in lesson_cells(notebook, "markdown") for n in typed_numbers(text) if n not in allowed]
    assert not typed, (f"{notebook.name}: (cell, number) {typed} typed in prose. If it is a result, print it from "
                       "a code cell and refer to it; if it is a definition or setting, add it to "
                       "TYPED_NUMBERS_ALLOWED with the reason")


# Words that report a past run without showing it: "in our runs ...", "we found ...". Such a verdict goes
# stale like a typed number; the prose asks the learner to read what a cell printed instead.
UNSHOWN_RUN = re.compile(r"\bin our (?:\S+ ){0,3}runs?\b|\bwe (?:found|observed|measured)\b|\bin our experiments\b", re.I)


@pytest.mark.parametrize("notebook", LESSONS, ids=[n.name for n in LESSONS])
def test_lesson_prose_reports_no_runs_it_does_not_show(notebook):
    found = [(i, m.group()) for i, text in lesson_cells(notebook, "markdown") for m in UNSHOWN_RUN.finditer(text)]
    assert not found, (f"{notebook.name}: (cell, words) {found} report runs the notebook does not show; point to "
                       "what a cell prints, or to the README's measured tables")
    assert UNSHOWN_RUN.search("in our `laptop` runs the tricks failed") and not UNSHOWN_RUN.search("our run")


def paragraphs(text):
    return re.split(r"\n\s*\n|\n(?=\s*- )", text)


def test_gan_noise_is_drawn_from_p_z_not_p_g():
    """The noise is z ~ p_z; p_g is the distribution of the generated images. P_g(z) may only be named as
    the slip it is, next to the right form."""
    wrong = []
    for path in LESSONS:
        for i, text in lesson_cells(path):
            if re.search(r"z\s*\\sim\s*[Pp]_\{?g\b", text) or re.search(r"z\s*~\s*[Pp]_g\b", text):
                wrong.append(f"{path.name} cell {i}: z drawn from p_g")
            wrong += [f"{path.name} cell {i}: P_g(z) without z \\sim p_z beside it" for paragraph in paragraphs(text)
                      if re.search(r"[Pp]_\{?g\}?\s*\(\s*z\s*\)", paragraph) and "z \\sim p_z" not in paragraph]
    assert not wrong, wrong
    assert any("z \\sim p_z" in text for _, text in lesson_cells(NOTEBOOKS[[p.name[:2] for p in NOTEBOOKS].index("02")]))


def test_convolution_is_star_and_cross_correlation_is_star_symbol():
    """By convention W * x is the convolution (kernel flipped: x[i - u]) and W \\star x the cross-correlation
    (x[i + u]); a CNN layer computes the second."""
    definition = re.compile(r"(\\star|\*)\s*x\s*\)\s*\[\s*i\s*\]\s*=[^=]*?x\s*\[\s*i\s*([+-])")
    assert [m.groups() for m in definition.finditer(r"$(W * x)[i] = \sum_u W[u]\,x[i-u]$, "
                                                    r"$(W \star x)[i] = \sum_u W[u]\,x[i+u]$")] == [
        ("*", "-"), ("\\star", "+")]
    found, wrong = 0, []
    for path in LESSONS:
        for i, text in lesson_cells(path, "markdown"):
            for symbol, sign in definition.findall(text):
                found += 1
                if (symbol, sign) not in {("*", "-"), ("\\star", "+")}:
                    wrong.append(f"{path.name} cell {i}: {symbol} defined with x[i {sign} u]")
    assert found and not wrong, wrong or "no definition of convolution and cross-correlation found"


def test_average_pooling_is_called_a_per_channel_convolution():
    claims = []
    for path in LESSONS:
        for i, text in lesson_cells(path):
            plain = re.sub(r"\s+", " ", text.replace("*", "")).lower()
            claims += [(path.name, i, m.group(0)) for m in
                       re.finditer(r"average pooling (?:is|==|equals) (?:an? )?[^.\n]*?convolution", plain)]
    assert claims, "notebook 01 should say what average pooling is"
    wrong = [c for c in claims if "per-channel" not in c[2] and "depthwise" not in c[2]]
    assert not wrong, f"average pooling is a per-channel (depthwise) convolution with stride k: {wrong}"


def test_notebook_05_describes_the_variance_that_calc_mean_std_computes():
    import torch

    from tutorial.adain import calc_mean_std

    x = torch.randn(2, 3, 4, 5)
    _, std = calc_mean_std(x, eps=0.0)
    torch.testing.assert_close(std.flatten(), x.flatten(2).std(dim=2, correction=1).flatten())  # over HW - 1
    notebook = next(p for p in LESSONS if p.name.startswith("05"))
    formulas = [m.group(1).replace(" ", "") for _, text in lesson_cells(notebook, "markdown")
                for m in re.finditer(r"\\sigma_\{nc\}\(x\)\s*=\s*\\sqrt\{\\frac\{1\}\{([^}]*)\}", text)]
    assert formulas == ["HW-1"], f"notebook 05 defines sigma with 1/{formulas}: calc_mean_std divides by HW - 1"


def test_stale_or_wrong_claims_do_not_come_back():
    """Claims the notebooks once made that the code or the sources contradict."""
    from tutorial.adain import ADAIN_SETTINGS

    assert [p for p, s in ADAIN_SETTINGS.items() if s["large_sets"]] == ["full"]
    stale = {
        "05": [r"every\s+profile,\s+`full`\s+included,\s+trains\s+on\s+the\s+registry",  # full adds Places365, DTD
               r"\d+\s+times\s+larger"],                                                # print the ratio instead
        "04": [r"Colour transfer afterwards"],  # Gatys et al.'s first method recolours the painting beforehand
        "02": [r"seven and a half minutes"],
    }
    found = [(path.name, i, pattern) for path in LESSONS for pattern in stale.get(path.name[:2], [])
             for i, text in lesson_cells(path, "markdown") if re.search(pattern, text)]
    assert not found, found
    by_number = {p.name[:2]: "\n".join(t for _, t in lesson_cells(p, "markdown")) for p in LESSONS}
    assert "Colour histogram matching, before the transfer" in by_number["04"]
    assert "colour histogram matching" in by_number["05"]
    # the DCGAN paper gives N(0, 0.02) for the weights; N(1, 0.02^2) for batch norm's scale is the PyTorch example's
    assert all("PyTorch" in paragraph for paragraph in paragraphs(by_number["02"]) if "N(1, 0.02" in paragraph)


# Issue 21, item 5: exercises that teach. Every checked exercise of notebooks 00-07, 11 and 12 switches off the
# notebook's own functions that compute its answer (forbid=), has a hint that guides rather than answers,
# and a solution cell that asserts the same check with the same forbid list.
EXERCISE_NOTEBOOKS = LESSONS + [ROOT / "notebooks" / n for n in ("06_cyclegan.ipynb", "07_vq_vae.ipynb", "11_diffusion.ipynb",
                                                                  "12_generators_compared.ipynb")]
SOLUTION_MARK = "# Solution (try it yourself first)"
NOTHING_TO_FORBID = {  # (notebook, exercise): why its check passes no forbid=
    ("02_gan.ipynb", "optimal discriminator"): "section 1 computes D* inline, in no function to switch off",
    ("02_gan.ipynb", "gradient penalty"): "no function of the course computes a gradient penalty",
}


def exercise_checks(path):
    """One dict per check(...) call in the notebook's code cells: cell, solution, name, forbid (source or
    None), hint (text or None) and asserted (whether the call is the test of an assert)."""
    import ast

    calls = []
    for i, source in lesson_cells(path, "code"):
        if "check(" not in source:
            continue
        code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        tree = ast.parse(code)
        asserted = {id(node.test) for node in ast.walk(tree) if isinstance(node, ast.Assert)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check":
                keywords = {k.arg: k.value for k in node.keywords}
                calls.append({"cell": i, "solution": source.startswith(SOLUTION_MARK),
                              "name": ast.literal_eval(node.args[0]),
                              "forbid": ast.unparse(keywords["forbid"]) if "forbid" in keywords else None,
                              "hint": ast.literal_eval(keywords["hint"]) if "hint" in keywords else None,
                              "asserted": id(node) in asserted})
    return calls


def test_every_exercise_check_switches_off_the_functions_that_compute_its_answer():
    missing, needless, found = [], [], set()
    for path in EXERCISE_NOTEBOOKS:
        for call in exercise_checks(path):
            if call["solution"]:
                continue
            key = (path.name, call["name"])
            found.add(key)
            if call["forbid"] is None and key not in NOTHING_TO_FORBID:
                missing.append(f"{path.name} cell {call['cell']}: {call['name']}")
            if call["forbid"] is not None and key in NOTHING_TO_FORBID:
                needless.append(key)
    assert not missing, f"checks without forbid= (pass the notebook's own functions): {missing}"
    assert not needless and set(NOTHING_TO_FORBID) <= found, "NOTHING_TO_FORBID is out of date"


def test_every_exercise_has_a_solution_that_asserts_the_same_check():
    problems = []
    for path in EXERCISE_NOTEBOOKS:
        calls = exercise_checks(path)
        solutions = {c["name"]: c for c in calls if c["solution"]}
        for call in calls:
            if call["solution"]:
                if not call["asserted"]:
                    problems.append(f"{path.name} cell {call['cell']}: the solution's check is not asserted")
                continue
            solution = solutions.get(call["name"])
            if solution is None:
                problems.append(f"{path.name}: {call['name']} has no '{SOLUTION_MARK}' cell")
            elif solution["forbid"] != call["forbid"]:
                problems.append(f"{path.name}: {call['name']}'s solution checks with another forbid list")
    assert not problems, problems


# A hint guides; it does not state the answer. Precisely: no "=" (an assignment or an equation), no two
# arithmetic operators chaining three names or numbers (a formula such as "(size - 1) * stride - 2 * padding"),
# and no method called on a call's result (a line of code such as "torch.cdist(a, b).argmin(1)").
OPERATOR = r"\s*(?:\s[-+*/]\s|\^)\s*"  # an arithmetic operator between spaces (so not "off-by-one"), or a power
HINT_GIVES_AWAY = re.compile(rf"=|[\w)]{OPERATOR}[\w(]+\)?{OPERATOR}[\w(]|\)\.\w+\(")


def test_hint_rule_catches_formulas_and_code_but_not_guidance():
    for answer in ("z = mu + exp(0.5 * logvar) * eps.", "(size - 1) * stride - 2 * padding + kernel_size.",
                   "0.5 * sum over the last dimension of mu^2 + exp(logvar) - 1 - logvar.",
                   "torch.cdist(points, centres).argmin(1), then a mean per centre", "-log sigmoid(a) = softplus(-a)."):
        assert HINT_GIVES_AWAY.search(answer), answer
    for guide in ("The result is kh - 1 rows larger than grad_y.", "an off-by-one; point-to-centre distances", "it must keep its old position, not become 0 / 0.",
                  "Keep both results [N, C, 1, 1] so that they broadcast."):
        assert not HINT_GIVES_AWAY.search(guide), guide


def test_every_exercise_has_a_hint_that_guides_without_giving_the_answer():
    problems = []
    for path in EXERCISE_NOTEBOOKS:
        for call in exercise_checks(path):
            if call["solution"]:
                continue
            where = f"{path.name} cell {call['cell']} ({call['name']})"
            if not call["hint"]:
                problems.append(f"{where}: no hint")
            elif HINT_GIVES_AWAY.search(call["hint"]):
                problems.append(f"{where}: {HINT_GIVES_AWAY.search(call['hint']).group()!r} in the hint")
    assert not problems, problems


def test_solution_cells_are_hidden():
    shown = [f"{path.name} cell {i}" for path in EXERCISE_NOTEBOOKS
             for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"])
             if "".join(cell["source"]).startswith(SOLUTION_MARK)
             and not cell["metadata"].get("jupyter", {}).get("source_hidden")]
    assert not shown, f"solution cells shown to the learner before they try: {shown}"
