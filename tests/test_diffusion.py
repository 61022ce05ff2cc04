"""Notebook 11's exported lesson code (tutorial/diffusion.py) and its benchmark."""
import math

import pytest
import torch

from tutorial import diffusion
from tutorial.profiles import PROFILES, pick_settings


def test_settings_profiles_share_keys_and_follow_the_papers():
    for profile in PROFILES:
        cfg = pick_settings(diffusion.DIFFUSION_SETTINGS, profile)  # raises if the keys differ
        assert cfg.p_uncond == 0.1 and cfg.timesteps == (100 if profile == "smoke" else 1000)  # Ho and Salimans; Ho et al.'s T
        assert 0.0 in cfg.guidance_curve and cfg.sample_steps <= cfg.timesteps
        assert 28 % cfg.patch == 0


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_schedules_fall_from_one_to_almost_nothing(name):
    s = diffusion.make_schedule(name, 1000)
    bars = s.alpha_bars.double()
    assert s.T == 1000 and bool((bars[1:] < bars[:-1]).all())
    assert 0.99 < bars[0] < 1 and bars[-1] < 1e-4
    torch.testing.assert_close(s.alphas * s.betas + s.betas ** 2, s.betas, atol=1e-7, rtol=0)  # alpha = 1 - beta
    torch.testing.assert_close(s.alpha_bars_prev[1:], s.alpha_bars[:-1])
    assert s.alpha_bars_prev[0] == 1
    if name == "linear":
        assert math.isclose(s.betas[0].item(), 1e-4, rel_tol=1e-5) and math.isclose(s.betas[-1].item(), 0.02, rel_tol=1e-5)
    else:  # Nichol and Dhariwal's alpha_bar(t) = f(t) / f(0), away from the clipped end
        t = torch.arange(1, 901, dtype=torch.float64)
        f = lambda u: torch.cos((u / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2
        torch.testing.assert_close(bars[:900], f(t) / f(torch.tensor(0.0, dtype=torch.float64)), atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="unknown schedule"):
        diffusion.make_schedule("quadratic")
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        diffusion.NoiseSchedule(torch.tensor([0.1, 1.0]))


def test_q_sample_is_the_chain_run_step_by_step():
    s = diffusion.linear_schedule(200)
    torch.manual_seed(0)
    x0 = torch.rand(1, 1, 4, 4) * 2 - 1
    x = x0.expand(20000, -1, -1, -1).clone()
    for t in range(1, s.T + 1):
        x = (1 - s.betas[t - 1]).sqrt() * x + s.betas[t - 1].sqrt() * torch.randn_like(x)
    bar = s.alpha_bars[-1]
    assert (x.mean(0) - bar.sqrt() * x0[0]).abs().max() < 0.04
    assert (x.var(0) - (1 - bar)).abs().max() < 0.06
    jumped = diffusion.q_sample(x0.expand(20000, -1, -1, -1), torch.full((20000,), s.T), torch.randn(20000, 1, 4, 4), s)
    assert (jumped.mean(0) - x.mean(0)).abs().max() < 0.05 and (jumped.var(0) - x.var(0)).abs().max() < 0.08


def test_the_posterior_is_gaussian_conditioning_and_ddim_with_eta_1_is_ddpm():
    s = diffusion.linear_schedule(1000)
    torch.manual_seed(0)
    x0, xt, eps, z = torch.randn(4, 3, 1, 5, 5)
    for t in (2, 100, 1000):
        ts = torch.full((3,), t)
        mean, var = diffusion.q_posterior(x0, xt, ts, s)
        a, v = s.alphas[t - 1].double(), 1 - s.alpha_bars[t - 2].double()
        m = s.alpha_bars[t - 2].double().sqrt() * x0.double()
        cov, var_b = a.sqrt() * v, a * v + 1 - a
        torch.testing.assert_close(mean.double(), m + cov / var_b * (xt.double() - a.sqrt() * m), atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(var.double().flatten(), (v - cov ** 2 / var_b).expand(3), atol=1e-7, rtol=1e-4)
        m2, v2 = diffusion.q_posterior(diffusion.predict_x0(xt, eps, ts, s), xt, ts, s)
        step = diffusion.ddim_step(xt, eps, s.alpha_bars[t - 1], s.alpha_bars[t - 2], eta=1.0, noise=z)
        torch.testing.assert_close(step, m2 + v2.sqrt() * z, atol=1e-4, rtol=1e-4)


class Oracle(torch.nn.Module):
    """A noise predictor that knows the clean image: eps = (x_t - sqrt(alpha_bar_t) x0) / sqrt(1 - alpha_bar_t)."""

    classes = 10

    def __init__(self, x0, schedule):
        super().__init__()
        self.x0, self.schedule = x0, schedule
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # sample_diffusion reads the device from a parameter

    def forward(self, x, t, y=None):
        bar = self.schedule.at(self.schedule.alpha_bars, t, x)
        return (x - diffusion.factor(bar.sqrt(), x) * self.x0[: len(x)]) / diffusion.factor((1 - bar).sqrt(), x)


@pytest.mark.parametrize("steps", [1, 7, 50])
def test_ddim_with_a_perfect_noise_predictor_lands_on_the_image(steps):
    s = diffusion.linear_schedule(1000)
    x0 = torch.rand(5, 1, 28, 28) * 2 - 1
    out = diffusion.sample_diffusion(Oracle(x0, s), s, 5, steps=steps, eta=0.0, seed=3)
    torch.testing.assert_close(out, x0, atol=1e-4, rtol=1e-4)


def test_sampling_steps_run_from_T_to_zero():
    assert diffusion.sampling_steps(1000, 4) == [(1000, 750), (750, 500), (500, 250), (250, 0)]
    plan = diffusion.sampling_steps(1000, 1000)
    assert plan[0] == (1000, 999) and plan[-1] == (1, 0) and len(plan) == 1000
    with pytest.raises(ValueError):
        diffusion.sampling_steps(1000, 0)


def test_unet_keeps_the_shape_starts_at_zero_and_reads_time_and_label():
    for patch, channels in ((2, [8, 16]), (1, [8, 16, 16])):
        torch.manual_seed(0)
        net = diffusion.DiffusionUNet(channels, 16, patch)
        x, t = torch.randn(3, 1, 28, 28), torch.tensor([1, 500, 1000])
        assert net(x, t, torch.tensor([0, 5, 10])).abs().max() == 0  # the head starts at zero
        torch.nn.init.normal_(net.head[-1].weight, std=0.1)
        out = net(x, t, torch.tensor([0, 5, 10]))
        assert out.shape == x.shape
        assert not torch.allclose(out, net(x, t.flip(0), torch.tensor([0, 5, 10])))
        assert not torch.allclose(out, net(x, t, torch.tensor([1, 5, 10])))
        torch.testing.assert_close(net(x, t, None), net(x, t, torch.full((3,), 10)))  # None is "no label"
        out.sum().backward()
        assert all(p.grad is not None for p in net.parameters())


def test_guidance_combines_one_batch_as_two_calls():
    torch.manual_seed(0)
    net = diffusion.DiffusionUNet([8, 8], 16, 2).eval()
    torch.nn.init.normal_(net.head[-1].weight, std=0.1)
    x, y = torch.randn(4, 1, 28, 28), torch.tensor([1, 2, 3, 4])
    with torch.no_grad():
        cond, uncond = net(x, torch.full((4,), 300), y), net(x, torch.full((4,), 300), None)
        torch.testing.assert_close(diffusion.predict_eps(net, x, 300, y, 2.0), 3 * cond - 2 * uncond, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(diffusion.predict_eps(net, x, 300, y, 0.0), cond)
        torch.testing.assert_close(diffusion.predict_eps(net, x, 300, None, 5.0), uncond)


def test_label_dropout_replaces_labels_by_no_label():
    seen = []

    class Spy(torch.nn.Module):
        classes = 10

        def forward(self, x, t, y):
            seen.append(y.clone())
            return torch.zeros_like(x)

    s = diffusion.linear_schedule(1000)
    torch.manual_seed(0)
    diffusion.diffusion_loss(Spy(), torch.zeros(4000, 1, 2, 2), s, torch.zeros(4000, dtype=torch.long), p_uncond=0.1)
    dropped = (seen[0] == 10).double().mean().item()
    assert 0.08 < dropped < 0.12 and set(seen[0].tolist()) == {0, 10}


def test_training_lowers_the_loss_resumes_and_samples_in_range():
    cfg = pick_settings(diffusion.DIFFUSION_SETTINGS, "smoke", {"epochs": 2, "epoch_images": 256, "batch_size": 32})
    torch.manual_seed(0)
    images = torch.rand(60, 1, 28, 28) * 0.2
    labels = torch.arange(60) % 10
    model = diffusion.DiffusionUNet(cfg.channels, cfg.emb_dim, cfg.patch)
    average, history = diffusion.train_diffusion(model, images, labels, cfg, torch.device("cpu"), name="t", live_every=0, quiet=True)
    losses = history.series("loss")[1]
    assert len(losses) == 16 and sum(losses[-4:]) / 4 < sum(losses[:2]) / 2
    torch.testing.assert_close(average.label_weights, torch.full((10,), 0.1))
    again = diffusion.DiffusionUNet(cfg.channels, cfg.emb_dim, cfg.patch)
    loaded, history2 = diffusion.train_diffusion(again, images, labels, cfg, torch.device("cpu"), name="t", live_every=0, quiet=True)
    assert history2.records == history.records
    for a, b in zip(loaded.state_dict().values(), average.state_dict().values()):
        torch.testing.assert_close(a, b)
    schedule = diffusion.make_schedule(cfg.schedule, cfg.timesteps)
    x = diffusion.diffusion_samples(average, schedule, 6, 3, guidance=1.0)
    assert x.shape == (6, 1, 28, 28) and 0 <= x.min() and x.max() <= 1
    torch.testing.assert_close(x, diffusion.diffusion_samples(average, schedule, 6, 3, guidance=1.0))  # seeded


def test_bench_reports_the_issue_metrics(monkeypatch, tiny_judge):
    from tutorial.bench import diffusion as bench

    monkeypatch.setitem(diffusion.DIFFUSION_SETTINGS, "smoke", {
        **diffusion.DIFFUSION_SETTINGS["smoke"], "train_limit": 128, "epoch_images": 64, "n_judge": 60, "n_curve": 40,
        "steps_curve": [2, 4], "guidance_curve": [0.0, 2.0], "sample_eta": 0.0})
    metrics = bench.run("smoke", torch.device("cpu"))
    # the rows' sampler is the profile's, not the last one of the steps curve (which ends at eta = 1)
    assert metrics["sample_eta"] == 0.0 and metrics["sampler"].startswith("DDIM, eta = 0,")
    for part in ("unguided", "conditional", "guided", "floor"):
        assert set(bench.JUDGED) <= set(metrics[part])
    assert metrics["unguided"]["ms_per_sample"] > 0 and metrics["guided"]["ms_per_sample"] > 0
    assert list(metrics["steps_curve"]) == ["eta=0,steps=2", "eta=0,steps=4", "eta=1,steps=2", "eta=1,steps=4"]
    assert list(metrics["guidance_curve"]) == ["0", "2"] and metrics["guidance_curve"]["2"]["spread"] > 0
    assert metrics["samples"] == 60 and metrics["train_seconds"] > 0
