"""Notebook 08's exported lesson code (tutorial/progan.py) and its benchmark."""
import math

import pytest
import torch

from tutorial import progan
from tutorial.profiles import PROFILES, pick_settings


def tiny_settings(**changes):
    cfg = pick_settings(progan.PROGAN_SETTINGS, "smoke")
    cfg.update({"train_limit": 128, "batch_size": 8, "nz": 8, "channels": [8, 8, 4], "phase_images": 64,
                "final_images": 96, "clusters": 0, "n_judge": 100, **changes})
    return cfg


def test_settings_profiles_share_keys_and_follow_the_paper():
    for profile in PROFILES:
        cfg = pick_settings(progan.PROGAN_SETTINGS, profile)  # raises if the keys differ
        assert (cfg.beta1, cfg.beta2, cfg.gp_weight, cfg.drift, cfg.mbstd_group) == (0.0, 0.99, 10.0, 1e-3, 4)
        assert 4 * 2 ** (len(cfg.channels) - 1) == 32  # grown to the padded MNIST size


@pytest.mark.parametrize("layer", ["conv", "linear"])
def test_equalized_layers_keep_the_output_variance_whatever_the_fan_in(layer):
    torch.manual_seed(0)
    for width in (4, 64, 512):
        if layer == "conv":
            module, x = progan.EqualizedConv2d(width, 64, 3), torch.randn(32, width, 10, 10)
        else:
            module, x = progan.EqualizedLinear(width, 256), torch.randn(4096, width)
        assert module.weight.std().item() == pytest.approx(1.0, abs=0.1)  # stored weights are N(0, 1)
        with torch.no_grad():
            assert module(x).var().item() == pytest.approx(2.0, rel=0.15)  # gain^2, not the fan-in


def test_equalized_scale_is_applied_at_run_time_and_lr_multiplier_keeps_the_function():
    layer = progan.EqualizedLinear(9, 3)
    x = torch.randn(5, 9)
    torch.testing.assert_close(layer(x), x @ (layer.weight * math.sqrt(2 / 9)).T)
    with torch.no_grad():
        layer.weight.mul_(2)  # the scale multiplies whatever is stored: twice the weights, twice the output
    torch.testing.assert_close(layer(x), x @ (layer.weight * math.sqrt(2 / 9)).T)
    torch.manual_seed(1)
    slow = progan.EqualizedLinear(9, 3, lr_multiplier=0.01, bias_init=1.0)
    torch.manual_seed(1)
    plain = progan.EqualizedLinear(9, 3, bias_init=1.0)
    torch.testing.assert_close(slow(x), plain(x))  # same function at initialisation...
    slow(x).sum().backward()
    plain(x).sum().backward()
    # ...but the stored weights get a 100 times smaller gradient, and with Adam each step moves the
    # effective weights (stored * scale) 100 times less
    torch.testing.assert_close(slow.weight.grad, plain.weight.grad * 0.01)


def test_pixel_norm_gives_unit_mean_square_per_pixel():
    x = torch.randn(4, 12, 3, 3) * 5 + 1
    torch.testing.assert_close(progan.pixel_norm(x).pow(2).mean(1), torch.ones(4, 3, 3), rtol=1e-4, atol=1e-4)


def test_minibatch_stddev_is_zero_for_identical_images_and_follows_its_groups():
    same = torch.randn(1, 3, 4, 4).expand(8, 3, 4, 4)
    out = progan.minibatch_stddev(same)
    assert out.shape == (8, 4, 4, 4) and out[:, -1].abs().max() < 1e-3  # sqrt(eps) = 1e-4
    torch.testing.assert_close(out[:, :3], same)
    x = torch.randn(12, 2, 3, 3)
    stat = progan.minibatch_stddev(x, group_size=4)[:, -1, 0, 0]  # 3 groups of 4: sample i in group i % 3
    for b in range(3):
        members = x[b::3]
        expected = (members.var(0, unbiased=False) + 1e-8).sqrt().mean()
        torch.testing.assert_close(stat[b::3], expected.expand(4))
    assert progan.minibatch_stddev(torch.randn(6, 2, 2, 2), group_size=4).shape == (6, 3, 2, 2)  # G lowered to 3


def test_fade_in_silences_the_new_block_at_alpha_0_and_the_old_one_at_1():
    torch.manual_seed(0)
    g, d = progan.ProGANGenerator(8, [8, 8, 4]), progan.ProGANDiscriminator([8, 8, 4])
    z = torch.randn(4, 8)
    with torch.no_grad():
        torch.testing.assert_close(g(z, level=2, alpha=0.0), progan.upsample(g(z, level=1)))
        images = torch.randn(4, 1, 16, 16)
        low = progan.downsample(images)
        # at alpha = 0 the discriminator reads a 16x16 image exactly as the 8x8 discriminator reads its average
        torch.testing.assert_close(d(images, alpha=0.0), d(low))
        assert not torch.allclose(d(images, alpha=1.0), d(low))
        mid = g(z, level=2, alpha=0.25)
        torch.testing.assert_close(mid, 0.75 * progan.upsample(g.to_rgb[1](g.blocks[1](g.blocks[0](
            progan.pixel_norm(torch.nn.functional.leaky_relu(g.input(progan.pixel_norm(z)).view(4, -1, 4, 4), 0.2))))))
            + 0.25 * g(z, level=2, alpha=1.0))
    with pytest.raises(ValueError, match="power of two"):
        d(torch.randn(2, 1, 12, 12))


def test_gradient_penalty_matches_finite_differences():
    torch.manual_seed(0)
    d = progan.ProGANDiscriminator([4, 4]).double()
    real, fake = torch.randn(4, 1, 8, 8, dtype=torch.float64), torch.randn(4, 1, 8, 8, dtype=torch.float64)
    torch.manual_seed(3)
    eps = torch.rand(4, 1, 1, 1).double()
    mixed = eps * real + (1 - eps) * fake
    h = 1e-6
    grad = torch.zeros_like(mixed)
    with torch.no_grad():
        for index in range(mixed.numel()):  # the whole input gradient, one coordinate at a time
            step = torch.zeros(mixed.numel(), dtype=torch.float64)
            step[index] = h
            step = step.view_as(mixed)
            grad.view(-1)[index] = (d(mixed + step).sum() - d(mixed - step).sum()) / (2 * h)
    expected = (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()
    torch.manual_seed(3)
    penalty = progan.gradient_penalty(d, real, fake)
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-6)
    penalty.backward()  # create_graph=True: the penalty reaches the critic's weights
    # (a bias shifts the critic's output but not its slope, so only the weights feel the penalty)
    used = [p for n, p in d.named_parameters() if n.endswith("weight") and not n.startswith("from_rgb.0")]  # 4x4 input unused
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in used)


def test_wgan_losses():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-1.0, 0.0])
    loss = progan.wgan_gp_discriminator_loss(real, fake, torch.tensor(0.5), gp_weight=10.0, drift=0.1)
    assert loss.item() == pytest.approx(-0.5 - 2.0 + 5.0 + 0.1 * 5.0)
    assert progan.wgan_generator_loss(fake).item() == pytest.approx(0.5)


def test_phases_and_alpha():
    assert progan.progan_phases(4) == [(0, False), (1, True), (1, False), (2, True), (2, False), (3, True), (3, False)]
    assert [progan.fade_alpha(n, 100) for n in (-5, 0, 25, 100, 300)] == [0.0, 0.0, 0.25, 1.0, 1.0]


def test_ema_update():
    a, b = torch.nn.Linear(3, 3), torch.nn.Linear(3, 3)
    expected = 0.99 * a.weight.detach() + 0.01 * b.weight.detach()
    progan.update_ema(a, b, 0.99)
    torch.testing.assert_close(a.weight.detach(), expected)


@pytest.mark.parametrize("clusters", [0, 3])
def test_training_grows_with_an_alpha_that_really_ramps_and_resumes(clusters, capsys):
    """The alpha the loop actually used climbs from 0 to nearly 1 in every fade phase and is 1 elsewhere;
    every phase leaves a grid; a second call loads the finished run."""
    cfg = tiny_settings(clusters=clusters)
    images = torch.rand(128, 1, 12, 12)  # padded by 2 per side to the 16x16 of channels [8, 8, 4]
    torch.manual_seed(0)
    g = progan.ProGANGenerator(cfg.nz, cfg.channels, clusters=clusters)
    d = progan.ProGANDiscriminator(cfg.channels, clusters=clusters)
    groups = torch.arange(128) % 3 if clusters else None
    average, history, samples = progan.train_progan(g, d, images, cfg, "cpu", live_every=0, quiet=True, groups=groups)
    phases = progan.progan_phases(3)
    steps = [math.ceil(cfg.phase_images / cfg.batch_size)] * (len(phases) - 1) + [cfg.final_images // cfg.batch_size]
    alpha, phase_of = history.series("alpha")[1], history.series("phase")[1]
    assert len(alpha) == sum(steps) and [phase_of.count(p) for p in range(len(phases))] == steps
    assert history.series("alpha")[0] == list(range(sum(steps)))  # one global step count across phases
    for phase, (level, fading) in enumerate(phases):
        used = [a for a, p in zip(alpha, phase_of) if p == phase]
        if fading:
            assert used[0] == 0.0 and used[-1] == pytest.approx(1 - cfg.batch_size / cfg.phase_images)
            assert all(b > a for a, b in zip(used, used[1:])), "alpha must rise at every step of a fade"
        else:
            assert set(used) == {1.0}
    assert len(samples.grids) == len(phases) and samples.grids[0].shape == (64, 1, 16, 16)
    assert len(history.series("phase_seconds")[1]) == len(phases) and history.seconds > 0
    assert all(math.isfinite(v) for v in history.series("loss_d")[1])
    changed = [not torch.equal(p, q) for p, q in zip(average.parameters(), g.parameters())]
    assert any(changed)  # the average lags the raw weights
    if clusters:
        torch.testing.assert_close(average.cluster_weights, torch.tensor([43.0, 43.0, 42.0]) / 128)
    out = progan.progan_samples(average, 10)
    assert out.shape == (10, 1, 12, 12) and 0 <= out.min() and out.max() <= 1  # the 2-pixel border cropped

    g2 = progan.ProGANGenerator(cfg.nz, cfg.channels, clusters=clusters)
    d2 = progan.ProGANDiscriminator(cfg.channels, clusters=clusters)
    capsys.readouterr()
    average2, history2, _ = progan.train_progan(g2, d2, images, cfg, "cpu", live_every=0, groups=groups)
    assert "Loaded the finished run" in capsys.readouterr().out
    for p, q in zip(average.parameters(), average2.parameters()):
        torch.testing.assert_close(p, q)
    assert history2.seconds == pytest.approx(history.seconds)  # the training time is kept with the checkpoint


def test_bench_reports_the_issue_metrics(monkeypatch, tiny_judge):
    from tutorial import gan
    from tutorial.bench import progan as bench

    monkeypatch.setitem(progan.PROGAN_SETTINGS, "smoke", {**progan.PROGAN_SETTINGS["smoke"], "train_limit": 128,
                                                          "n_judge": 200, "phase_images": 32,
                                                          "final_images": 32})
    monkeypatch.setitem(gan.GAN_SETTINGS, "smoke", {**gan.GAN_SETTINGS["smoke"], "train_limit": 128})
    metrics = bench.run("smoke", torch.device("cpu"), overrides={"clusters": 0})
    assert metrics["clusters"] == 0 and metrics["samples"] == 200
    for key in ("fid_mnist", "confident_fraction", "min_class_share", "fid_floor_train_vs_test"):
        assert isinstance(metrics[key], float) and metrics[key] >= 0
        assert isinstance(metrics["dcgan"][key if key != "fid_floor_train_vs_test" else "fid_mnist"], float)
    assert list(metrics["phase_seconds"]) == ["4", "8-fade", "8", "16-fade", "16", "32-fade", "32"]
    assert metrics["train_seconds"] > 0 and metrics["dcgan"]["train_seconds"] > 0
