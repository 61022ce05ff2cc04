"""The judge of generated digits (tutorial/metrics.py): the Fréchet distance and the judge's report."""
import pytest
import torch

from tutorial import cnn, metrics


@pytest.fixture(autouse=True)
def smoke(checkpoints, monkeypatch):
    monkeypatch.setitem(cnn.CNN_SETTINGS, "smoke", {**cnn.CNN_SETTINGS["smoke"], "train_limit": 600,
                                                    "judge_reference": 300})


def test_identical_sets_are_at_distance_zero():
    a = torch.randn(500, 8)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_shifted_gaussians_give_the_squared_shift():
    a = torch.randn(2000, 5, dtype=torch.float64) @ torch.randn(5, 5, dtype=torch.float64)
    shift = torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0], dtype=torch.float64)
    assert metrics.frechet_distance(a, a + shift) == pytest.approx(float(shift.square().sum()), rel=1e-9)


def test_closed_form_for_diagonal_covariances():
    mu_a, mu_b = torch.zeros(3), torch.tensor([1.0, 0.0, 2.0])
    s_a, s_b = torch.diag(torch.tensor([1.0, 4.0, 9.0])), torch.diag(torch.tensor([4.0, 4.0, 1.0]))
    # |mu_a - mu_b|^2 + sum (sigma_a - sigma_b)^2 = 5 + (1 + 0 + 4)
    assert metrics.frechet_from_statistics(mu_a, s_a, mu_b, s_b) == pytest.approx(10.0, rel=1e-12)


def test_agrees_with_the_nonsymmetric_formula():
    torch.manual_seed(0)
    a = torch.randn(400, 6) @ torch.randn(6, 6)
    b = torch.randn(300, 6) @ torch.randn(6, 6) + 1
    mu_a, s_a = metrics._statistics(a)
    mu_b, s_b = metrics._statistics(b)
    trace_sqrt = torch.linalg.eigvals(s_a @ s_b).sqrt().real.sum()  # tr sqrt(S_a S_b), as in the FID paper
    expected = (mu_a - mu_b).square().sum() + s_a.trace() + s_b.trace() - 2 * trace_sqrt
    assert metrics.frechet_distance(a, b) == pytest.approx(float(expected), rel=1e-8)
    assert metrics.frechet_distance(a, b) == pytest.approx(metrics.frechet_distance(b, a), rel=1e-8)


def test_feature_size_mismatch_is_refused():
    with pytest.raises(ValueError):
        metrics.frechet_distance(torch.randn(10, 3), torch.randn(10, 4))


def test_judge_reports_the_agreed_keys_and_is_cached():
    judge = metrics.mnist_judge("cpu")
    assert metrics.mnist_judge("cpu") is judge and not judge.training
    assert not any(p.requires_grad for p in judge.parameters())
    images, _ = cnn.mnist_tensors(train=True, limit=64)
    features = metrics.judge_features(images, "cpu")
    assert features.shape == (64, cnn.CNN_SETTINGS["smoke"]["hidden"])
    probs = metrics.judge_probabilities(images, "cpu")
    assert probs.shape == (64, 10) and torch.allclose(probs.sum(1), torch.ones(64), atol=1e-5)
    report = metrics.judge_samples(images, "cpu")
    assert report["confident_fraction"] == pytest.approx(float((probs.max(1).values >= 0.9).double().mean()))
    assert set(report) >= {"fid_mnist", "confident_fraction", "min_class_share", "class_shares",
                           "mean_confidence", "n"}
    assert report["n"] == 64 and len(report["class_shares"]) == 10
    assert sum(report["class_shares"]) == pytest.approx(1.0)
    assert report["min_class_share"] == min(report["class_shares"])
    assert 0 <= report["confident_fraction"] <= 1 and report["fid_mnist"] >= 0
    train_report = metrics.judge_samples(images, "cpu", reference="train")
    assert train_report["fid_mnist"] != report["fid_mnist"]


def test_judge_refuses_tanh_range_and_wrong_shapes():
    with pytest.raises(ValueError, match=r"\(x \+ 1\) / 2"):
        metrics.judge_samples(torch.rand(8, 1, 28, 28) * 2 - 1, "cpu")
    with pytest.raises(ValueError, match="28, 28"):
        metrics.judge_features(torch.rand(8, 3, 32, 32), "cpu")


def test_judge_keeps_the_callers_random_stream():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    metrics.mnist_judge("cpu")
    torch.testing.assert_close(torch.rand(3), expected)


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_judge_trains_correctly_when_first_asked_for_without_gradients(mode, tmp_path, monkeypatch, capsys):
    """A notebook opened on its own asks for the judge first inside an evaluation (no gradients). It must
    train exactly as it does with gradients on: same weights, and a line that says why it trains."""
    context = torch.no_grad if mode == "no_grad" else torch.inference_mode
    monkeypatch.setitem(cnn.CNN_SETTINGS, "smoke", {**cnn.CNN_SETTINGS["smoke"], "train_limit": 3000})
    monkeypatch.setattr(metrics, "_JUDGES", {})
    monkeypatch.setenv("TUTORIAL_CHECKPOINTS", str(tmp_path / "fresh"))
    with context():
        judge = metrics.mnist_judge("cpu")
        images, labels = cnn.mnist_tensors(train=False, limit=300)
        accuracy = float((metrics.judge_probabilities(images, "cpu").argmax(1) == labels).double().mean())
    said = capsys.readouterr().out
    assert "no checkpoint" in said and "trained now" in said and "Judge trained in" in said
    assert list((tmp_path / "fresh").glob("mnist_smallvgg-smoke-*.pt")), "the judge's checkpoint was not saved"

    monkeypatch.setattr(metrics, "_JUDGES", {})
    monkeypatch.setenv("TUTORIAL_CHECKPOINTS", str(tmp_path / "with_grad"))
    reference = metrics.mnist_judge("cpu")  # trained the ordinary way, gradients on
    for (name, a), b in zip(judge.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(a, b), f"{name} differs from the judge trained with gradients on"
    assert accuracy > 0.5, f"the judge trained under {mode} scores {accuracy:.2f} on test digits (chance: 0.1)"

    capsys.readouterr()
    monkeypatch.setattr(metrics, "_JUDGES", {})
    metrics.mnist_judge("cpu")  # a second session loads it, and says nothing about training
    assert "trained now" not in capsys.readouterr().out
