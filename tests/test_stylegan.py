"""Notebook 09's exported lesson code (tutorial/stylegan.py) and its benchmark."""
import math

import pytest
import torch

from tutorial import adain, progan, stylegan
from tutorial.profiles import PROFILES, pick_settings


def tiny_generator(clusters=0, **changes):
    torch.manual_seed(0)
    kwargs = {"nz": 8, "w_dim": 6, "channels": [8, 8, 4], "mapping_layers": 2, "mapping_lr": 0.01,
              "clusters": clusters, **changes}
    return stylegan.StyleGANGenerator(**kwargs)


def test_settings_profiles_share_keys_and_follow_the_paper():
    for profile in PROFILES:
        cfg = pick_settings(stylegan.STYLEGAN_SETTINGS, profile)  # raises if the keys differ
        assert (cfg.mixing_prob, cfg.w_avg_beta, cfg.beta1, cfg.beta2, cfg.gp_weight) == (0.9, 0.995, 0.0, 0.99, 10.0)
        assert 4 * 2 ** (len(cfg.channels) - 1) == 32 and 1.0 in cfg.psi_values
    full = pick_settings(stylegan.STYLEGAN_SETTINGS, "full")
    assert (full.mapping_layers, full.mapping_lr) == (8, 0.01)  # the paper's mapping network


def test_adain_with_statistics_is_notebook_05s_adain():
    x, y = torch.randn(2, 3, 5, 5) * 4 + 1, torch.randn(2, 3, 5, 5) * 0.2
    torch.testing.assert_close(adain.adain(x, y), adain.adain_with_statistics(x, *adain.calc_mean_std(y)))


def test_mapping_network_sees_only_the_direction_of_z_and_needs_its_clusters():
    mapping = stylegan.MappingNetwork(8, 6, layers=3, clusters=4)
    z, c = torch.randn(5, 8), torch.arange(5) % 4
    w = mapping(z, c)
    assert w.shape == (5, 6)
    torch.testing.assert_close(mapping(3 * z, c), w)
    assert not torch.allclose(mapping(z, (c + 1) % 4), w)  # the cluster changes w
    with pytest.raises(ValueError, match="clusters"):
        mapping(z)
    assert all(layer.lr_multiplier == 0.01 for layer in mapping.net if isinstance(layer, progan.EqualizedLinear))
    assert mapping.embed.lr_multiplier == 1.0  # the cluster's embedding learns at the full rate


def test_style_affine_starts_at_scale_one_and_adain_gives_the_style_statistics():
    affine = stylegan.StyleAffine(6, 4)
    with torch.no_grad():
        affine.affine.weight.zero_()
    scale, bias = affine(torch.randn(3, 6))
    assert scale.shape == bias.shape == (3, 4, 1, 1)
    assert scale.eq(1).all() and bias.eq(0).all()  # an untrained-looking affine leaves the features normalised
    torch.manual_seed(1)
    affine = stylegan.StyleAffine(6, 4)
    x, w = torch.randn(3, 4, 8, 8) * 5 - 2, torch.randn(3, 6)
    scale, bias = affine(w)
    mean, std = adain.calc_mean_std(stylegan.style_features(x, w, affine))
    torch.testing.assert_close(mean, bias, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(std, scale.abs(), atol=1e-3, rtol=1e-3)


def test_noise_is_one_image_per_sample_with_a_learned_scale_per_channel():
    noise_input = stylegan.NoiseInput(3)
    x, noise = torch.randn(2, 3, 4, 4), torch.randn(2, 1, 4, 4)
    torch.testing.assert_close(noise_input(x, noise), x)  # the scales start at 0
    with torch.no_grad():
        noise_input.weight.copy_(torch.tensor([0.0, 1.0, -2.0]))
    out = noise_input(x, noise)
    torch.testing.assert_close(out - x, torch.cat([0 * noise, noise, -2 * noise], dim=1))
    torch.manual_seed(0)
    a = noise_input(x)
    torch.manual_seed(1)
    assert not torch.equal(a, noise_input(x))  # fresh noise by default


def test_mix_styles_and_truncate():
    w1, w2 = torch.zeros(2, 3), torch.ones(2, 3)
    mixed = stylegan.mix_styles(w1, w2, 6, 2)
    assert mixed.shape == (2, 6, 3) and mixed[:, :2].eq(0).all() and mixed[:, 2:].eq(1).all()
    ws, avg = torch.randn(2, 6, 3), torch.randn(3)
    torch.testing.assert_close(stylegan.truncate(ws, avg, 1.0), ws)
    torch.testing.assert_close(stylegan.truncate(ws, avg, 0.0), avg.expand_as(ws))
    cut = stylegan.truncate(ws, avg, 0.5, layers=2)
    torch.testing.assert_close(cut[:, :2], avg + 0.5 * (ws[:, :2] - avg))
    torch.testing.assert_close(cut[:, 2:], ws[:, 2:])


@pytest.mark.parametrize("clusters", [0, 3])
def test_generator_grows_fades_and_is_steered_only_by_styles_and_noise(clusters):
    g = tiny_generator(clusters).eval()
    d = progan.ProGANDiscriminator([8, 8, 4], clusters=clusters)
    z, c = torch.randn(4, 8), (torch.arange(4) % 3 if clusters else None)
    with torch.no_grad():
        for level in range(3):
            noise = [torch.randn(4, *s) for s in g.noise_shapes(level)]
            images = g(z, c, level, noise=noise)
            assert images.shape == (4, 1, 4 * 2 ** level, 4 * 2 ** level) and d(images, c).shape == (4,)
            torch.testing.assert_close(g(z, c, level, noise=noise), images)
        noise = [torch.randn(4, *s) for s in g.noise_shapes()]
        torch.testing.assert_close(g(z, c, 2, alpha=0.0, noise=noise), progan.upsample(g(z, c, 1, noise=noise[:4])))
        assert g.num_styles == 6 and len(noise) == 6
        # psi = 0 with shared noise: every sample is the average style's image, whatever z and the cluster
        g.w_avg.copy_(torch.randn(6))
        shared = [n[:1].expand_as(n) for n in noise]
        same = g(z, c, psi=0.0, noise=shared)
        torch.testing.assert_close(same, same[:1].expand_as(same))


def test_training_mode_mixes_styles_and_tracks_the_average_w():
    g = tiny_generator(mixing_prob=0.5)
    seen = []
    original = g.synthesis
    g.synthesis = lambda ws, *a, **k: (seen.append(ws.detach().clone()), original(ws, *a, **k))[1]
    g.train()
    torch.manual_seed(0)
    z = torch.randn(16, 8)
    expected_avg = torch.zeros(6)
    with torch.no_grad():
        for _ in range(400):
            g(z, level=2)
            expected_avg = 0.995 * expected_avg + 0.005 * g.mapping(z).mean(0)
    torch.testing.assert_close(g.w_avg, expected_avg, atol=1e-5, rtol=1e-4)
    mixed = [bool((ws[:, 0] != ws[:, -1]).any()) for ws in seen]
    assert 0.4 < sum(mixed) / len(mixed) < 0.6
    for ws in seen:  # a mixed batch has one crossover: layers before it share w1, the rest w2
        changes = [not torch.equal(ws[:, i], ws[:, i + 1]) for i in range(5)]
        assert sum(changes) <= 1
    g.eval()
    seen.clear()
    with torch.no_grad():
        g(z)
    assert not bool((seen[0][:, 0] != seen[0][:, -1]).any())  # no mixing when sampling
    before = g.w_avg.clone()
    with torch.no_grad():
        g(z)
    torch.testing.assert_close(g.w_avg, before)  # nor tracking


def test_train_progan_trains_a_stylegan_whose_average_carries_w_avg_and_resumes(capsys):
    cfg = pick_settings(stylegan.STYLEGAN_SETTINGS, "smoke")
    cfg.update({"train_limit": 64, "batch_size": 8, "nz": 8, "w_dim": 6, "mapping_layers": 2, "channels": [8, 8, 4],
                "phase_images": 32, "final_images": 32, "clusters": 2})
    images = torch.rand(64, 1, 12, 12)
    groups = torch.arange(64) % 2
    make = lambda: (tiny_generator(2), progan.ProGANDiscriminator([8, 8, 4], clusters=2))
    g, d = make()
    average, history, samples = progan.train_progan(g, d, images, cfg, "cpu", name="tiny_stylegan", live_every=0,
                                                    quiet=True, groups=groups)
    assert len(samples.grids) == 5 and all(math.isfinite(v) for v in history.series("loss_d")[1])
    assert g.w_avg.abs().sum() > 0
    torch.testing.assert_close(average.w_avg, g.w_avg)  # update_ema copies buffers
    assert not average.training
    out = progan.progan_samples(stylegan.Truncated(average, 0.5), 10)
    assert out.shape == (10, 1, 12, 12) and 0 <= out.min() and out.max() <= 1
    g2, d2 = make()
    capsys.readouterr()
    average2, _, _ = progan.train_progan(g2, d2, images, cfg, "cpu", name="tiny_stylegan", live_every=0, groups=groups)
    assert "Loaded the finished run" in capsys.readouterr().out
    torch.testing.assert_close(average2.w_avg, average.w_avg)


def test_slerp_stays_on_the_sphere_between_its_ends():
    a, b = torch.randn(5, 7), torch.randn(5, 7)
    unit = lambda v: v / v.norm(dim=1, keepdim=True)
    torch.testing.assert_close(stylegan.slerp(a, b, torch.zeros(5)), unit(a))
    torch.testing.assert_close(stylegan.slerp(a, b, torch.ones(5)), unit(b))
    torch.testing.assert_close(stylegan.slerp(a, b, torch.rand(5)).norm(dim=1), torch.ones(5))


def test_path_length_is_zero_when_styles_do_nothing_and_repeatable(tiny_judge):
    g = tiny_generator(2, channels=[8, 8, 8, 4])
    g.cluster_weights.copy_(torch.tensor([0.5, 0.5]))
    first = stylegan.judge_path_length(g, 40, "w", seed=3)
    assert first > 0 and first == stylegan.judge_path_length(g, 40, "w", seed=3)
    assert stylegan.judge_path_length(g, 40, "z", seed=3) > 0
    with torch.no_grad():
        for layer in g.layers:
            layer.style.affine.weight.zero_()  # the image no longer depends on w
    assert stylegan.judge_path_length(g, 40, "w") == 0 and stylegan.judge_path_length(g, 40, "z") == 0
    with pytest.raises(ValueError, match="space"):
        stylegan.judge_path_length(g, 4, "x")


def test_bench_reports_the_issue_metrics(monkeypatch, tiny_judge):
    from tutorial.bench import stylegan as bench

    monkeypatch.setitem(stylegan.STYLEGAN_SETTINGS, "smoke", {**stylegan.STYLEGAN_SETTINGS["smoke"], "train_limit": 128,
                                                              "n_judge": 200, "phase_images": 32, "final_images": 32,
                                                              "path_pairs": 40})
    metrics = bench.run("smoke", torch.device("cpu"), overrides={"clusters": 0})
    assert metrics["clusters"] == 0 and metrics["samples"] == 200 and metrics["psi"] == 1.0
    for key in ("fid_mnist", "confident_fraction", "min_class_share", "fid_floor_train_vs_test", "path_length_z",
                "path_length_w"):
        assert isinstance(metrics[key], float) and metrics[key] >= 0
    assert list(metrics["truncation"]) == ["0.5", "0.7", "0.85", "1.0"]
    assert metrics["truncation"]["1.0"]["fid_mnist"] == metrics["fid_mnist"]  # psi = 1 is the plain generator
    assert list(metrics["phase_seconds"]) == ["4", "8-fade", "8", "16-fade", "16", "32-fade", "32"]
    assert metrics["train_seconds"] > 0


def test_samples_are_repeatable_despite_the_noise_inputs_and_leave_the_callers_stream_alone():
    g = tiny_generator(2).eval()
    torch.manual_seed(5)
    before = torch.rand(3)
    torch.manual_seed(5)
    a = progan.progan_samples(g, 6, seed=1)
    after = torch.rand(3)
    torch.testing.assert_close(before, after)  # the caller's stream is where it was
    torch.testing.assert_close(progan.progan_samples(g, 6, seed=1), a)
    assert not torch.equal(progan.progan_samples(g, 6, seed=2), a)
