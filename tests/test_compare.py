"""Notebook 12's yardstick (precision and recall of k-NN manifolds, nearest neighbours, the generators behind one
interface) and ``bench all`` with the README's generated results tables."""
import json
import math

import pytest
import torch

from tutorial import bench
from tutorial.compare import in_manifold, knn_radii, manifold_precision_recall, nearest_neighbours
from tutorial.generators import CourseGenerator, course_generators


def loops(real, fake, k):
    """Precision and recall written from the definition, with Python loops."""
    real, fake = real.tolist(), fake.tolist()

    def inside(points, pool):
        radii = [sorted(math.dist(c, q) for q in pool)[k] for c in pool]
        return sum(any(math.dist(p, c) <= r for c, r in zip(pool, radii)) for p in points) / len(points)

    return inside(fake, real), inside(real, fake)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_precision_recall_match_the_definition(k):
    g = torch.Generator().manual_seed(k)
    real, fake = torch.randn(37, 4, generator=g), 0.4 + 1.3 * torch.randn(29, 4, generator=g)
    assert manifold_precision_recall(real, fake, k) == pytest.approx(loops(real, fake, k), abs=1e-12)


def test_precision_recall_in_blocks_equal_one_block():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(130, 3, generator=g), torch.randn(70, 3, generator=g)
    radii = knn_radii(real, 3)
    assert torch.allclose(knn_radii(real, 3, batch_size=7), radii, rtol=1e-12, atol=1e-12)  # cdist's last bits
    assert torch.equal(in_manifold(fake, real, radii, batch_size=9), in_manifold(fake, real, radii))


def test_precision_and_recall_separate_collapse_from_blur():
    g = torch.Generator().manual_seed(1)
    real = torch.randn(400, 2, generator=g)
    assert manifold_precision_recall(real, real, 3) == (1.0, 1.0)  # every point lies in its own ball
    collapsed = real[real[:, 0] > 1]  # a real subset: all precise, most of the data uncovered
    precision, recall = manifold_precision_recall(real, collapsed, 3)
    assert precision == 1.0 and recall < 0.5
    smeared = 12 * torch.rand(400, 2, generator=g) - 6
    precision, recall = manifold_precision_recall(real, smeared, 3)
    assert precision < 0.5 and recall > 0.8


def test_knn_radii_refuses_an_impossible_k():
    with pytest.raises(ValueError, match="k must be between 1 and N - 1"):
        knn_radii(torch.randn(3, 2), 3)


def test_nearest_neighbours_match_brute_force():
    g = torch.Generator().manual_seed(2)
    queries, references = torch.randn(23, 5, generator=g), torch.randn(41, 5, generator=g)
    distances, indices = nearest_neighbours(queries, references, k=3, batch_size=4)
    brute = torch.cdist(queries.double(), references.double())
    assert torch.equal(indices[:, 0], brute.argmin(1))
    assert torch.allclose(distances, brute.sort(1).values[:, :3])
    assert (distances[:, 1:] >= distances[:, :-1]).all()


def test_every_course_generator_samples_digits_and_loads_its_checkpoint(capsys, tiny_judge):
    generators = course_generators("smoke", "cpu")
    assert [g.notebook for g in generators] == ["02", "03", "07", "08", "09", "10", "11", "11"]
    for g in generators:
        assert isinstance(g, CourseGenerator) and g.train_seconds > 0 and g.parameters > 0 and g.model is not None
        images = g.sample(6, seed=3)
        assert images.shape == (6, 1, 28, 28) and images.device.type == "cpu", g.name
        assert 0 <= float(images.min()) <= float(images.max()) <= 1, g.name
        assert torch.equal(images, g.sample(6, seed=3)), f"{g.name}: a seed must give the same samples"
        assert not torch.equal(images, g.sample(6, seed=4)), g.name
    capsys.readouterr()
    again = course_generators("smoke", "cpu")  # a second time, everything comes from the checkpoints
    printed = capsys.readouterr().out
    assert printed.count("Loaded the finished run") == 8 and "from scratch" not in printed
    assert [g.train_seconds for g in again] == [g.train_seconds for g in generators]


# --- bench all -------------------------------------------------------------------------------------------------

def fake_result(lesson, profile, device=None, overrides=None):
    if lesson == "broken":
        raise RuntimeError("out of memory")
    return {"lesson": lesson, "profile": profile, "device": "cpu", "wall_seconds": 12.5,
            "metrics": {"fid_mnist": 3.21, "confident_fraction": 0.9, "min_class_share": 0.08,
                        "train_seconds": 123.4, "guided": {"fid_mnist": 1.5}}}


@pytest.fixture
def fake_lessons(monkeypatch):
    ran = []

    def run(lesson, profile, device=None, overrides=None):
        ran.append(lesson)
        return fake_result(lesson, profile, device, overrides)

    monkeypatch.setattr(bench, "lessons", lambda: ["gan", "broken", "diffusion"])
    monkeypatch.setattr(bench, "run_benchmark", run)
    monkeypatch.setattr(bench, "code_version", lambda: "abc1234")
    return ran


def test_bench_all_writes_after_each_lesson_and_keeps_going_past_a_failure(tmp_path, fake_lessons):
    out = tmp_path / "results" / "bench-smoke.json"
    record = bench.run_all("smoke", json_file=str(out), log=lambda *a: None)
    assert fake_lessons == ["gan", "broken", "diffusion"]
    saved = json.loads(out.read_text())
    assert saved == record
    assert sorted(saved["lessons"]) == ["diffusion", "gan"] and "out of memory" in saved["failed"]["broken"]
    assert saved["commit"] == "abc1234" and saved["profile"] == "smoke" and saved["wall_seconds"] == 25.0
    assert "load_at_start" in saved["lessons"]["gan"] and saved["machine"] and saved["started"].endswith("UTC")


def test_bench_all_continues_an_interrupted_run_of_the_same_code(tmp_path, fake_lessons, monkeypatch):
    out = tmp_path / "bench-smoke.json"
    bench.run_all("smoke", json_file=str(out), only=["gan"], log=lambda *a: None)
    fake_lessons.clear()
    bench.run_all("smoke", json_file=str(out), log=lambda *a: None)
    assert fake_lessons == ["broken", "diffusion"]  # gan was kept, the rest ran
    monkeypatch.setattr(bench, "code_version", lambda: "def5678")
    fake_lessons.clear()
    bench.run_all("smoke", json_file=str(out), only=["gan"], log=lambda *a: None)
    assert fake_lessons == ["gan"]  # other code: measured again, and the old file kept aside
    assert json.loads((tmp_path / "bench-smoke.previous.json").read_text())["commit"] == "abc1234"


def test_bench_all_refuses_an_unknown_lesson(fake_lessons):
    with pytest.raises(SystemExit, match="no benchmark named nope"):
        bench.run_all("smoke", only=["nope"])


def test_results_table_shows_each_lessons_figures_and_what_is_missing(tmp_path, fake_lessons):
    record = bench.run_all("smoke", json_file=None, only=["gan", "broken"], log=lambda *a: None)
    text = bench.results_markdown(record, "smoke")
    assert "code abc1234" in text and "| `gan` | 02 | fid_mnist 3.21; confident 0.9; rarest digit 0.08; " \
                                      "training s 123 | 12 |" in text
    assert "failed: `broken` (RuntimeError: out of memory)" in text and "not run yet: `diffusion`" in text
    assert "No `bench all --profile full` run" in bench.results_markdown(None, "full")


def test_update_readme_rewrites_only_its_blocks(tmp_path, fake_lessons):
    readme = tmp_path / "README.md"
    blocks = "".join(f"{bench.README_BLOCK.format(profile=p)}\nold\n{bench.README_END.format(profile=p)}\n"
                     for p in ("laptop", "full"))
    readme.write_text("# title\n" + blocks + "tail\n")
    results = tmp_path / "results"
    bench.run_all("laptop", json_file=str(results / "bench-laptop.json"), only=["gan"], log=lambda *a: None)
    assert bench.update_readme(readme, results, write=False) is True and "old" in readme.read_text()  # a check only
    assert bench.update_readme(readme, results) is True
    text = readme.read_text()
    assert text.startswith("# title\n") and text.endswith("tail\n") and "old" not in text
    assert "| `gan` | 02 |" in text and "No `bench all --profile full` run" in text
    assert bench.update_readme(readme, results) is False  # a second time changes nothing


def test_the_readme_results_tables_are_generated_from_results(capsys):
    from tutorial.cli import main

    assert main(["results", "--check"]) == 0, capsys.readouterr().out


def test_bench_all_runs_real_lessons_in_smoke(tmp_path, capsys):
    from tutorial.cli import main

    out = tmp_path / "bench-smoke.json"
    assert main(["bench", "all", "--profile", "smoke", "--only", "cnn", "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert list(record["lessons"]) == ["cnn"] and record["lessons"]["cnn"]["metrics"]["test_accuracy"] > 0
    assert "| `cnn` | 01 | test accuracy" in bench.results_markdown(record, "smoke")


def test_merging_runs_keeps_each_lessons_commit_and_shows_it(tmp_path, fake_lessons, monkeypatch):
    first = bench.run_all("smoke", json_file=None, only=["gan", "broken"], log=lambda *a: None)
    monkeypatch.setattr(bench, "code_version", lambda: "def5678")
    second = bench.run_all("smoke", json_file=None, only=["broken", "diffusion"], log=lambda *a: None)
    assert first["lessons"]["gan"]["commit"] == "abc1234"
    merged = bench.merge_records(first, second)
    assert merged["lessons"]["gan"]["commit"] == "abc1234" and merged["lessons"]["diffusion"]["commit"] == "def5678"
    assert merged["failed"] == {"broken": second["failed"]["broken"]} and merged["commit"] == "abc1234, def5678"
    assert merged["wall_seconds"] == 25.0  # gan's 12.5 s from the first run, diffusion's from the second
    text = bench.results_markdown(merged, "smoke")
    assert "code and start of each lesson's run in its row" in text and "| code, started |" in text
    assert f"| abc1234, {first['started']} |" in text and "def5678" in text
    assert "code abc1234" in bench.results_markdown(first, "smoke")  # one run: one commit in the header, no column
    del first["lessons"]["gan"]["commit"]  # a record from before lessons carried their commit
    assert bench.merge_records(first, second)["lessons"]["gan"]["commit"] == "abc1234"
    with pytest.raises(SystemExit, match="one table holds one profile on one machine"):
        bench.merge_records(first, second | {"machine": "another"})
