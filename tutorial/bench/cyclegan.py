"""Benchmark of notebooks/06_cyclegan.ipynb: train the handwriting CycleGAN (thin strokes <-> thick strokes,
two unpaired halves of MNIST) from scratch and measure both promises of style transfer on the test digits:
``content_kept`` (the share of translated digits notebook 01's judge reads as their source digit, beside the
same share for the target collection's real digits) and the stroke width of translations against the
target collection's, in both directions; with the round-trip (cycle) error and the seconds of each stage.
``--set lambda_cycle=0`` measures the run without the cycle term."""
from __future__ import annotations

import time

import torch


def run(profile: str, device: torch.device, overrides: dict | None = None) -> dict:
    from ..cyclegan import (CYCLEGAN_SETTINGS, cyclegan_networks, handwriting_collections, image_sampler,
                            train_cyclegan, translation_report)
    from ..metrics import mnist_judge
    from ..profiles import pick_settings

    cfg = pick_settings(CYCLEGAN_SETTINGS, profile, overrides)
    a, b, test_a, test_b, labels = handwriting_collections(cfg.train_limit, cfg.n_judge)
    networks = cyclegan_networks(cfg)
    history, _ = train_cyclegan(networks, image_sampler(a, device), image_sampler(b, device), cfg, device,
                                "mnist_cyclegan", live_every=0, quiet=True)
    start = time.perf_counter()
    mnist_judge(device, profile)  # trained from scratch here too (the bench keeps no checkpoints)
    judge_seconds = time.perf_counter() - start
    start = time.perf_counter()
    report = translation_report(networks[0], networks[1], test_a, test_b, labels, device, profile)
    eval_seconds = time.perf_counter() - start
    metrics = {}
    for direction, row in report.items():
        for key, value in row.items():
            metrics[f"{key}_{direction}"] = round(value, 4)
    return {
        **metrics,
        "test_digits": len(labels), "train_digits_a": len(a), "train_digits_b": len(b),
        "steps": cfg.epochs * cfg.steps_per_epoch, "batch_size": cfg.batch_size,
        "lambda_cycle": cfg.lambda_cycle, "lambda_identity": cfg.lambda_identity,
        "generator_parameters": sum(p.numel() for p in networks[0].parameters()),
        "discriminator_parameters": sum(p.numel() for p in networks[2].parameters()),
        "train_seconds": round(history.seconds, 2), "judge_train_seconds": round(judge_seconds, 2),
        "eval_seconds": round(eval_seconds, 2),
    }
