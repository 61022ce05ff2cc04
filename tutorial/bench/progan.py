"""Benchmark of notebooks/08_progan.ipynb: train the ProGAN from scratch by progressive growing on MNIST (padded
to 32x32), judge samples of its weight average (cropped to 28x28) with notebook 01's judge, and train notebook
02's DCGAN from scratch in the same run, so that quality and training time sit side by side."""
from __future__ import annotations

import time

import torch


def scores(images, device, profile) -> dict:
    """The judge's three figures and the class shares, rounded for the JSON (shared with bench stylegan)."""
    from ..metrics import judge_samples

    s = judge_samples(images, device, profile=profile)
    return {"fid_mnist": round(s["fid_mnist"], 3), "confident_fraction": round(s["confident_fraction"], 4),
            "min_class_share": round(s["min_class_share"], 4), "class_shares": [round(x, 4) for x in s["class_shares"]]}


def train_grown(generator, discriminator, images, cfg, device, name=None) -> tuple:
    """k-means (if ``cfg.clusters``) and notebook 08's ``train_progan`` from scratch, timed together; returns
    ``(average, history, timings)`` with ``train_seconds``, ``cluster_seconds`` and the seconds of every phase
    (shared with bench stylegan)."""
    from ..gan import cluster_images
    from ..progan import progan_phases, train_progan

    start = time.perf_counter()  # training time includes the k-means clustering
    groups = cluster_images(images, cfg.clusters) if cfg.clusters else None
    cluster_seconds = time.perf_counter() - start
    average, history, _ = train_progan(generator, discriminator, images, cfg, device, name=name, live_every=0,
                                       quiet=True, groups=groups)
    train_seconds = time.perf_counter() - start
    phase_seconds = {f"{4 * 2 ** level}{'-fade' if fading else ''}": round(s, 2)
                     for (level, fading), s in zip(progan_phases(generator.levels), history.series("phase_seconds")[1])}
    return average, history, {"train_seconds": round(train_seconds, 2), "cluster_seconds": round(cluster_seconds, 2),
                              "phase_seconds": phase_seconds}


def run(profile: str, device: torch.device, overrides: dict | None = None) -> dict:
    from ..cnn import mnist_tensors
    from ..gan import (GAN_SETTINGS, DCGANDiscriminator, DCGANGenerator, cluster_images, dcgan_init, sample_images,
                       train_dcgan)
    from ..metrics import judge_samples, mnist_judge
    from ..profiles import pick_settings
    from ..progan import PROGAN_SETTINGS, ProGANDiscriminator, ProGANGenerator, crop_to_28, pad_to_32, progan_samples

    cfg = pick_settings(PROGAN_SETTINGS, profile, overrides)
    cfg["fashion"] = False  # the judge knows digits only
    images, _ = mnist_tensors(train=True, limit=cfg.train_limit)
    generator = ProGANGenerator(cfg.nz, cfg.channels, clusters=cfg.clusters)
    discriminator = ProGANDiscriminator(cfg.channels, clusters=cfg.clusters, mbstd_group=cfg.mbstd_group)
    average, history, timings = train_grown(generator, discriminator, images, cfg, device)

    start = time.perf_counter()
    mnist_judge(device, profile)  # trained from scratch here too (the bench keeps no checkpoints)
    judge_seconds = time.perf_counter() - start
    start = time.perf_counter()
    progan = scores(progan_samples(average, cfg.n_judge), device, profile)
    raw = scores(progan_samples(generator, cfg.n_judge), device, profile)
    floor = judge_samples(crop_to_28(pad_to_32(images[:cfg.n_judge])), device, profile=profile)["fid_mnist"]
    eval_seconds = time.perf_counter() - start

    # Notebook 02's DCGAN with its own settings for this profile, trained from scratch in the same process.
    gan_cfg = pick_settings(GAN_SETTINGS, profile)
    gan_cfg["fashion"] = False
    gan_images, _ = mnist_tensors(train=True, limit=gan_cfg.train_limit)
    dcgan = DCGANGenerator(gan_cfg.nz, gan_cfg.g_width, clusters=gan_cfg.clusters).apply(dcgan_init)
    dcgan_d = DCGANDiscriminator(gan_cfg.d_width, clusters=gan_cfg.clusters).apply(dcgan_init)
    start = time.perf_counter()
    # its own k-means, as notebook 02 does it, so that its training time includes the clustering as the ProGAN's does
    gan_groups = cluster_images(gan_images, gan_cfg.clusters) if gan_cfg.clusters else None
    train_dcgan(dcgan, dcgan_d, gan_images, gan_cfg, device, live_every=0, quiet=True, groups=gan_groups)
    dcgan_seconds = time.perf_counter() - start
    dcgan_scores = scores(sample_images(dcgan, cfg.n_judge), device, profile)

    return {
        **{k: progan[k] for k in ("fid_mnist", "confident_fraction", "min_class_share", "class_shares")},
        "fid_floor_train_vs_test": round(floor, 3),
        "fid_over_floor": round(progan["fid_mnist"] / max(floor, 1e-12), 2),
        "raw_generator": raw,
        "samples": cfg.n_judge, "image_size": 32, "judged_at": 28, "train_images": len(images),
        "channels": list(cfg.channels), "phase_images": cfg.phase_images, "batch_size": cfg.batch_size,
        "clusters": cfg.clusters, "steps": len(history.series("loss_d")[1]),
        "generator_parameters": sum(p.numel() for p in generator.parameters()),
        "discriminator_parameters": sum(p.numel() for p in discriminator.parameters()),
        "final_wasserstein": round(history.last("wasserstein"), 4),
        **timings, "judge_train_seconds": round(judge_seconds, 2),
        "eval_seconds": round(eval_seconds, 2),
        "dcgan": {**dcgan_scores, "train_seconds": round(dcgan_seconds, 2), "epochs": gan_cfg.epochs,
                  "clusters": gan_cfg.clusters,
                  "generator_parameters": sum(p.numel() for p in dcgan.parameters())},
        "time_ratio_progan_over_dcgan": round(timings["train_seconds"] / max(dcgan_seconds, 1e-9), 3),
    }
