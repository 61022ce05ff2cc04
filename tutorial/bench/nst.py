"""``python -m tutorial bench nst``: one Gatys et al. style transfer with the lesson's exported code.

The notebook's main run: L-BFGS from the photo, content at relu4_2, style at relu1_1 ... relu5_1, average
pooling. Reports the optimisation time, iterations (forward+backward passes), image size, and the style and
content losses at the start and the end with their ratio to the start. Starting from the photo, the content
loss starts at 0, so its ratio is given against a white-noise image instead (0: the photo's features,
1: as far as noise). Whether ImageNet weights were used is reported too: without them (no download
possible) the network is random and the losses are not comparable with pretrained runs.
"""
from __future__ import annotations

import time

import torch

from ..images import load_image
from ..profiles import pick_settings
from ..style_transfer import NST_SETTINGS, StyleTransferObjective, load_vgg19, optimise_image

CONTENT, STYLE = "chelsea", "starry_night"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run(profile: str, device: torch.device, overrides: dict | None = None) -> dict:
    cfg = pick_settings(NST_SETTINGS, profile, overrides)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # one fixed image size: let cuDNN pick its fastest kernels
    vgg = load_vgg19(pretrained=True).to(device)
    content = load_image(CONTENT, cfg.image_size).to(device)
    style = load_image(STYLE, cfg.image_size).to(device)
    objective = StyleTransferObjective(vgg, content, style, cfg.style_weight, cfg.tv_weight)
    noise = torch.rand(content.shape, generator=torch.Generator().manual_seed(0)).to(device)
    with torch.no_grad():
        start = objective(content[None])
        at_noise = objective(noise[None])
    _sync(device)
    began = time.perf_counter()
    image, records = optimise_image(objective, content, cfg.steps, "lbfgs", bar=False)
    _sync(device)
    seconds = time.perf_counter() - began
    with torch.no_grad():
        final = objective(image[None])
    return {
        "pretrained_weights": bool(vgg.pretrained),
        "content_image": CONTENT,
        "style_image": STYLE,
        "image_size": list(content.shape[-2:]),
        "init": "content",
        "optimizer": "lbfgs",
        "iterations": len(records),
        "seconds": round(seconds, 2),
        "ms_per_iteration": round(1000 * seconds / max(len(records), 1), 1),
        "style_loss_start": float(start["style"]),
        "style_loss_final": float(final["style"]),
        "style_loss_ratio": float(final["style"] / start["style"]),
        "content_loss_start": float(start["content"]),
        "content_loss_final": float(final["content"]),
        "content_loss_noise": float(at_noise["content"]),
        "content_loss_ratio_to_noise": float(final["content"] / at_noise["content"]),
    }
