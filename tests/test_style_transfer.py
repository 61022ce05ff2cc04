"""Unit tests for tutorial.style_transfer (notebook 04). None of them touches the network."""
import urllib.error

import pytest
import torch
from torch import nn

import tutorial.style_transfer as st
from tutorial.profiles import PROFILES, pick_settings


@pytest.fixture
def random_vgg():
    return st.load_vgg19(pretrained=False)


def test_settings_have_every_profile():
    for profile in PROFILES:
        cfg = pick_settings(st.NST_SETTINGS, profile)
        assert cfg.image_size > 0 and cfg.steps > 0


def test_layer_names_follow_torchvision_layout():
    from torchvision.models.vgg import cfgs, make_layers

    reference = make_layers(cfgs["E"])  # torchvision's vgg19().features, without the classifier
    ours = st.VGGFeatures(last_layer="pool5", pool="max", weights=None).layers
    assert len(st.VGG_LAYERS) == len(reference) == len(ours) == 37
    kinds = {"conv": nn.Conv2d, "relu": nn.ReLU, "pool": nn.MaxPool2d}
    for name, theirs, mine in zip(st.VGG_LAYERS, reference, ours):
        assert isinstance(theirs, kinds[name[:4]]) and isinstance(mine, kinds[name[:4]]), name
    ref_state, our_state = reference.state_dict(), ours.state_dict()
    assert ref_state.keys() == our_state.keys()
    assert all(ref_state[k].shape == our_state[k].shape for k in ref_state)
    assert st.VGG_LAYERS.index("relu4_2") == 22 and st.VGG_LAYERS.index("relu5_1") == 29


def test_pretrained_false_never_downloads(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("must not try to download")

    monkeypatch.setattr(st, "vgg19_imagenet_weights", forbidden)
    vgg = st.load_vgg19(pretrained=False)
    assert not vgg.pretrained


def test_download_failure_prints_one_line_and_goes_on(monkeypatch, capsys):
    from torchvision.models import VGG19_Weights

    def offline(self, *args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(st, "_VGG19_STATE", {})
    monkeypatch.setattr(type(VGG19_Weights.IMAGENET1K_V1), "get_state_dict", offline)
    vgg = st.load_vgg19(pretrained=True, last_layer="relu1_1")
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "could not be had" in lines[0] and "random weights" in lines[0]
    assert not vgg.pretrained
    st.load_vgg19(pretrained=True, last_layer="relu1_1")  # the failure is remembered: no second try, no line
    assert capsys.readouterr().out == ""


def test_pretrained_weights_are_loaded_when_available(monkeypatch):
    from torchvision.models import VGG19_Weights
    from torchvision.models.vgg import cfgs, make_layers

    torch.manual_seed(1)
    features = make_layers(cfgs["E"])
    fake = {f"features.{k}": v for k, v in features.state_dict().items()}
    fake["classifier.0.weight"] = torch.zeros(1)
    monkeypatch.setattr(st, "_VGG19_STATE", {})
    monkeypatch.setattr(type(VGG19_Weights.IMAGENET1K_V1), "get_state_dict", lambda self, *a, **k: fake)
    vgg = st.load_vgg19(pretrained=True, last_layer="relu2_1")
    assert vgg.pretrained
    torch.testing.assert_close(vgg.layers[5].weight, features[5].weight)


def test_random_filters_are_he_scaled_and_zero_mean_after_the_first_layer(random_vgg):
    conv = random_vgg.layers[st.VGG_LAYERS.index("conv3_1")]
    w = conv.weight.flatten(1)
    torch.testing.assert_close(w.mean(dim=1), torch.zeros(w.shape[0]), atol=1e-6, rtol=0)
    torch.testing.assert_close(w.norm(dim=1), torch.full((w.shape[0],), 2.0 ** 0.5))
    first = random_vgg.layers[0].weight.flatten(1)  # the first layer also sees brightness: not zero-mean
    assert first.mean(dim=1).abs().max() > 0.01
    torch.testing.assert_close(first.norm(dim=1), torch.full((64,), 2.0 ** 0.5))
    again = st.load_vgg19(pretrained=False)  # seeded: the same random network every time
    torch.testing.assert_close(again.layers[0].weight, random_vgg.layers[0].weight)


def test_features_are_frozen_named_and_shaped(random_vgg):
    assert not any(p.requires_grad for p in random_vgg.parameters())
    assert random_vgg.names[-1] == "relu5_1"
    x = torch.rand(1, 3, 32, 48)
    out = random_vgg(x, ("conv1_1", "relu1_1", "relu4_2", "relu5_1"))
    assert out["relu1_1"].shape == (1, 64, 32, 48)
    assert out["relu4_2"].shape == (1, 512, 4, 6) and out["relu5_1"].shape == (1, 512, 2, 3)
    assert (out["conv1_1"] < 0).any(), "conv output overwritten by an in-place ReLU"
    torch.testing.assert_close(out["relu1_1"], out["conv1_1"].clamp_min(0))
    with pytest.raises(ValueError):
        st.VGGFeatures(last_layer="relu2_1")(x, ("relu3_1",))


def test_pooling_choice():
    avg = st.VGGFeatures(last_layer="pool1", pool="avg")
    mx = st.VGGFeatures(last_layer="pool1", pool="max")
    assert isinstance(avg.layers[4], nn.AvgPool2d) and isinstance(mx.layers[4], nn.MaxPool2d)
    x = torch.rand(1, 3, 8, 8)
    assert (mx(x, ("pool1",))["pool1"] >= avg(x, ("pool1",))["pool1"] - 1e-6).all()


def test_gram_matrix_matches_einsum_and_ignores_positions():
    f = torch.randn(3, 5, 4, 6)
    torch.testing.assert_close(st.gram_matrix(f), torch.einsum("bchw,bdhw->bcd", f, f) / 24)
    shuffled = f.flatten(2)[:, :, torch.randperm(24)].reshape(3, 5, 4, 6)
    torch.testing.assert_close(st.gram_matrix(shuffled), st.gram_matrix(f))
    assert st.gram_matrix(torch.ones(1, 2, 3, 3)).tolist() == [[[1.0, 1.0], [1.0, 1.0]]]


def test_content_and_style_loss_known_values():
    a, b = torch.zeros(1, 2, 2, 2), torch.ones(1, 2, 2, 2)
    assert st.content_loss(a, b).item() == 1.0
    feats = {"x": torch.ones(1, 2, 3, 3), "y": 2 * torch.ones(1, 1, 2, 2)}
    targets = {"x": torch.zeros(1, 2, 2), "y": torch.ones(1, 1, 1)}
    # gram of ones is all ones -> mean sq diff 1; gram of twos is 4 -> (4 - 1)^2 = 9
    assert st.style_loss(feats, targets).item() == pytest.approx(10.0)
    assert st.style_loss(feats, targets, {"x": 0.5, "y": 2.0}).item() == pytest.approx(18.5)


def test_total_variation_known_values():
    assert st.total_variation(torch.full((3, 5, 5), 0.3)).item() == 0
    ramp = torch.arange(4.0).view(1, 1, 4).expand(1, 4, 4)  # +1 per column, constant down columns
    assert st.total_variation(ramp).item() == pytest.approx(1.0)


def test_objective_zero_content_at_photo_and_blends_grams(random_vgg):
    torch.manual_seed(0)
    photo, s1, s2 = torch.rand(3, 32, 32), torch.rand(3, 32, 32), torch.rand(3, 32, 32) ** 2
    obj = st.StyleTransferObjective(random_vgg, photo, [s1, s2], style_weight=10.0, style_blend=(0.25, 0.75))
    losses = obj(photo[None])
    assert losses["content"].item() < 1e-8 and losses["style"].item() > 0
    with torch.no_grad():
        g1 = st.gram_matrix(random_vgg(s1[None], ("relu3_1",))["relu3_1"])
        g2 = st.gram_matrix(random_vgg(s2[None], ("relu3_1",))["relu3_1"])
    torch.testing.assert_close(obj.style_targets["relu3_1"], 0.25 * g1 + 0.75 * g2)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_optimisation_lowers_style_loss_and_keeps_pixels_valid(random_vgg, optimizer):
    torch.manual_seed(0)
    photo, painting = torch.rand(3, 32, 32), torch.rand(3, 32, 32) ** 3
    obj = st.StyleTransferObjective(random_vgg, photo, painting, style_weight=100.0, tv_weight=1.0)
    seen = []
    image, records = st.optimise_image(obj, photo, 10, optimizer, callback=lambda s, i, l: seen.append(s),
                                       bar=False)
    assert len(records) == 10 and seen == list(range(1, 11))  # the budget is exact, line search included
    with torch.no_grad():
        final = obj(image[None])["total"].item()
    assert final == min(r["total"] for r in records) < 0.8 * records[0]["total"]  # the best image evaluated
    assert image.shape == photo.shape and image.min() >= 0 and image.max() <= 1


def test_coarse_to_fine_starts_from_the_upsampled_coarse_result(random_vgg):
    torch.manual_seed(0)
    photo, painting = torch.rand(3, 32, 40), torch.rand(3, 32, 40) ** 3
    obj = st.StyleTransferObjective(random_vgg, photo, painting, style_weight=100.0, tv_weight=1.0)
    small = obj.resized(0.5)
    assert small.size == (16, 20) and small.style_weight == obj.style_weight
    assert set(small.style_targets) == set(obj.style_targets)
    image, records = st.optimise_image(obj, photo, 5, coarse_steps=8, bar=False)
    assert len(records) == 5 and image.shape == photo.shape  # only full-size evaluations are recorded
    assert records[0]["content"] > 1e-6  # the fine stage starts from the coarse result, not from the photo
    _, plain_records = st.optimise_image(obj, photo, 5, bar=False)
    assert plain_records[0]["content"] < 1e-6


def test_bfloat16_precision_keeps_float32_maps_close_to_float32(random_vgg):
    weights = random_vgg.layers.state_dict()
    exact = st.VGGFeatures("relu3_1", weights=weights, channels_last=False)
    fast = st.VGGFeatures("relu3_1", weights=weights, precision="bfloat16")
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        a, b = exact(x, ("relu3_1",))["relu3_1"], fast(x, ("relu3_1",))["relu3_1"]
    assert b.dtype == torch.float32 and fast.compute_dtype(x.device) == torch.bfloat16
    assert (a - b).norm() / a.norm() < 0.05  # bfloat16 keeps about three significant digits
    assert st.VGGFeatures("relu1_1").compute_dtype(x.device) == torch.float32  # the default
    with pytest.raises(ValueError, match="precision"):
        st.VGGFeatures("relu1_1", precision="half")


def test_colour_space_round_trip_and_keep_colours():
    torch.manual_seed(0)
    photo, stylised = torch.rand(3, 8, 8), torch.rand(3, 8, 8)
    torch.testing.assert_close(st.yiq_to_rgb(st.rgb_to_yiq(photo)), photo, atol=1e-5, rtol=1e-5)
    grey = torch.full((3, 4, 4), 0.4)
    torch.testing.assert_close(st.rgb_to_yiq(grey)[0], torch.full((4, 4), 0.4))  # grey: Y = value, I = Q = 0
    torch.testing.assert_close(st.rgb_to_yiq(grey)[1:], torch.zeros(2, 4, 4), atol=1e-6, rtol=0)
    mixed = st.rgb_to_yiq(st.keep_colours(torch.full((3, 8, 8), 0.5), torch.full((3, 8, 8), 0.5) + 0.1 *
                                          torch.tensor([1.0, -1.0, 0.0]).view(3, 1, 1)))
    torch.testing.assert_close(mixed[0], torch.full((8, 8), 0.5), atol=1e-5, rtol=0)
    lum = st.luminance_image(stylised * 0.5, match=photo)
    assert lum.shape == (3, 8, 8) and torch.equal(lum[0], lum[1])
    assert lum[0].mean().item() == pytest.approx(st.rgb_to_yiq(photo)[0].mean().item(), abs=0.02)



def test_match_colour_histogram_gives_the_reference_mean_and_covariance():
    """Gatys et al.'s colour histogram matching: the recoloured image's RGB pixels have the reference's mean and
    covariance (values kept inside [0, 1] here, so the final clamp changes nothing)."""
    torch.manual_seed(0)
    mix = torch.tensor([[1.0, 0.3, 0.0], [0.2, 1.0, 0.1], [0.0, -0.4, 1.0]])
    image = 0.5 + 0.04 * torch.einsum("ij,jhw->ihw", mix, torch.randn(3, 40, 50))
    reference = torch.tensor([0.3, 0.5, 0.6]).view(3, 1, 1) + 0.05 * torch.randn(3, 30, 20)  # another size
    matched = st.match_colour_histogram(image, reference)
    assert matched.shape == image.shape and matched.dtype == image.dtype

    def mean_and_covariance(picture):
        pixels = picture.reshape(3, -1).double()
        centred = pixels - pixels.mean(1, keepdim=True)
        return pixels.mean(1), centred @ centred.T / pixels.shape[1]

    (mean, covariance), (ref_mean, ref_covariance) = mean_and_covariance(matched), mean_and_covariance(reference)
    torch.testing.assert_close(mean, ref_mean, atol=1e-5, rtol=0)
    torch.testing.assert_close(covariance, ref_covariance, atol=1e-4, rtol=0)
    torch.testing.assert_close(st.match_colour_histogram(reference, reference), reference, atol=1e-3, rtol=0)

def test_bench_smoke_returns_metrics(monkeypatch):
    from tutorial.bench import nst

    monkeypatch.setattr(st, "_VGG19_STATE", {"state": None})  # as if the download had failed: no network
    # 48 px and 10 + 10 evaluations: at 32 px and 3 + 4 the half-size stage is degenerate (VGG's deepest maps
    # are 1x1) and the style loss does not fall on every torch version; here it falls to about 0.3 on both.
    monkeypatch.setitem(st.NST_SETTINGS, "smoke", {**st.NST_SETTINGS["smoke"], "image_size": 48, "steps": 10,
                                                   "coarse_steps": 10, "bench_steps": 12, "bench_repeats": 2})
    metrics = nst.run("smoke", torch.device("cpu"))
    for key in ("seconds", "iterations", "image_size", "style_loss_final", "style_loss_ratio",
                "content_loss_final", "content_loss_ratio_to_noise", "pretrained_weights", "plain_loss",
                "course_loss", "course_seconds_to_plain_loss", "time_to_plain_loss_ratio"):
        assert key in metrics
    assert metrics["iterations"] == 20 and metrics["pretrained_weights"] is False and len(metrics["runs"]) == 2
    assert set(metrics["ms_per_evaluation"]) == {"plain", "course_float32", "course"}
    assert all(r["plain_evaluations"] <= 12 and r["course_evaluations"] == [10, 10] for r in metrics["runs"])
    assert metrics["style_loss_ratio"] < 0.8


def test_a_damaged_cached_vgg_file_is_named_not_silently_replaced_by_random_weights(monkeypatch, tmp_path):
    import hashlib

    from torchvision.models import VGG19_Weights

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(st, "_VGG19_STATE", {})
    name = VGG19_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[1]  # vgg19-dcbb9e9d.pth: named by its sha256
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / name).write_bytes(b"half a download")
    with pytest.raises(st.VGGWeightsDamagedError, match=f"{name} is damaged.*Delete that file"):
        st.load_vgg19(pretrained=True, last_layer="relu1_1")
    # a file whose sha256 matches its name passes the check (torch then loads it with weights_only=True)
    good = b"intact weights"
    url = VGG19_Weights.IMAGENET1K_V1.url.replace(name, f"vgg19-{hashlib.sha256(good).hexdigest()[:8]}.pth")
    (tmp_path / "checkpoints" / url.rsplit("/", 1)[1]).write_bytes(good)
    st.check_cached_vgg19(url)
    st.check_cached_vgg19("https://example.org/no-cache-here-0123abcd.pth")  # nothing cached: nothing to check
