"""Unit tests for tutorial.adain (notebook 05). None of them touches the network."""
import pytest
import torch
from torch import nn

import tutorial.adain as ad
import tutorial.style_transfer as st
from tutorial.profiles import PROFILES, pick_settings


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setattr(st, "_VGG19_STATE", {"state": None})  # as if the download had failed


def test_settings_have_every_profile():
    for profile in PROFILES:
        cfg = pick_settings(ad.ADAIN_SETTINGS, profile)
        assert cfg.crop % 8 == 0 and cfg.epochs > 0


def test_mean_std_matches_torch():
    x = torch.randn(2, 3, 5, 6) * 2 + 1
    mean, std = ad.calc_mean_std(x, eps=0.0)
    assert mean.shape == std.shape == (2, 3, 1, 1)
    torch.testing.assert_close(mean[..., 0, 0], x.mean(dim=(2, 3)))
    torch.testing.assert_close(std[..., 0, 0], x.flatten(2).std(dim=2))  # unbiased, as the published code


def test_adain_output_has_style_statistics_and_content_layout():
    torch.manual_seed(0)
    content, style = torch.randn(3, 8, 10, 12) * 3 - 1, torch.rand(3, 8, 6, 5) * 4 + 2
    out = ad.adain(content, style)
    out_mean, out_std = ad.calc_mean_std(out)
    style_mean, style_std = ad.calc_mean_std(style)
    torch.testing.assert_close(out_mean, style_mean, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out_std, style_std, atol=1e-3, rtol=1e-3)
    assert out.shape == content.shape
    # the content's pattern survives: per channel, output is an increasing affine map of the input
    normalised = (content - content.mean(dim=(2, 3), keepdim=True)) / content.flatten(2).std(2)[..., None, None]
    torch.testing.assert_close((out - style_mean) / style_std, normalised, atol=1e-3, rtol=1e-3)


def test_adain_with_itself_is_identity():
    x = torch.randn(2, 4, 7, 7)
    torch.testing.assert_close(ad.adain(x, x), x, atol=1e-4, rtol=1e-4)


def test_style_statistics_loss_known_values():
    a = {"l": torch.zeros(1, 2, 4, 4)}
    b = {"l": torch.ones(1, 2, 4, 4)}
    assert ad.style_statistics_loss(a, b).item() == pytest.approx(1.0)  # means differ by 1, stds equal
    assert ad.style_statistics_loss(b, b).item() == 0.0
    # a style batch of one broadcasts over the output batch
    assert ad.style_statistics_loss({"l": torch.ones(3, 2, 4, 4)}, b).item() == 0.0


# The published decoder's state_dict (naoto0804/pytorch-AdaIN, net.py `decoder`): conv index -> (out, in).
PUBLISHED_DECODER = {1: (256, 512), 5: (256, 256), 8: (256, 256), 11: (256, 256), 14: (128, 256),
                     18: (128, 128), 21: (64, 128), 25: (64, 64), 28: (3, 64)}


def test_decoder_state_dict_matches_published_layout():
    decoder = ad.build_decoder()
    state = decoder.state_dict()
    expected = {f"{i}.{p}" for i in PUBLISHED_DECODER for p in ("weight", "bias")}
    assert set(state) == expected
    for index, (out_channels, in_channels) in PUBLISHED_DECODER.items():
        assert state[f"{index}.weight"].shape == (out_channels, in_channels, 3, 3)
    assert len(decoder) == 29
    assert isinstance(decoder[0], nn.ReflectionPad2d) and isinstance(decoder[3], nn.Upsample)
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) for m in decoder.modules())
    fake = {k: torch.randn_like(v) for k, v in state.items()}  # a "decoder.pth" loads by state_dict
    decoder.load_state_dict(fake)
    assert decoder(torch.rand(1, 512, 4, 5)).shape == (1, 3, 32, 40)


def _published_vgg_layout():
    """The published `vgg_normalised` module list (a 1x1 conv, then VGG-19 with reflection pads)."""
    layers = [nn.Conv2d(3, 3, 1)]
    in_channels = 3
    for channels in st.VGG19_CHANNELS:
        if channels == "pool":
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
        else:
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(in_channels, channels, 3), nn.ReLU()]
            in_channels = channels
    return nn.Sequential(*layers[:-1])  # it ends with relu5_4, no final pool


def test_vgg_normalised_conversion_gives_the_same_features():
    torch.manual_seed(0)
    published = _published_vgg_layout()
    for m in published.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, std=(2.0 / (m.in_channels * m.kernel_size[0] ** 2)) ** 0.5)
            nn.init.normal_(m.bias, std=0.1)
    state = published.state_dict()
    assert "0.weight" in state and "2.weight" in state and "29.weight" in state  # their indices
    encoder = st.VGGFeatures("relu4_1", pool="max", padding_mode="reflect",
                             weights=ad.vgg_normalised_to_vgg_features(state))
    x = torch.rand(1, 3, 32, 40)
    with torch.no_grad():
        theirs = published[:31](x)  # 31 modules: up to relu4_1, as in the published Net
        ours = encoder(x, ("relu4_1",))["relu4_1"]
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)


def test_load_published_adain_from_files(tmp_path):
    torch.manual_seed(0)
    torch.save(_published_vgg_layout().state_dict(), tmp_path / "vgg_normalised.pth")
    torch.save(ad.build_decoder().state_dict(), tmp_path / "decoder.pth")
    encoder, decoder = ad.load_published_adain(tmp_path / "vgg_normalised.pth", tmp_path / "decoder.pth")
    assert encoder.pretrained and encoder.names[-1] == "relu4_1"
    out = ad.stylise(encoder, decoder, torch.rand(3, 30, 21), torch.rand(3, 16, 16))
    assert out.shape == (3, 30, 21)  # sizes that are not multiples of 8 come back unchanged


def test_encoder_reuses_notebook_04_vgg():
    encoder = ad.build_encoder(pretrained=False)
    assert isinstance(encoder, st.VGGFeatures) and encoder.names[-1] == "relu4_1"
    assert isinstance(encoder.layers[4], nn.MaxPool2d) and encoder.layers[0].padding_mode == "reflect"
    assert not any(p.requires_grad for p in encoder.parameters())


def test_stylise_alpha_and_blends():
    torch.manual_seed(0)
    encoder, decoder = ad.build_encoder(pretrained=False), ad.build_decoder().eval()
    photo, s1, s2 = torch.rand(3, 24, 32), torch.rand(3, 16, 16), torch.rand(3, 16, 16)
    out = ad.stylise(encoder, decoder, photo, s1)
    assert out.shape == photo.shape and 0 <= out.min() and out.max() <= 1
    same = ad.stylise(encoder, decoder, photo, [s1, s2], style_weights=[1.0, 0.0])
    torch.testing.assert_close(same, out)
    batch = ad.stylise(encoder, decoder, photo[None].repeat(2, 1, 1, 1), s1, alpha=0.5)
    assert batch.shape == (2, 3, 24, 32)


def test_random_crops_shape_and_range():
    torch.manual_seed(0)
    crops = ad.random_crops([torch.rand(3, 40, 60), torch.rand(3, 50, 45)], 5, 32)
    assert crops.shape == (5, 3, 32, 32) and crops.min() >= 0 and crops.max() <= 1


def test_training_reduces_the_loss(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTORIAL_CHECKPOINTS", str(tmp_path))
    torch.manual_seed(0)
    cfg = pick_settings({p: {**ad.ADAIN_SETTINGS["smoke"], "epochs": 2, "steps_per_epoch": 5, "crop": 16, "random_encoder_style_weight": 10.0,
                             "batch_size": 2, "lr": 1e-3} for p in PROFILES}, "smoke")
    encoder = st.VGGFeatures("relu4_1", pool="max", padding_mode="reflect")
    decoder = ad.build_decoder()
    photos, paintings = [torch.rand(3, 24, 24)], [torch.rand(3, 24, 24) ** 2]
    history = ad.train_decoder(encoder, decoder, photos, paintings, cfg, quiet=True)
    totals = [r["content"] + 10 * r["style"] for r in history.records]
    assert len(totals) == 10
    assert sum(totals[-3:]) < sum(totals[:3])
    assert list(tmp_path.glob("adain-decoder-random-vgg-*.pt"))  # resumable checkpoint written


def test_bench_smoke_returns_metrics(monkeypatch, tmp_path):
    from tutorial.bench import adain as bench

    monkeypatch.setenv("TUTORIAL_CHECKPOINTS", str(tmp_path))
    monkeypatch.setitem(ad.ADAIN_SETTINGS, "smoke", {**ad.ADAIN_SETTINGS["smoke"], "epochs": 1,
                                                      "steps_per_epoch": 1, "crop": 16, "timing_repeats": 1})
    monkeypatch.setattr(bench, "_median_ms", lambda fn, repeats, device: 1.0)  # no 512-px timing in a unit test
    monkeypatch.setattr(ad, "TRAIN_PHOTOS", ["rocket"])  # small files: decoding big JPEGs is slow
    monkeypatch.setattr(ad, "TRAIN_PAINTINGS", ["woman_with_hat_matisse"])
    metrics = bench.run("smoke", torch.device("cpu"))
    for key in ("training_seconds", "content_loss_final", "style_loss_final", "inference_ms_256",
                "inference_ms_512", "pretrained_encoder"):
        assert key in metrics
    assert metrics["pretrained_encoder"] is False and metrics["training_steps"] == 1
    assert (metrics["training_photos"], metrics["training_paintings"], metrics["skipped_unreadable_images"]) == (1, 1, 0)


def test_training_images_add_the_large_sets_only_in_full(monkeypatch, tmp_path):
    from PIL import Image

    import tutorial.data

    files = []
    for i in range(3):
        files.append(tmp_path / f"{i}.jpg")
        Image.new("RGB", (256, 256), (80 * i, 0, 0)).save(files[-1])
    monkeypatch.setattr(tutorial.data, "places365_photos", lambda: files[:2])
    monkeypatch.setattr(tutorial.data, "dtd_textures", lambda: files[2:])
    laptop = pick_settings(ad.ADAIN_SETTINGS, "laptop")
    photos, paintings = ad.training_images(laptop)
    assert (len(photos), len(paintings)) == (len(ad.TRAIN_PHOTOS), len(ad.TRAIN_PAINTINGS))
    full = pick_settings(ad.ADAIN_SETTINGS, "full")
    assert full.large_sets and not laptop.large_sets
    photos, paintings = ad.training_images(full)
    assert (len(photos), len(paintings)) == (len(ad.TRAIN_PHOTOS) + 2, len(ad.TRAIN_PAINTINGS) + 1)
    assert photos[-1].shape == (3, 512, 512)  # read on use at the profile's training size
    crops = ad.random_crops(paintings, 2, 64)
    assert crops.shape == (2, 3, 64, 64)


class _CountingPictures(list):
    """Stands for `full`'s 42,000 pictures on disk: counts every picture read."""

    reads = 0

    def __getitem__(self, index):
        _CountingPictures.reads += 1
        return super().__getitem__(index)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


def test_notebook_05_hands_the_pictures_to_training_unread():
    """In `full` the training pictures are 42,000 files: the notebook's training cell must pass them on as
    they are (training cuts crops and moves only those), never load them all onto the device first."""
    import json
    from pathlib import Path

    from tutorial.training import LossHistory

    notebook = json.loads((Path(__file__).parents[1] / "notebooks" / "05_adain.ipynb").read_text())
    cell = next("".join(c["source"]) for c in notebook["cells"]
                if c["cell_type"] == "code" and "history = train_decoder(" in "".join(c["source"]))
    photos, paintings = _CountingPictures([torch.rand(3, 8, 8)] * 5), _CountingPictures([torch.rand(3, 8, 8)] * 5)
    received = {}

    def train_decoder(encoder, decoder, photos_in, paintings_in, settings, history=None, **kwargs):
        received.update(photos=photos_in, paintings=paintings_in)
        return LossHistory()

    _CountingPictures.reads = 0
    namespace = {"torch": torch, "time": __import__("time"), "LossHistory": LossHistory,
                 "cfg": pick_settings(ad.ADAIN_SETTINGS, "smoke"), "device": torch.device("cpu"),
                 "load_image": lambda name, size: torch.rand(3, size, size), "stylise": None, "show_grid": None,
                 "encoder": None, "decoder": None, "TEST_PHOTO": "a", "TEST_PAINTING": "b",
                 "train_photos": photos, "train_paintings": paintings, "train_decoder": train_decoder}
    exec(compile(cell, "05_adain.ipynb", "exec"), namespace)
    assert received["photos"] is photos and received["paintings"] is paintings
    assert _CountingPictures.reads == 0
