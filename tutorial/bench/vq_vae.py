"""Benchmark of notebooks/07_vq_vae.ipynb: train the VQ-VAE (EMA codebook with dead-code restarts) from scratch
on MNIST, measure its reconstructions and its codebook on the whole test set, train the autoregressive prior
on the training set's codes, report its test likelihood, and score decoded prior samples with notebook 01's
judge at the profile's ``judge_temperature``, at temperature 1.0 and at each of ``temperatures`` (the
curve the notebook draws; one draw of samples per temperature), with the seconds of each stage. (The plain codebook is measured
by the notebook, beside the EMA one.)"""
from __future__ import annotations

import math
import time

import torch


def run(profile: str, device: torch.device, overrides: dict | None = None) -> dict:
    from ..cnn import mnist_tensors
    from ..metrics import judge_samples, mnist_judge
    from ..profiles import pick_settings
    from ..vq_vae import (VQ_VAE_SETTINGS, CodePrior, build_vq_vae, code_statistics, encode_images, prior_nll,
                          reconstruction_metrics, train_prior, train_vq_vae, vq_vae_samples)

    cfg = pick_settings(VQ_VAE_SETTINGS, profile, overrides)
    images, _ = mnist_tensors(train=True, limit=cfg.train_limit, fashion=cfg.fashion)
    test, _ = mnist_tensors(train=False, limit=cfg.test_limit, fashion=cfg.fashion)
    model = build_vq_vae(cfg, ema=True)
    vq_history = train_vq_vae(model, images, cfg, device, "mnist_vq_vae_ema", live_every=0, quiet=True)
    start = time.perf_counter()
    reconstruction = reconstruction_metrics(model, test)
    test_codes = encode_images(model, test)
    codebook = code_statistics(test_codes, cfg.codebook_size)
    train_codes = encode_images(model, images)
    encode_seconds = time.perf_counter() - start
    prior = CodePrior(cfg.codebook_size, test_codes[0].numel(), cfg.prior_width, cfg.prior_layers, cfg.prior_heads,
                      codebook=model.quantizer.codebook)
    prior_history = train_prior(prior, train_codes, cfg, device, "mnist_vq_vae_prior", live_every=0, quiet=True)
    nll = prior_nll(prior, test_codes)
    start = time.perf_counter()
    samples = vq_vae_samples(model, prior, cfg.n_judge, temperature=cfg.judge_temperature)
    sample_seconds = time.perf_counter() - start
    start = time.perf_counter()
    mnist_judge(device, profile)  # trained from scratch here too (the bench keeps no checkpoints)
    judge_seconds = time.perf_counter() - start
    judged = {cfg.judge_temperature: judge_samples(samples, device, profile=profile)}
    for t in sorted({*cfg.temperatures, 1.0} - set(judged)):  # one draw per temperature, the same seed for each
        judged[t] = judge_samples(vq_vae_samples(model, prior, cfg.n_judge, temperature=t), device, profile=profile)
    scores, plain = judged[cfg.judge_temperature], judged[1.0]
    temperature_curve = {f"{t:g}": {k: round(judged[t][k], 4) for k in ("fid_mnist", "confident_fraction",
                                                                          "min_class_share")}
                         for t in cfg.temperatures}
    per_image = test_codes[0].numel()
    return {
        "recon_nmse_test": round(reconstruction["nmse"], 4), "recon_mse_test": round(reconstruction["mse"], 5),
        "psnr_test": round(reconstruction["psnr"], 2), "code_usage": round(codebook["usage"], 4),
        "perplexity": round(codebook["perplexity"], 2), "codebook_size": cfg.codebook_size,
        "restarts": int(model.quantizer.restarts), "test_images": len(test),
        "prior_nll_nats_per_code": round(nll, 4), "prior_nll_bits_per_image": round(nll * per_image / math.log(2), 2),
        "codes_per_image": per_image, "plain_code_bits_per_image": round(per_image * math.log2(cfg.codebook_size), 2),
        "fid_mnist": round(scores["fid_mnist"], 3), "confident_fraction": round(scores["confident_fraction"], 4),
        "min_class_share": round(scores["min_class_share"], 4), "samples": scores["n"],
        "temperature": cfg.judge_temperature, "fid_mnist_t1": round(plain["fid_mnist"], 3),
        "confident_fraction_t1": round(plain["confident_fraction"], 4),
        "min_class_share_t1": round(plain["min_class_share"], 4), "temperature_curve": temperature_curve,
        "vq_train_seconds": round(vq_history.seconds, 2), "encode_seconds": round(encode_seconds, 2),
        "prior_train_seconds": round(prior_history.seconds, 2), "sample_seconds": round(sample_seconds, 2),
        "judge_train_seconds": round(judge_seconds, 2),
        "vq_parameters": sum(p.numel() for p in model.parameters()),
        "prior_parameters": sum(p.numel() for p in prior.parameters()),
    }
