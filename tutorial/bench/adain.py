"""``python -m tutorial bench adain``: train the AdaIN decoder from scratch with the lesson's exported code,
then time feed-forward stylisation.

Reports training seconds, the final content and style losses (mean of the last 10 steps), and inference
milliseconds per image at 256 and 512 px: with the painting's features computed once (a fixed style, as
for video) and with the painting encoded too. Whether the encoder had ImageNet weights is reported: without
them (no download possible) it is random and the losses are not comparable with the paper's.
"""
from __future__ import annotations

import statistics
import time

import torch

from ..adain import (ADAIN_SETTINGS, ENCODER_LAYER, HELD_OUT_PAINTING, HELD_OUT_PHOTO, build_decoder, build_encoder,
                     stylise, train_decoder, training_images)
from ..images import load_image
from ..profiles import pick_settings
from ..training import LossHistory
from .nst import _sync



def _median_ms(fn, repeats: int, device: torch.device) -> float:
    fn()  # warm-up (allocations, cuDNN's kernel choice)
    times = []
    for _ in range(repeats):
        _sync(device)
        began = time.perf_counter()
        fn()
        _sync(device)
        times.append(1000 * (time.perf_counter() - began))
    return round(statistics.median(times), 1)


def run(profile: str, device: torch.device, overrides: dict | None = None) -> dict:
    cfg = pick_settings(ADAIN_SETTINGS, profile, overrides)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    encoder = build_encoder(pretrained=True).to(device)
    decoder = build_decoder().to(device)
    photos, paintings = training_images(cfg)
    history = LossHistory()
    _sync(device)
    began = time.perf_counter()
    train_decoder(encoder, decoder, photos, paintings, cfg, history, quiet=True)
    _sync(device)
    training_seconds = time.perf_counter() - began
    last = history.records[-10:]
    metrics = {
        "pretrained_encoder": bool(encoder.pretrained),
        "training_seconds": round(training_seconds, 2),
        "training_steps": len(history.records),
        "batch_size": cfg.batch_size,
        "crop": cfg.crop,
        "training_photos": len(photos),
        "training_paintings": len(paintings),
        "skipped_unreadable_images": len(photos.bad) + len(paintings.bad),
        "content_loss_final": statistics.fmean(r["content"] for r in last),
        "style_loss_final": statistics.fmean(r["style"] for r in last),
        "content_loss_first": history.records[0]["content"],
        "style_loss_first": history.records[0]["style"],
    }
    repeats = max(3, min(cfg.timing_repeats, 20))
    for size in (256, 512):
        photo = load_image(HELD_OUT_PHOTO, (size, size)).to(device)
        painting = load_image(HELD_OUT_PAINTING, (size, size)).to(device)
        with torch.no_grad():
            features = [encoder(painting[None], (ENCODER_LAYER,))[ENCODER_LAYER]]
        metrics[f"inference_ms_{size}"] = _median_ms(
            lambda: stylise(encoder, decoder, photo, painting, style_features=features), repeats, device)
        metrics[f"inference_ms_{size}_with_style_encoding"] = _median_ms(
            lambda: stylise(encoder, decoder, photo, painting), repeats, device)
    return metrics
