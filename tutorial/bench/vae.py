"""Benchmark of notebooks/03_vae.ipynb: train the convolutional VAE from scratch on dynamically binarised MNIST;
report the test -ELBO and the IWAE estimate of the test NLL on the fixed-seed binarised test set, and score
decoder-mean samples with notebook 01's judge."""
from __future__ import annotations

import time

import torch


def run(profile: str, device: torch.device, overrides: dict | None = None) -> dict:
    from ..cnn import mnist_tensors
    from ..metrics import judge_samples, mnist_judge
    from ..profiles import pick_settings
    from ..vae import (VAE_SETTINGS, ConvVAE, binarized_mnist_test, evaluate_elbo, iwae_log_likelihood,
                       train_vae, vae_samples)

    cfg = pick_settings(VAE_SETTINGS, profile, overrides)
    images, _ = mnist_tensors(train=True, limit=cfg.train_limit)
    test = binarized_mnist_test(cfg.test_limit, cfg.binarize_seed)
    model = ConvVAE(cfg.latent_dim, cfg.width, cfg.hidden)
    start = time.perf_counter()
    train_vae(model, images, cfg, device, live_every=0, quiet=True)
    train_seconds = time.perf_counter() - start

    start = time.perf_counter()
    torch.manual_seed(0)  # the one-sample ELBO and the IWAE estimate draw z: fix them
    result = evaluate_elbo(model, test, device)
    iwae_images = test[:cfg.iwae_limit]
    nll = -iwae_log_likelihood(model, iwae_images, cfg.iwae_k, device).double().mean().item()
    eval_seconds = time.perf_counter() - start

    start = time.perf_counter()
    mnist_judge(device, profile)  # trained from scratch here too (the bench keeps no checkpoints)
    judge_seconds = time.perf_counter() - start
    scores = judge_samples(vae_samples(model, cfg.n_judge), device, profile=profile)
    return {
        "test_neg_elbo_nats": round(result["neg_elbo"], 3),
        "test_reconstruction_nats": round(-result["reconstruction"], 3),
        "test_kl_nats": round(result["kl"], 3),
        "test_nll_iwae_nats": round(nll, 3), "iwae_k": cfg.iwae_k, "iwae_test_images": len(iwae_images),
        "test_images": len(test), "binarize_seed": cfg.binarize_seed, "binarization": "dynamic (train), fixed seed (test)",
        "fid_mnist": round(scores["fid_mnist"], 3), "confident_fraction": round(scores["confident_fraction"], 4),
        "min_class_share": round(scores["min_class_share"], 4), "samples": scores["n"],
        "epochs": cfg.epochs, "batch_size": cfg.batch_size, "latent_dim": cfg.latent_dim, "width": cfg.width,
        "hidden": cfg.hidden, "image_size": 28, "train_images": len(images),
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_seconds": round(train_seconds, 2), "eval_seconds": round(eval_seconds, 2),
        "judge_train_seconds": round(judge_seconds, 2),
    }
