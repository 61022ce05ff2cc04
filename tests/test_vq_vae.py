"""Notebook 07's exported lesson code (tutorial/vq_vae.py) and its benchmark."""
import math

import torch
import torch.nn.functional as F

from tutorial import vq_vae
from tutorial.profiles import pick_settings


def test_settings_profiles_share_keys():
    keys = [set(values) for values in vq_vae.VQ_VAE_SETTINGS.values()]
    assert set(vq_vae.VQ_VAE_SETTINGS) == {"smoke", "laptop", "full"} and all(k == keys[0] for k in keys)


def test_nearest_codes_matches_brute_force():
    torch.manual_seed(0)
    vectors, codebook = torch.randn(300, 5), torch.randn(40, 5)
    assert torch.equal(vq_vae.nearest_codes(vectors, codebook), torch.cdist(vectors, codebook).argmin(1))


def test_straight_through_passes_the_value_of_z_q_and_the_gradient_to_z_e():
    z_e = torch.randn(4, 3, requires_grad=True)
    z_q = torch.randn(4, 3)
    out = vq_vae.straight_through(z_e, z_q)
    torch.testing.assert_close(out, z_q)  # z_e + (z_q - z_e) equals z_q up to rounding
    weights = torch.randn(4, 3)
    (out * weights).sum().backward()
    assert torch.equal(z_e.grad, weights)


def test_vq_losses_reach_the_right_parameters():
    z_e = torch.randn(5, 2, requires_grad=True)
    e = torch.randn(5, 2, requires_grad=True)
    codebook, commitment = vq_vae.vq_losses(z_e, e, beta=0.25)
    assert torch.isclose(commitment, 0.25 * codebook)   # the same distance, weighted
    codebook.backward(retain_graph=True)
    assert z_e.grad is None and e.grad is not None       # the codebook loss moves only the codes
    e.grad = None
    commitment.backward()
    assert e.grad is None and z_e.grad is not None       # the commitment loss moves only the encoder


def test_ema_codebook_follows_the_mean_and_restarts_dead_codes():
    quantizer = vq_vae.VectorQuantizer(3, 2, ema=True, decay=0.8, restart_below=0.5)
    batch = torch.tensor([[2.0, 0.0], [2.2, 0.2], [-1.0, 5.0]])
    plain = vq_vae.VectorQuantizer(2, 2, ema=True, decay=0.8, restart_below=0.0)  # no restarts: a running mean
    with torch.no_grad():
        quantizer.codebook.copy_(torch.tensor([[1.8, 0.1], [-1.5, 4.0], [100.0, 100.0]]))
        quantizer.sums.copy_(quantizer.codebook)
        plain.codebook.copy_(quantizer.codebook[:2])
        plain.sums.copy_(plain.codebook)
    for _ in range(100):
        for q in (quantizer, plain):
            q.ema_update(batch, vq_vae.nearest_codes(batch, q.codebook))
    torch.testing.assert_close(plain.codebook[0], batch[:2].mean(0), atol=1e-3, rtol=0)
    assert plain.restarts == 0
    # with restarts the dead code is moved onto the data, and then every batch vector has its own code
    assert quantizer.restarts > 0 and torch.cdist(batch, quantizer.codebook).amin(1).max() < 1e-3


def test_quantizer_forward_shapes_losses_and_modes():
    torch.manual_seed(0)
    z_e = torch.randn(2, 4, 3, 3, requires_grad=True)
    for ema in (True, False):
        quantizer = vq_vae.VectorQuantizer(8, 4, ema=ema)
        z_q, codes, losses = quantizer(z_e)
        assert z_q.shape == z_e.shape and codes.shape == (2, 3, 3)
        torch.testing.assert_close(z_q, quantizer.lookup(codes))
        assert (losses["codebook"] == 0) == ema and losses["commitment"] > 0
    plain = vq_vae.VectorQuantizer(8, 4, ema=False)
    plain.eval()
    before = plain.codebook.detach().clone()
    plain(z_e)
    assert torch.equal(plain.codebook, before)


def test_code_statistics_usage_and_perplexity():
    uniform = torch.arange(16).repeat(10)
    stats = vq_vae.code_statistics(uniform, 32)
    assert stats["usage"] == 0.5 and math.isclose(stats["perplexity"], 16, rel_tol=1e-9)
    assert vq_vae.code_statistics(torch.zeros(5, dtype=torch.long), 4) == {"usage": 0.25, "perplexity": 1.0}


def test_causal_mask_and_the_prior_sees_no_future():
    assert torch.equal(vq_vae.causal_mask(3), torch.tensor([[False, True, True], [False, False, True],
                                                             [False, False, False]]))
    torch.manual_seed(0)
    prior = vq_vae.CodePrior(10, length=16, width=16, layers=2, heads=2)
    codes = torch.randint(10, (3, 16))
    changed = codes.clone()
    changed[:, 7] = (changed[:, 7] + 1) % 10
    with torch.no_grad():
        difference = (prior(codes) - prior(changed)).abs().amax((0, 2))
    assert difference[:8].max() == 0 and difference[8:].min() > 0
    assert vq_vae.sample_codes(prior, 5, seed=1).shape == (5, 16)
    assert torch.equal(vq_vae.sample_codes(prior, 5, seed=1), vq_vae.sample_codes(prior, 5, seed=1))
    nll = vq_vae.prior_nll(prior, codes)
    logits = prior(codes)
    assert math.isclose(nll, F.cross_entropy(logits.transpose(1, 2), codes).item(), rel_tol=1e-5)


def test_training_reduces_the_error_uses_codes_and_reloads():
    torch.manual_seed(0)
    images = torch.zeros(256, 1, 28, 28)
    for i in range(256):  # a bar at one of eight heights: a toy collection with eight kinds of images
        images[i, :, 3 * (i % 8) + 2: 3 * (i % 8) + 5, 4:24] = 1.0
    cfg = pick_settings(vq_vae.VQ_VAE_SETTINGS, "smoke", {"epochs": 6, "batch_size": 32, "live_every": 0})
    model = vq_vae.build_vq_vae(cfg)
    before = vq_vae.reconstruction_metrics(model, images)["mse"]
    history = vq_vae.train_vq_vae(model, images, cfg, "cpu", "bars", usage_images=images[:64], quiet=True)
    after = vq_vae.reconstruction_metrics(model, images)
    assert after["mse"] < 0.7 * before and after["nmse"] < 1 and after["psnr"] > 10 * math.log10(1 / before)
    assert len(history.series("usage")[1]) == 6 * 256 // 32 // cfg.usage_every
    reloaded = vq_vae.build_vq_vae(cfg)
    vq_vae.train_vq_vae(reloaded, images, cfg, "cpu", "bars", quiet=True)
    torch.testing.assert_close(reloaded.state_dict(), model.state_dict())
    codes = vq_vae.encode_images(model, images)
    prior = vq_vae.CodePrior(cfg.codebook_size, 49, 16, 1, 2, codebook=model.quantizer.codebook)
    untrained = vq_vae.prior_nll(prior, codes)
    prior_history = vq_vae.train_prior(prior, codes, pick_settings(vq_vae.VQ_VAE_SETTINGS, "smoke",
                                                                   {"prior_epochs": 3, "prior_batch": 32, "prior_lr": 3e-3}),
                                       "cpu", "bars_prior", test_codes=codes, quiet=True)
    assert vq_vae.prior_nll(prior, codes) < untrained and len(prior_history.series("test_nll")[1]) == 3
    samples = vq_vae.vq_vae_samples(model, prior, 4)
    assert samples.shape == (4, 1, 28, 28) and samples.min() >= 0 and samples.max() <= 1


def test_bench_returns_the_issue_metrics(monkeypatch, tiny_judge):
    from tutorial.bench import vq_vae as bench

    metrics = bench.run("smoke", torch.device("cpu"))
    for key in ("recon_nmse_test", "psnr_test", "code_usage", "perplexity", "prior_nll_bits_per_image", "fid_mnist",
                "confident_fraction", "min_class_share", "confident_fraction_t1", "vq_train_seconds", "prior_train_seconds", "sample_seconds"):
        assert isinstance(metrics[key], float), key
    assert 0 < metrics["code_usage"] <= 1 and metrics["samples"] == vq_vae.VQ_VAE_SETTINGS["smoke"]["n_judge"]
    curve = metrics["temperature_curve"]  # one row of judge figures per temperature of the profile
    assert list(curve) == [f"{t:g}" for t in vq_vae.VQ_VAE_SETTINGS["smoke"]["temperatures"]]
    assert all(0 <= row["confident_fraction"] <= 1 and row["fid_mnist"] >= 0 for row in curve.values())
    assert curve["1"]["confident_fraction"] == round(metrics["confident_fraction_t1"], 4)  # one draw at T = 1, not two
    assert abs(metrics["prior_nll_bits_per_image"] - metrics["prior_nll_nats_per_code"] * 49 / math.log(2)) < 0.01


def test_prior_embeddings_start_from_the_codebook_and_know_row_and_column():
    torch.manual_seed(0)
    codebook = torch.randn(6, 3)
    codebook[4] = codebook[1]  # two codes with the same vector start with the same embedding
    prior = vq_vae.CodePrior(6, 9, 8, 1, 2, codebook=codebook)
    torch.testing.assert_close(prior.embedding.weight[4], prior.embedding.weight[1])
    assert not torch.allclose(prior.embedding.weight[0], prior.embedding.weight[1])
    assert prior.row.shape == prior.column.shape == (3, 8)
    with torch.no_grad():  # position 4 of a 3x3 grid is row 1, column 1: moving that row's embedding moves it
        codes = torch.randint(6, (2, 9))
        before = prior(codes)
        prior.row[1] += 1.0
        changed = (prior(codes) - before).abs().amax((0, 2))
    assert changed[:3].max() == 0 and changed[3:6].min() > 0


def test_the_kv_cache_gives_the_full_pass_logits_and_the_same_samples():
    torch.manual_seed(0)
    prior = vq_vae.CodePrior(16, 16, width=32, layers=2, heads=4).eval()
    with torch.no_grad():
        for p in prior.parameters():
            p.add_(0.05 * torch.randn_like(p))  # the zero-initialised position table too: every weight matters
        codes = torch.randint(16, (6, 16))
        cache = []
        stepwise = torch.stack([prior.next_logits(codes[:, i - 1], i, cache) for i in range(16)], 1)
        assert torch.allclose(stepwise, prior(codes), atol=1e-5)
        assert len(cache) == 2 and cache[0][0].shape == (6, 4, 16, 8)  # [N, heads, positions, width / heads]
    cached = vq_vae.sample_codes(prior, 40, temperature=1.0, seed=3, batch_size=16)
    plain = vq_vae.sample_codes(prior, 40, temperature=1.0, seed=3, batch_size=16, cached=False)
    assert cached.shape == (40, 16) and torch.equal(cached, plain)
