"""Benchmark of notebooks/01_cnn.ipynb: train the SmallVGG (the course's judge) from scratch, report MNIST test
accuracy, then calibrate the judge (Fréchet distance of real, blurred, noisy and one-class sets)."""
from __future__ import annotations

import time

import torch


def run(profile: str, device: torch.device, overrides: dict | None = None) -> dict:
    from ..cnn import CNN_SETTINGS, SmallVGG, evaluate_classifier, mnist_tensors, train_classifier
    from ..metrics import judge_calibration
    from ..profiles import pick_settings

    cfg = pick_settings(CNN_SETTINGS, profile, overrides)
    cfg["fashion"] = False
    train_x, train_y = mnist_tensors(train=True, limit=cfg.train_limit)
    test_x, test_y = mnist_tensors(train=False, limit=cfg.test_limit)
    model = SmallVGG(cfg.width, cfg.hidden)
    start = time.perf_counter()
    history = train_classifier(model, cfg, device, images=train_x, labels=train_y, name="mnist_smallvgg",
                               live_every=0)
    train_seconds = time.perf_counter() - start
    accuracy = evaluate_classifier(model, test_x, test_y, device)["accuracy"]
    start = time.perf_counter()
    rows = judge_calibration(profile=profile, device=device)  # loads the checkpoint just written
    metrics = {
        "test_accuracy": round(accuracy, 5), "test_images": len(test_x), "train_images": len(train_x),
        "epochs": cfg.epochs, "batch_size": cfg.batch_size, "width": cfg.width, "hidden": cfg.hidden,
        "image_size": 28, "parameters": sum(p.numel() for p in model.parameters()),
        "final_train_loss": round(history.last("loss"), 5), "train_seconds": round(train_seconds, 2),
        "judge_reference_images": cfg.judge_reference,
    }
    short = {"MNIST train (the floor)": "floor_train_vs_test", "train, blurred (sigma 1)": "blurred",
             "train + noise (sigma 0.3)": "noisy", "train, only ones": "only_ones",
             "train, only digits 0-4": "digits_0_to_4", "uniform noise": "uniform_noise"}
    for row in rows:
        name = short[row["set"]]
        metrics[f"judge_fid_{name}"] = round(row["fid_mnist"], 3)
        metrics[f"judge_confident_{name}"] = round(row["confident_fraction"], 4)
        metrics[f"judge_min_class_share_{name}"] = round(row["min_class_share"], 4)
    metrics["calibration_seconds"] = round(time.perf_counter() - start, 2)
    return metrics
