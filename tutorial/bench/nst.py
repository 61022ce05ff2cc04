"""``python -m tutorial bench nst``: Gatys et al. style transfer, the course's default against a plain loop.

Both optimise the same photo against the same painting with the same network weights, layers and loss
weights (content at relu4_2, style at relu1_1 ... relu5_1, average pooling), starting from the photo.

- **plain**: the loop written the simplest way, as the PyTorch tutorial writes it: float32, the default
  (NCHW) layout, ``torch.optim.LBFGS`` with its defaults (history 100, no line search), ``bench_steps``
  evaluations, the last image kept.
- **course**: notebook 04's default, ``optimise_image`` with ``coarse_steps`` evaluations at half the size,
  then ``steps`` at full size, strong-Wolfe line search, channels-last, and ``precision="auto"`` (bfloat16
  convolutions on a CPU with bfloat16 instructions, float32 losses).

Reported: milliseconds per full-size evaluation (forward and backward, timed alone, interleaved, the median
of several) for the plain loop, the course's network in float32 and the course's default; then, over
``bench_repeats`` runs of each, the loss each final image reaches, always measured with the plain loop's
float32 objective, the seconds each run took, and the seconds the course's default took to reach the plain
run's final loss and its best loss (by the course's own loss records). The style and content losses of the
course's image against the photo's and a noise image's are reported as before. Whether ImageNet weights were
used is reported too: without them (no download possible) the network is random.
"""
from __future__ import annotations

import statistics
import time

import torch

from ..images import load_image
from ..profiles import pick_settings
from ..style_transfer import NST_SETTINGS, StyleTransferObjective, VGGFeatures, load_vgg19, optimise_image

CONTENT, STYLE = "chelsea", "starry_night"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_loop(objective, init: torch.Tensor, steps: int, device: torch.device) -> tuple[torch.Tensor, list]:
    """Style transfer the plain way: LBFGS with its defaults, one closure, the last image kept.
    Returns the image ``[3, H, W]`` and ``(seconds since the start, loss)`` per evaluation."""
    image = init.detach().clone()[None].requires_grad_(True)
    opt = torch.optim.LBFGS([image], max_iter=steps)
    log, began = [], time.perf_counter()

    def closure():
        with torch.no_grad():
            image.clamp_(0, 1)
        opt.zero_grad()
        loss = objective(image)["total"]
        loss.backward()
        log.append((time.perf_counter() - began, loss.item()))
        return loss

    opt.step(closure)
    with torch.no_grad():
        image.clamp_(0, 1)
    _sync(device)
    return image.detach()[0], log


def ms_per_evaluation(objectives: dict, image: torch.Tensor, device: torch.device, repeats: int = 5,
                      per_repeat: int = 3) -> dict:
    """Median milliseconds of one forward and backward pass of each objective, timed in turn (interleaved,
    so a change of machine load touches all alike), after one warm-up pass each."""
    x = image.detach().clone()[None].requires_grad_(True)
    for objective in objectives.values():
        objective(x)["total"].backward()
    times = {name: [] for name in objectives}
    for _ in range(repeats):
        for name, objective in objectives.items():
            _sync(device)
            began = time.perf_counter()
            for _ in range(per_repeat):
                x.grad = None
                objective(x)["total"].backward()
            _sync(device)
            times[name].append(1000 * (time.perf_counter() - began) / per_repeat)
    return {name: round(statistics.median(t), 1) for name, t in times.items()}


def run(profile: str, device: torch.device, overrides: dict | None = None) -> dict:
    cfg = pick_settings(NST_SETTINGS, profile, overrides)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # one fixed image size: let cuDNN pick its fastest kernels
    vgg = load_vgg19(pretrained=True, precision="auto").to(device)
    weights = vgg.layers.state_dict()
    as_plain = VGGFeatures(vgg.names[-1], "avg", weights=weights, channels_last=False).to(device)
    as_float32 = VGGFeatures(vgg.names[-1], "avg", weights=weights).to(device)
    content = load_image(CONTENT, cfg.image_size).to(device)
    style = load_image(STYLE, cfg.image_size).to(device)
    course = StyleTransferObjective(vgg, content, style, cfg.style_weight, cfg.tv_weight)
    plain = StyleTransferObjective(as_plain, content, style, cfg.style_weight, cfg.tv_weight)
    speed = ms_per_evaluation({"plain": plain, "course_float32": StyleTransferObjective(
        as_float32, content, style, cfg.style_weight, cfg.tv_weight), "course": course}, content, device)

    runs = []
    for _ in range(cfg.bench_repeats):
        plain_image, plain_log = plain_loop(plain, content, cfg.bench_steps, device)
        times = []
        _sync(device)
        began = time.perf_counter()
        image, records = optimise_image(course, content, cfg.steps, "lbfgs", bar=False, coarse_steps=cfg.coarse_steps,
                                        callback=lambda step, img, losses: times.append(time.perf_counter() - began))
        _sync(device)
        seconds = time.perf_counter() - began
        with torch.no_grad():
            plain_final, course_final = plain(plain_image[None])["total"].item(), plain(image[None])["total"].item()
        plain_best = min(loss for _, loss in plain_log)

        def seconds_to(target):
            hit = [t for t, r in zip(times, records) if r["total"] <= target]
            return round(hit[0], 2) if hit else None

        runs.append({"plain_loss": plain_final, "plain_best_loss": plain_best, "plain_evaluations": len(plain_log),
                     "plain_seconds": round(plain_log[-1][0], 2), "course_loss": course_final,
                     "course_own_loss": min(r["total"] for r in records), "course_seconds": round(seconds, 2),
                     "course_evaluations": [cfg.coarse_steps, len(records)],
                     "course_seconds_to_plain_loss": seconds_to(plain_final),
                     "course_seconds_to_plain_best_loss": seconds_to(plain_best)})

    def median(key):
        values = [r[key] for r in runs]
        return None if None in values else statistics.median(values)

    with torch.no_grad():
        noise = torch.rand(content.shape, generator=torch.Generator().manual_seed(0)).to(device)
        start, at_noise, final = (plain(x[None]) for x in (content, noise, image))
    to_plain = median("course_seconds_to_plain_loss")
    return {
        "pretrained_weights": bool(vgg.pretrained),
        "content_image": CONTENT,
        "style_image": STYLE,
        "image_size": list(content.shape[-2:]),
        "init": "content",
        "course_precision": str(vgg.compute_dtype(device)).replace("torch.", ""),
        "ms_per_evaluation": speed,
        "per_evaluation_ratio": round(speed["course"] / speed["plain"], 3),
        "per_evaluation_ratio_float32": round(speed["course_float32"] / speed["plain"], 3),
        "plain_steps": cfg.bench_steps,
        "course_steps": [cfg.coarse_steps, cfg.steps],
        "repeats": cfg.bench_repeats,
        "plain_loss": median("plain_loss"),
        "plain_best_loss": median("plain_best_loss"),
        "plain_seconds": median("plain_seconds"),
        "course_loss": median("course_loss"),
        "course_seconds": median("course_seconds"),
        "course_seconds_to_plain_loss": to_plain,
        "course_seconds_to_plain_best_loss": median("course_seconds_to_plain_best_loss"),
        "time_to_plain_loss_ratio": None if to_plain is None else round(to_plain / median("plain_seconds"), 3),
        "runs": runs,
        "seconds": median("course_seconds"),
        "iterations": cfg.coarse_steps + cfg.steps,
        "style_loss_start": float(start["style"]),
        "style_loss_final": float(final["style"]),
        "style_loss_ratio": float(final["style"] / start["style"]),
        "content_loss_final": float(final["content"]),
        "content_loss_noise": float(at_noise["content"]),
        "content_loss_ratio_to_noise": float(final["content"] / at_noise["content"]),
    }
