"""Notebook 10's exported lesson code (tutorial/stylegan2.py) and its benchmark."""
import math

import pytest
import torch
import torch.nn.functional as F

from tutorial import progan, stylegan, stylegan2
from tutorial.bench import stylegan2 as bench_stylegan2
from tutorial.profiles import PROFILES, pick_settings


def tiny(clusters=0, channels=(8, 8, 4)):
    torch.manual_seed(0)
    g = stylegan2.StyleGAN2Generator(nz=8, w_dim=6, channels=list(channels), mapping_layers=2, mapping_lr=1.0,
                                     clusters=clusters)
    d = stylegan2.StyleGAN2Discriminator(list(channels), clusters=clusters)
    return g, d


def test_settings_profiles_share_keys_and_follow_the_paper():
    for profile in PROFILES:
        cfg = pick_settings(stylegan2.STYLEGAN2_SETTINGS, profile)  # raises if the keys differ
        assert (cfg.beta1, cfg.beta2, cfg.pl_weight, cfg.pl_decay, cfg.mixing_prob) == (0.0, 0.99, 2.0, 0.01, 0.9)
        assert 4 * 2 ** (len(cfg.channels) - 1) == 32 and 1.0 in cfg.psi_values
        assert set(cfg.ablations) <= set(bench_stylegan2.ABLATIONS)
    full = pick_settings(stylegan2.STYLEGAN2_SETTINGS, "full")
    assert (full.r1_interval, full.pl_interval, full.mapping_layers, full.mapping_lr) == (16, 4, 8, 0.01)


@pytest.mark.parametrize("k,padding", [(3, 1), (1, 0), (3, 0)])
def test_fused_and_plain_modulated_convolutions_agree_and_reduce_to_conv2d(k, padding):
    torch.manual_seed(0)
    x, weight, styles = torch.randn(3, 5, 7, 7), torch.randn(4, 5, k, k), torch.rand(3, 5) * 2 + 0.1
    for demodulated in (True, False):
        fused = stylegan2.modulated_conv2d(x, weight, styles, demodulated, padding, fused=True)
        plain = stylegan2.modulated_conv2d(x, weight, styles, demodulated, padding, fused=False)
        torch.testing.assert_close(fused, plain, atol=1e-5, rtol=1e-4)
    ones = torch.ones(3, 5)
    torch.testing.assert_close(stylegan2.modulated_conv2d(x, weight, ones, False, padding),
                               F.conv2d(x, weight, padding=padding))
    # by hand: sample 1's weights scaled by its style, each output channel divided by its norm
    w1 = weight * styles[1].view(1, -1, 1, 1)
    w1 = w1 / (w1.pow(2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8).sqrt()
    torch.testing.assert_close(stylegan2.modulated_conv2d(x, weight, styles, True, padding)[1],
                               F.conv2d(x[1:2], w1, padding=padding)[0], atol=1e-5, rtol=1e-4)


def test_demodulation_keeps_unit_variance_whatever_the_style():
    torch.manual_seed(0)
    x, weight = torch.randn(8, 32, 20, 20), torch.randn(16, 32, 3, 3)
    for scale in (0.01, 1.0, 100.0):
        out = stylegan2.modulated_conv2d(x, weight, torch.rand(8, 32) * scale + 1e-3)
        assert abs(out.std().item() - 1) < 0.05


def test_bilinear_upsampling_is_the_papers_filter_inside_the_image():
    x = torch.randn(2, 3, 6, 6)
    k = torch.tensor([1.0, 3.0, 3.0, 1.0]) / 4
    paper = F.conv_transpose2d(x, (k[:, None] * k).expand(3, 1, 4, 4), stride=2, padding=1, groups=3)
    torch.testing.assert_close(stylegan2.upsample_bilinear(x)[..., 1:-1, 1:-1], paper[..., 1:-1, 1:-1])


@pytest.mark.parametrize("clusters", [0, 3])
def test_generator_is_the_sum_of_its_resolutions_and_the_discriminator_takes_it(clusters):
    g, d = tiny(clusters)
    g.eval()
    assert g.num_styles == 6 and [s[1] for s in g.noise_shapes()] == [4, 8, 8, 16, 16]
    z = torch.randn(5, 8)
    c = torch.arange(5) % clusters if clusters else None
    noise = [torch.randn(5, *s) for s in g.noise_shapes()]
    with torch.no_grad():
        ws = g.styles(g.mapping(z, c))
        image, parts = g.synthesis(ws, noise, parts=True)
        assert image.shape == (5, 1, 16, 16) and len(parts) == 3
        torch.testing.assert_close(image, sum(parts))
        torch.testing.assert_close(g(z, c, noise=noise), image)
        torch.testing.assert_close(g.synthesis(ws, noise, fused=True), image, atol=1e-4, rtol=1e-4)
        assert d(image, c).shape == (5,)
        other = ws.clone()
        other[:, -1] = 0  # the last style drives only the last ToRGB
        changed = g.synthesis(other, noise, parts=True)[1]
        torch.testing.assert_close(changed[0], parts[0])
        torch.testing.assert_close(changed[1], parts[1])
        assert not torch.allclose(changed[2], parts[2])
    with pytest.raises(ValueError, match="16x16"):
        d(torch.zeros(2, 1, 8, 8), None if c is None else c[:2])
    shares = stylegan2.resolution_shares(g, z, c)
    assert len(shares) == 3 and math.isclose(sum(shares), 1.0, rel_tol=1e-5) and min(shares) > 0


def test_residual_block_halves_and_keeps_the_scale():
    torch.manual_seed(0)
    block = stylegan2.ResidualBlock(16, 32)
    out = block(torch.randn(32, 16, 16, 16))
    assert out.shape == (32, 32, 8, 8) and 0.3 < out.std().item() < 3


def test_r1_is_the_squared_gradient_on_reals_and_lazy_adam_follows_the_paper():
    a = torch.randn(16, dtype=torch.float64)
    critic = lambda x, clusters=None: x.flatten(1) @ a
    torch.testing.assert_close(stylegan2.r1_penalty(critic, torch.randn(4, 1, 4, 4, dtype=torch.float64)), a.pow(2).sum())
    lr, betas = stylegan2.lazy_adam_settings(2e-3, (0.0, 0.99), 16)
    assert math.isclose(lr, 2e-3 * 16 / 17) and betas == (0.0, 0.99 ** (16 / 17))
    assert stylegan2.lazy_adam_settings(2e-3, (0.0, 0.99), 0) == (2e-3, (0.0, 0.99))


def test_path_length_penalty_matches_finite_differences_and_its_mean_does_not_take_gradients():
    g, _ = tiny()
    g = g.double()
    z = torch.randn(3, 8, dtype=torch.float64)
    torch.manual_seed(5)
    penalty, lengths, mean = stylegan2.path_length_penalty(g, z, None, torch.tensor(0.0, dtype=torch.float64), 0.5)
    assert not mean.requires_grad and penalty.requires_grad
    torch.manual_seed(5)
    with torch.no_grad():
        ws = g.styles(g.mapping(z)).clone()
        y = torch.randn_like(g.synthesis(ws)) / 16
    noise_free = [torch.zeros(3, *s, dtype=torch.float64) for s in g.noise_shapes()]  # noise scales are 0 anyway
    h, total = 1e-5, torch.zeros(3, dtype=torch.float64)
    with torch.no_grad():
        for layer in range(ws.shape[1]):
            for k in range(ws.shape[2]):
                up, down = ws.clone(), ws.clone()
                up[:, layer, k] += h
                down[:, layer, k] -= h
                diff = ((g.synthesis(up, noise_free) - g.synthesis(down, noise_free)) * y).flatten(1).sum(1) / (2 * h)
                total += diff ** 2
    torch.testing.assert_close(lengths, (total / ws.shape[1]).sqrt(), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(mean, 0.5 * lengths.mean())


def test_training_learns_resumes_and_continues(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TUTORIAL_CHECKPOINTS", str(tmp_path))
    cfg = pick_settings(stylegan2.STYLEGAN2_SETTINGS, "smoke")
    cfg.update({"train_limit": 64, "batch_size": 8, "nz": 8, "w_dim": 6, "channels": [8, 8, 4], "clusters": 2,
                "epochs": 2, "epoch_images": 32, "r1_interval": 2, "pl_interval": 2})
    images = torch.zeros(64, 1, 12, 12)
    images[:, :, 3:9, 5:7] = 1.0
    groups = torch.arange(64) % 2
    g, d = tiny(2)
    average, history, samples = stylegan2.train_stylegan2(g, d, images, cfg, "cpu", name="tiny2", live_every=0,
                                                          quiet=True, groups=groups)
    assert len(samples.grids) == 2 and len(history.series("loss_d")[1]) == 8
    assert len(history.series("r1")[1]) == 4 and len(history.series("path_length")[1]) == 4  # every 2nd step
    assert all(math.isfinite(v) for v in history.series("loss_g")[1])
    assert set(history.names()) >= {"share_4", "share_8", "share_16", "epoch_seconds"}
    torch.testing.assert_close(average.w_avg, g.w_avg)
    g2, d2 = tiny(2)
    capsys.readouterr()
    average2, _, _ = stylegan2.train_stylegan2(g2, d2, images, cfg, "cpu", name="tiny2", live_every=0, groups=groups)
    assert "Loaded the finished run" in capsys.readouterr().out
    noise = [torch.randn(1, *s) for s in average.noise_shapes()]
    torch.testing.assert_close(average2.synthesis(average2.styles(average2.w_avg[None]), noise),
                               average.synthesis(average.styles(average.w_avg[None]), noise))
    g3, d3 = tiny(2)
    longer = {**cfg, "epochs": 3}
    _, history3, samples3 = stylegan2.train_stylegan2(g3, d3, images, pick_settings(
        {p: longer for p in PROFILES}, "smoke"), "cpu", name="tiny2", live_every=0, groups=groups)
    assert "Continuing after epoch 2 of 3" in capsys.readouterr().out and len(samples3.grids) == 3


def test_regularisers_switch_off_with_a_zero_weight(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTORIAL_CHECKPOINTS", str(tmp_path))
    cfg = pick_settings(stylegan2.STYLEGAN2_SETTINGS, "smoke")
    cfg.update({"train_limit": 32, "batch_size": 8, "nz": 8, "w_dim": 6, "channels": [8, 8, 4], "clusters": 0,
                "epochs": 1, "epoch_images": 16, "r1_gamma": 0.0, "pl_weight": 0.0})
    g, d = tiny()
    _, history, _ = stylegan2.train_stylegan2(g, d, torch.rand(32, 1, 12, 12), cfg, "cpu", name="off", live_every=0,
                                              quiet=True)
    assert "r1" not in history.names() and "path_length" not in history.names()


def test_feature_peaks_reads_both_generations():
    g, _ = tiny()
    peaks = stylegan2.feature_peaks(g, 16)
    assert len(peaks) == len(g.layers) and all(p >= 1 for p in peaks)
    torch.manual_seed(0)
    old = stylegan.StyleGANGenerator(nz=8, w_dim=6, channels=[8, 8, 4], mapping_layers=2)
    old_peaks = stylegan2.feature_peaks(old, 16)
    assert len(old_peaks) == len(old.layers) and all(p >= 1 for p in old_peaks)


def test_project_moves_towards_the_target(tiny_judge):
    g, _ = tiny(channels=(8, 8, 8, 4))
    g.eval()
    target = torch.zeros(1, 28, 28)
    target[:, 8:20, 12:16] = 1.0
    ws, losses = stylegan2.project(g, target, steps=30, lr=0.1)
    assert ws.shape == (1, g.num_styles, 6) and losses[-1] < losses[0]
    assert all(p.grad is None for p in g.parameters())  # the generator stays as it was


def test_truncated_stylegan2_samples(tiny_judge):
    g, _ = tiny(channels=(8, 8, 8, 4))
    out = progan.progan_samples(stylegan.Truncated(g, 0.5), 10)
    assert out.shape == (10, 1, 28, 28) and 0 <= out.min() and out.max() <= 1


def test_bench_reports_the_issue_metrics(monkeypatch, tiny_judge):
    from tutorial.bench import stylegan2 as bench

    monkeypatch.setitem(stylegan2.STYLEGAN2_SETTINGS, "smoke", {
        **stylegan2.STYLEGAN2_SETTINGS["smoke"], "train_limit": 128, "n_judge": 200, "epochs": 1, "epoch_images": 32,
        "path_pairs": 40, "ablations": ["no_pl"], "compare_stylegan": False})
    metrics = bench.run("smoke", torch.device("cpu"), overrides={"clusters": 0})
    for key in ("fid_mnist", "confident_fraction", "min_class_share", "fid_floor_train_vs_test", "path_length_w"):
        assert isinstance(metrics[key], float) and metrics[key] >= 0
    assert list(metrics["truncation"]) == ["0.7", "1.0"] and metrics["truncation"]["1.0"]["fid_mnist"] == metrics["fid_mnist"]
    assert list(metrics["ablations"]) == ["no_pl"] and metrics["ablations"]["no_pl"]["train_seconds"] > 0
    assert len(metrics["droplets_stylegan2"]) == 7 and "droplets_stylegan" not in metrics
    assert set(metrics["resolution_shares_final"]) == {"share_4", "share_8", "share_16", "share_32"}
