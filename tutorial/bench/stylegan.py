"""Benchmark of notebooks/09_stylegan.ipynb: train the StyleGAN from scratch with notebook 08's progressive growing and
losses on MNIST (padded to 32x32), judge samples of its weight average (cropped to 28x28) with notebook 01's judge at
psi = 1 and along the truncation curve, and measure the interpolation path lengths in Z and in W. The comparison with
the ProGAN and the DCGAN at equal training time is ``bench progan`` (which trains both) beside this one."""
from __future__ import annotations

import time

import torch


def build_stylegan(cfg) -> tuple:
    """Notebook 09's StyleGAN generator and notebook 08's discriminator for ``cfg`` (shared with bench stylegan2)."""
    from ..progan import ProGANDiscriminator
    from ..stylegan import StyleGANGenerator

    generator = StyleGANGenerator(cfg.nz, cfg.w_dim, cfg.channels, cfg.mapping_layers, cfg.mapping_lr,
                                  clusters=cfg.clusters, mixing_prob=cfg.mixing_prob, w_avg_beta=cfg.w_avg_beta)
    return generator, ProGANDiscriminator(cfg.channels, clusters=cfg.clusters, mbstd_group=cfg.mbstd_group)


def judge_along_truncation(average, images, cfg, device, profile) -> tuple:
    """Train (or load) the judge, then judge ``average`` at each of ``cfg.psi_values`` (psi = 1 once) and the floor
    (real digits through the same pad and crop); returns ``(truncation, plain, floor, judge_seconds, started)``,
    ``started`` the clock reading when judging began (shared with bench stylegan2)."""
    from ..metrics import judge_samples, mnist_judge
    from ..progan import crop_to_28, pad_to_32, progan_samples
    from ..stylegan import Truncated
    from .progan import scores

    start = time.perf_counter()
    mnist_judge(device, profile)  # trained from scratch here too (the bench keeps no checkpoints)
    judge_seconds = time.perf_counter() - start
    started = time.perf_counter()
    truncation = {str(psi): scores(progan_samples(Truncated(average, psi), cfg.n_judge), device, profile)
                  for psi in cfg.psi_values}
    plain = truncation.get("1.0") or scores(progan_samples(average, cfg.n_judge), device, profile)  # psi = 1: judged once
    floor = judge_samples(crop_to_28(pad_to_32(images[:cfg.n_judge])), device, profile=profile)["fid_mnist"]
    return truncation, plain, floor, judge_seconds, started


def run(profile: str, device: torch.device, overrides: dict | None = None) -> dict:
    from ..cnn import mnist_tensors
    from ..profiles import pick_settings
    from ..progan import progan_samples
    from ..stylegan import STYLEGAN_SETTINGS, judge_path_length
    from .progan import scores, train_grown

    cfg = pick_settings(STYLEGAN_SETTINGS, profile, overrides)
    cfg["fashion"] = False  # the judge knows digits only
    images, _ = mnist_tensors(train=True, limit=cfg.train_limit)
    generator, discriminator = build_stylegan(cfg)
    average, history, timings = train_grown(generator, discriminator, images, cfg, device, name="mnist_stylegan")

    truncation, plain, floor, judge_seconds, start = judge_along_truncation(average, images, cfg, device, profile)
    raw = scores(progan_samples(generator, cfg.n_judge), device, profile)
    eval_seconds = time.perf_counter() - start
    start = time.perf_counter()
    path = {space: round(judge_path_length(average, cfg.path_pairs, space, device=device, profile=profile), 3)
            for space in ("z", "w")}
    path_seconds = time.perf_counter() - start

    return {
        **{k: plain[k] for k in ("fid_mnist", "confident_fraction", "min_class_share", "class_shares")},
        "psi": 1.0,
        "fid_floor_train_vs_test": round(floor, 3),
        "fid_over_floor": round(plain["fid_mnist"] / max(floor, 1e-12), 2),
        "raw_generator": raw,
        "truncation": {psi: {k: row[k] for k in ("fid_mnist", "confident_fraction", "min_class_share")}
                       for psi, row in truncation.items()},
        "path_length_z": path["z"], "path_length_w": path["w"],
        "path_length_w_over_z": round(path["w"] / max(path["z"], 1e-12), 3), "path_pairs": cfg.path_pairs,
        "samples": cfg.n_judge, "image_size": 32, "judged_at": 28, "train_images": len(images),
        "channels": list(cfg.channels), "w_dim": cfg.w_dim, "mapping_layers": cfg.mapping_layers,
        "mapping_lr": cfg.mapping_lr, "mixing_prob": cfg.mixing_prob, "phase_images": cfg.phase_images,
        "batch_size": cfg.batch_size, "clusters": cfg.clusters, "steps": len(history.series("loss_d")[1]),
        "generator_parameters": sum(p.numel() for p in generator.parameters()),
        "mapping_parameters": sum(p.numel() for p in generator.mapping.parameters()),
        "discriminator_parameters": sum(p.numel() for p in discriminator.parameters()),
        "final_wasserstein": round(history.last("wasserstein"), 4),
        **timings, "judge_train_seconds": round(judge_seconds, 2),
        "eval_seconds": round(eval_seconds, 2), "path_seconds": round(path_seconds, 2),
    }
