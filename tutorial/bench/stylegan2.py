"""Benchmark of notebooks/10_stylegan2.ipynb: train the StyleGAN2 from scratch at 32x32 on MNIST (no progressive
growing; lazy R1 and path length regularisation), judge samples of its weight average (cropped to 28x28) with
notebook 01's judge at psi = 1 and along the truncation curve, measure the path lengths in Z and W and the
"droplet" measure of its synthesis layers. With ``ablations`` (``no_pl``, ``no_r1``, ``no_regularisers``) each
variant is trained from scratch too, with its seconds beside its scores. With ``compare_stylegan`` notebook 09's
StyleGAN is trained as well, for the droplet measure of both generators (``bench stylegan`` judges it in full)."""
from __future__ import annotations

import time

import torch

ABLATIONS = {"no_pl": {"pl_weight": 0.0}, "no_r1": {"r1_gamma": 0.0}, "no_regularisers": {"pl_weight": 0.0, "r1_gamma": 0.0}}


def train_timed(cfg, images, device, name):
    """k-means (if ``cfg.clusters``) and ``train_stylegan2`` from scratch, timed together."""
    from ..gan import cluster_images
    from ..stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator, train_stylegan2

    start = time.perf_counter()
    groups = cluster_images(images, cfg.clusters) if cfg.clusters else None
    generator = StyleGAN2Generator(cfg.nz, cfg.w_dim, cfg.channels, cfg.mapping_layers, cfg.mapping_lr,
                                   clusters=cfg.clusters, mixing_prob=cfg.mixing_prob, w_avg_beta=cfg.w_avg_beta)
    discriminator = StyleGAN2Discriminator(cfg.channels, clusters=cfg.clusters, mbstd_group=cfg.mbstd_group)
    average, history, _ = train_stylegan2(generator, discriminator, images, cfg, device, name=name, live_every=0,
                                          quiet=True, groups=groups)
    return generator, discriminator, average, history, round(time.perf_counter() - start, 2)


def run(profile: str, device: torch.device, overrides: dict | None = None) -> dict:
    from ..cnn import mnist_tensors
    from ..profiles import pick_settings
    from ..progan import progan_samples
    from ..stylegan import judge_path_length
    from ..stylegan2 import STYLEGAN2_SETTINGS, feature_peaks
    from .progan import scores
    from .stylegan import judge_along_truncation

    cfg = pick_settings(STYLEGAN2_SETTINGS, profile, overrides)
    cfg["fashion"] = False  # the judge knows digits only
    images, _ = mnist_tensors(train=True, limit=cfg.train_limit)
    generator, discriminator, average, history, train_seconds = train_timed(cfg, images, device, "mnist_stylegan2")

    truncation, plain, floor, judge_seconds, start = judge_along_truncation(average, images, cfg, device, profile)
    eval_seconds = time.perf_counter() - start
    path = {space: round(judge_path_length(average, cfg.path_pairs, space, device=device, profile=profile), 3)
            for space in ("z", "w")}
    seconds = history.series("epoch_seconds")[1]
    result = {
        **{k: plain[k] for k in ("fid_mnist", "confident_fraction", "min_class_share", "class_shares")},
        "psi": 1.0, "fid_floor_train_vs_test": round(floor, 3),
        "fid_over_floor": round(plain["fid_mnist"] / max(floor, 1e-12), 2),
        "truncation": {psi: {k: row[k] for k in ("fid_mnist", "confident_fraction", "min_class_share")}
                       for psi, row in truncation.items()},
        "path_length_z": path["z"], "path_length_w": path["w"], "path_pairs": cfg.path_pairs,
        "droplets_stylegan2": [round(p, 2) for p in feature_peaks(average, 256)],
        "resolution_shares_final": {k: round(history.last(k), 3) for k in history.names() if k.startswith("share_")},
        "samples": cfg.n_judge, "image_size": 32, "judged_at": 28, "train_images": len(images),
        "images_shown": cfg.epochs * cfg.epoch_images, "channels": list(cfg.channels), "batch_size": cfg.batch_size,
        "clusters": cfg.clusters, "r1_gamma": cfg.r1_gamma, "r1_interval": cfg.r1_interval, "pl_weight": cfg.pl_weight,
        "pl_interval": cfg.pl_interval, "steps": len(history.series("loss_d")[1]),
        "generator_parameters": sum(p.numel() for p in generator.parameters()),
        "discriminator_parameters": sum(p.numel() for p in discriminator.parameters()),
        "train_seconds": train_seconds, "epoch_seconds": [round(s, 2) for s in seconds],
        "judge_train_seconds": round(judge_seconds, 2), "eval_seconds": round(eval_seconds, 2),
    }
    ablations = {}
    for variant in cfg.ablations:
        if variant not in ABLATIONS:
            raise SystemExit(f"unknown ablation {variant!r}; known: {', '.join(ABLATIONS)}")
        varied = pick_settings(STYLEGAN2_SETTINGS, profile, {**(overrides or {}), **ABLATIONS[variant]})
        varied["fashion"] = False
        _, _, variant_average, _, variant_seconds = train_timed(varied, images, device, f"mnist_stylegan2_{variant}")
        row = scores(progan_samples(variant_average, cfg.n_judge), device, profile)
        ablations[variant] = {**{k: row[k] for k in ("fid_mnist", "confident_fraction", "min_class_share")},
                              "train_seconds": variant_seconds,
                              "path_length_w": round(judge_path_length(variant_average, cfg.path_pairs, "w",
                                                                       device=device, profile=profile), 3)}
    result["ablations"] = ablations
    if cfg.compare_stylegan:
        from ..stylegan import STYLEGAN_SETTINGS
        from .progan import train_grown
        from .stylegan import build_stylegan

        scfg = pick_settings(STYLEGAN_SETTINGS, profile)
        scfg["fashion"] = False
        sg, sd = build_stylegan(scfg)
        sg_average, _, timings = train_grown(sg, sd, images, scfg, device, name="mnist_stylegan")
        result["droplets_stylegan"] = [round(p, 2) for p in feature_peaks(sg_average, 256)]
        result["stylegan_train_seconds"] = timings["train_seconds"]
    return result
