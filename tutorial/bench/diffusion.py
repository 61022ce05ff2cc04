"""Benchmark of notebooks/11_diffusion.ipynb: train the noise-predicting U-Net from scratch on MNIST (labels
dropped ``p_uncond`` of the time), then judge samples (``sample_steps`` DDIM steps with ``sample_eta``) with
notebook 01's judge, three ways: unconditional (the "no label" prediction), conditional without guidance
(labels at the training set's frequencies, w = 0) and guided (classifier-free, w = ``guidance``); the judge's figures
against the number of sampling steps and against the guidance weight (with the within-digit spread), the
floor at the same number of samples, training seconds and milliseconds per sample."""
from __future__ import annotations

import time

import torch

JUDGED = ("fid_mnist", "confident_fraction", "min_class_share")


def timed_samples(make, n):
    start = time.perf_counter()
    images = make()
    return images, round(1000 * (time.perf_counter() - start) / n, 3)


def run(profile: str, device: torch.device, overrides: dict | None = None) -> dict:
    from ..cnn import mnist_tensors
    from ..diffusion import (DIFFUSION_SETTINGS, DiffusionUNet, diffusion_samples, draw_labels, make_schedule,
                             sample_diffusion, train_diffusion, within_label_spread)
    from ..metrics import judge_samples, mnist_judge
    from ..profiles import pick_settings

    cfg = pick_settings(DIFFUSION_SETTINGS, profile, overrides)
    images, labels = mnist_tensors(train=True, limit=cfg.train_limit)
    model = DiffusionUNet(cfg.channels, cfg.emb_dim, cfg.patch)
    start = time.perf_counter()
    average, history = train_diffusion(model, images, labels, cfg, device, live_every=0, quiet=True)
    # the training epochs' own wall-clock time, recorded in the checkpoint (a rerun on the same data folder
    # loads it: then only the sampling and judging below are measured afresh)
    train_seconds, load_seconds = round(history.seconds, 2), round(time.perf_counter() - start, 2)
    schedule = make_schedule(cfg.schedule, cfg.timesteps)

    start = time.perf_counter()
    mnist_judge(device, profile)  # trained from scratch here too (the bench keeps no checkpoints)
    judge_seconds = round(time.perf_counter() - start, 2)

    def judged(x):
        row = judge_samples(x, device, profile=profile)
        return {k: round(row[k], 4) for k in JUDGED}

    n = cfg.n_judge
    steps, eta = cfg.sample_steps, cfg.sample_eta
    unguided, unguided_ms = timed_samples(lambda: diffusion_samples(average, schedule, n, steps, None, eta), n)
    conditional, conditional_ms = timed_samples(lambda: diffusion_samples(average, schedule, n, steps, 0.0, eta), n)
    guided, guided_ms = timed_samples(lambda: diffusion_samples(average, schedule, n, steps, cfg.guidance, eta), n)
    floor = judge_samples(images[:n], device, profile=profile)

    steps_curve = {}
    for curve_eta in (0.0, 1.0):
        for curve_steps in cfg.steps_curve:  # not `steps`: that name holds sample_steps for the rows and curve below
            x, ms = timed_samples(lambda: diffusion_samples(average, schedule, cfg.n_curve, curve_steps, eta=curve_eta),
                                  cfg.n_curve)
            steps_curve[f"eta={curve_eta:g},steps={curve_steps}"] = {**judged(x), "ms_per_sample": ms}
    guidance_curve = {}
    for w in cfg.guidance_curve:
        drawn = draw_labels(average, cfg.n_curve)
        x = ((sample_diffusion(average, schedule, cfg.n_curve, steps, eta, drawn, w) + 1) / 2).clamp(0, 1)
        guidance_curve[f"{w:g}"] = {**judged(x), "spread": round(within_label_spread(
            x, drawn, images[:cfg.n_curve], labels[:cfg.n_curve], device), 4)}
    losses = history.series("loss")[1]
    return {
        "unguided": {**judged(unguided), "labels": "none (unconditional)", "ms_per_sample": unguided_ms},
        "conditional": {**judged(conditional), "labels": "drawn", "guidance": 0.0, "ms_per_sample": conditional_ms},
        "guided": {**judged(guided), "labels": "drawn", "guidance": cfg.guidance, "ms_per_sample": guided_ms},
        "floor": {k: round(floor[k], 4) for k in JUDGED},
        "samples": n, "sample_steps": steps, "sample_eta": cfg.sample_eta,
        "sampler": f"DDIM, eta = {cfg.sample_eta:g}, trailing steps",
        "steps_curve": steps_curve, "guidance_curve": guidance_curve, "curve_samples": cfg.n_curve,
        "final_loss_mean_last_100": round(sum(losses[-100:]) / len(losses[-100:]), 5), "steps": len(losses),
        "batch_size": cfg.batch_size, "channels": list(cfg.channels), "patch": cfg.patch, "schedule": cfg.schedule,
        "timesteps": cfg.timesteps, "p_uncond": cfg.p_uncond, "train_images": len(images),
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_seconds": train_seconds, "train_or_load_seconds": load_seconds, "judge_train_or_load_seconds": judge_seconds,
    }
