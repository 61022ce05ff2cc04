"""Notebook 03's exported lesson code (tutorial/vae.py) and its benchmark."""
import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from tutorial import vae
from tutorial.profiles import PROFILES, pick_settings


def test_settings_profiles_share_keys():
    for profile in PROFILES:
        pick_settings(vae.VAE_SETTINGS, profile)  # raises if the keys differ
    assert vae.VAE_SETTINGS["full"]["test_limit"] is None and vae.VAE_SETTINGS["laptop"]["test_limit"] is None


def test_gaussian_kl_closed_form_matches_torch_and_monte_carlo():
    torch.manual_seed(0)
    mu, logvar = torch.randn(4, 3), torch.randn(4, 3)
    q = Normal(mu, torch.exp(0.5 * logvar))
    torch.testing.assert_close(vae.gaussian_kl(mu, logvar), kl_divergence(q, Normal(0.0, 1.0)).sum(-1))
    z = q.sample((100_000,))
    mc = (q.log_prob(z) - Normal(0.0, 1.0).log_prob(z)).sum(-1).mean(0)
    torch.testing.assert_close(mc, vae.gaussian_kl(mu, logvar), atol=0.06, rtol=0.03)
    assert vae.gaussian_kl(torch.zeros(2, 5), torch.zeros(2, 5)).abs().max() == 0  # q = p


def test_reparameterize_moments_and_gradient():
    torch.manual_seed(0)
    mu = torch.tensor([1.5], requires_grad=True)
    logvar = torch.tensor([2 * math.log(0.5)], requires_grad=True)
    z = vae.reparameterize(mu.expand(200_000), logvar.expand(200_000))
    assert abs(z.mean().item() - 1.5) < 0.01 and abs(z.std().item() - 0.5) < 0.01
    g_mu, g_logvar = torch.autograd.grad(z.square().mean(), [mu, logvar])  # E z^2 = mu^2 + sigma^2
    assert g_mu.item() == pytest.approx(3.0, abs=0.02)
    assert g_logvar.item() == pytest.approx(0.25, abs=0.01)  # d sigma^2 / d logvar = sigma^2
    eps = torch.randn(3, 2)
    torch.testing.assert_close(vae.reparameterize(torch.ones(3, 2), torch.zeros(3, 2), eps), 1 + eps)


def test_bernoulli_log_likelihood_known_value():
    x = torch.tensor([[[[1.0, 0.0]]]])
    assert vae.bernoulli_log_likelihood(torch.zeros(1, 1, 1, 2), x).item() == pytest.approx(2 * math.log(0.5))
    assert math.isfinite(vae.bernoulli_log_likelihood(torch.full((1, 1, 1, 2), -1e4), x).item())


def test_binarization_is_fixed_by_seed_and_dynamic_otherwise():
    a, b = vae.binarized_mnist_test(limit=50, seed=0), vae.binarized_mnist_test(limit=50, seed=0)
    assert torch.equal(a, b) and set(a.unique().tolist()) <= {0.0, 1.0}
    assert not torch.equal(a, vae.binarized_mnist_test(limit=50, seed=1))
    grey = torch.full((20000,), 0.3)
    assert abs(vae.binarize(grey).mean().item() - 0.3) < 0.02


def test_model_shapes_and_elbo_decomposition():
    torch.manual_seed(0)
    model = vae.ConvVAE(latent_dim=4, width=4, hidden=16)
    x = torch.bernoulli(torch.full((3, 1, 28, 28), 0.2))
    logits, mu, logvar = model(x)
    assert logits.shape == x.shape and mu.shape == logvar.shape == (3, 4)
    value, rec, kl = vae.elbo(model, x)
    assert value.shape == (3,) and (kl >= 0).all()
    torch.testing.assert_close(value, rec - kl)
    assert vae.vae_samples(model, 5).shape == (5, 1, 28, 28)


def test_iwae_k1_equals_elbo_in_expectation_and_grows_with_k():
    torch.manual_seed(0)
    model = vae.ConvVAE(latent_dim=2, width=4, hidden=16).eval()
    x = torch.bernoulli(torch.full((4, 1, 28, 28), 0.3))
    repeats = 300  # many draws of z per image, in one batch
    xs = x.repeat(repeats, 1, 1, 1)
    with torch.no_grad():
        elbo_mean = vae.elbo(model, xs)[0].view(repeats, 4).mean(0)
    iwae1 = vae.iwae_log_likelihood(model, xs, 1, "cpu").view(repeats, 4).mean(0)
    torch.testing.assert_close(iwae1, elbo_mean, atol=0.5, rtol=0.01)
    iwae64 = vae.iwae_log_likelihood(model, x, 64, "cpu")
    assert (iwae64 > elbo_mean).all()  # a tighter bound


def test_training_reduces_neg_elbo_and_reloads(checkpoints):
    torch.manual_seed(0)
    images = torch.rand(256, 1, 28, 28) * torch.linspace(0, 1, 28).view(1, 1, 1, 28)  # a horizontal ramp
    cfg = pick_settings(vae.VAE_SETTINGS, "smoke")
    cfg.update({"batch_size": 32, "live_every": 0, "latent_dim": 4, "width": 4, "hidden": 16})
    model = vae.ConvVAE(4, 4, 16)
    test = vae.binarize(images[:64], torch.Generator().manual_seed(0))
    before = vae.evaluate_elbo(model, test, "cpu")["neg_elbo"]
    history = vae.train_vae(model, images, cfg, "cpu", test_images=test, epochs=2, quiet=True)
    after = vae.evaluate_elbo(model, test, "cpu")["neg_elbo"]
    assert after < before - 20
    assert len(history.series("test_neg_elbo")[1]) == 2
    reloaded = vae.ConvVAE(4, 4, 16)
    vae.train_vae(reloaded, images, cfg, "cpu", epochs=2, quiet=True)  # loads the checkpoint
    torch.testing.assert_close(reloaded.state_dict(), model.state_dict())


def test_bench_returns_the_issue_metrics(monkeypatch, tiny_judge):
    from tutorial.bench import vae as bench

    monkeypatch.setitem(vae.VAE_SETTINGS, "smoke", {**vae.VAE_SETTINGS["smoke"], "train_limit": 128,
                                                    "test_limit": 100, "n_judge": 200, "iwae_limit": 20})
    metrics = bench.run("smoke", torch.device("cpu"))
    for key in ("test_neg_elbo_nats", "test_nll_iwae_nats", "fid_mnist"):
        assert isinstance(metrics[key], float) and metrics[key] > 0
    assert metrics["iwae_k"] == vae.VAE_SETTINGS["smoke"]["iwae_k"] and metrics["test_images"] == 100
    assert metrics["test_nll_iwae_nats"] <= metrics["test_neg_elbo_nats"] + 2  # IWAE is the tighter bound
