"""Benchmarks: ``python -m tutorial bench LESSON --profile P`` trains one lesson from scratch and evaluates it.

Each lesson has a module here, ``tutorial/bench/LESSON.py``, with ``run(profile, device, overrides=None) -> dict``
that trains with the lesson's own (exported) code and returns its metrics. ``overrides`` changes some of the
lesson's settings for one run (``--set epochs=15``); the JSON records them. The speed and quality targets of the
course live in these numbers, not in timed tests. On a CUDA device each result also records the peak GPU
memory the lesson allocated (``peak_gpu_memory_mib``): the measured memory budget of its profile.
"""
from __future__ import annotations

import importlib
import os
import pkgutil
import platform
import tempfile
import time

import torch


def lessons() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def peak_gpu_memory_mib(device: torch.device) -> float | None:
    """The most memory torch has allocated on ``device`` since the last reset, in MiB; None off CUDA (the
    CPU's memory is the machine's, and MPS keeps no such counter)."""
    if device.type != "cuda":
        return None
    return round(torch.cuda.max_memory_allocated(device) / 2**20, 1)


def run_benchmark(lesson: str, profile: str, device: str | None = None, overrides: dict | None = None) -> dict:
    """Train and evaluate ``lesson`` in ``profile`` from scratch, with some of its settings replaced by
    ``overrides`` (lesson settings only, never the judge's); return one JSON-ready dict."""
    from ..profiles import PROFILES, pick_device, seed_everything

    if lesson not in lessons():
        raise SystemExit(f"no benchmark named {lesson!r}; known: {', '.join(lessons()) or 'none yet'}")
    if profile not in PROFILES:
        raise SystemExit(f"unknown profile {profile!r}; use one of {', '.join(PROFILES)}")
    module = importlib.import_module(f"{__name__}.{lesson}")
    dev = pick_device(device)
    seed_everything(0)
    previous = os.environ.get("TUTORIAL_CHECKPOINTS")
    with tempfile.TemporaryDirectory(prefix="tutorial-bench-") as scratch:
        os.environ["TUTORIAL_CHECKPOINTS"] = scratch  # from scratch: no cached checkpoint is read or kept
        try:
            if dev.type == "cuda":
                torch.cuda.reset_peak_memory_stats(dev)
            start = time.perf_counter()
            metrics = module.run(profile, dev, overrides)
            wall = time.perf_counter() - start
        finally:
            if previous is None:
                os.environ.pop("TUTORIAL_CHECKPOINTS", None)
            else:
                os.environ["TUTORIAL_CHECKPOINTS"] = previous
    return {
        "lesson": lesson,
        "profile": profile,
        "overrides": dict(overrides or {}),
        "device": str(dev) + (f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else ""),
        "cpu_threads": torch.get_num_threads(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "torch": torch.__version__,
        "wall_seconds": round(wall, 2),
        "peak_gpu_memory_mib": peak_gpu_memory_mib(dev),
        "metrics": metrics,
    }
