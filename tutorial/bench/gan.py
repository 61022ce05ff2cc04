"""Benchmark of notebooks/02_gan.ipynb: train the DCGAN from scratch on MNIST, draw samples and score them with
notebook 01's judge (Fréchet distance on the judge's features against the test set, confidence, coverage)."""
from __future__ import annotations

import time

import torch


def run(profile: str, device: torch.device, overrides: dict | None = None) -> dict:
    from ..cnn import mnist_tensors
    from ..gan import (GAN_SETTINGS, DCGANDiscriminator, DCGANGenerator, cluster_images, cluster_purity,
                       dcgan_init, sample_images, train_dcgan)
    from ..metrics import judge_samples, mnist_judge
    from ..profiles import pick_settings

    cfg = pick_settings(GAN_SETTINGS, profile, overrides)
    cfg["fashion"] = False  # the judge knows digits only
    images, labels = mnist_tensors(train=True, limit=cfg.train_limit)
    generator = DCGANGenerator(cfg.nz, cfg.g_width, clusters=cfg.clusters).apply(dcgan_init)
    discriminator = DCGANDiscriminator(cfg.d_width, clusters=cfg.clusters).apply(dcgan_init)
    start = time.perf_counter()  # training time includes the k-means clustering
    groups = cluster_images(images, cfg.clusters) if cfg.clusters else None
    cluster_seconds = time.perf_counter() - start
    history, _ = train_dcgan(generator, discriminator, images, cfg, device, live_every=0, quiet=True, groups=groups)
    train_seconds = time.perf_counter() - start
    purity = None if groups is None else round(cluster_purity(groups, labels), 4)

    start = time.perf_counter()
    mnist_judge(device, profile)  # trained from scratch here too (the bench keeps no checkpoints)
    judge_seconds = time.perf_counter() - start
    start = time.perf_counter()
    scores = judge_samples(sample_images(generator, cfg.n_judge), device, profile=profile)
    floor = judge_samples(images[:cfg.n_judge], device, profile=profile)["fid_mnist"]  # real train vs test
    return {
        "fid_mnist": round(scores["fid_mnist"], 3),
        "confident_fraction": round(scores["confident_fraction"], 4),
        "min_class_share": round(scores["min_class_share"], 4),
        "class_shares": [round(s, 4) for s in scores["class_shares"]],
        "mean_confidence": round(scores["mean_confidence"], 4),
        "fid_floor_train_vs_test": round(floor, 3),
        "fid_over_floor": round(scores["fid_mnist"] / max(floor, 1e-12), 2),
        "samples": scores["n"], "epochs": cfg.epochs, "batch_size": cfg.batch_size, "nz": cfg.nz,
        "g_width": cfg.g_width, "d_width": cfg.d_width, "clusters": cfg.clusters, "cluster_purity": purity,
        "cluster_seconds": round(cluster_seconds, 2), "image_size": 28, "train_images": len(images),
        "generator_parameters": sum(p.numel() for p in generator.parameters()),
        "final_loss_d": round(history.last("loss_d"), 4), "final_loss_g": round(history.last("loss_g"), 4),
        "train_seconds": round(train_seconds, 2), "judge_train_seconds": round(judge_seconds, 2),
        "eval_seconds": round(time.perf_counter() - start, 2),
    }
