"""Profiles, device choice and seeding: the three switches every notebook reads first.

A *profile* sizes a lesson for the machine it runs on. The code path is the same in all three; only sizes
and step counts change:

- ``smoke``: seconds, tiny data. CI runs every notebook in it.
- ``laptop``: a few minutes on a 2-core CPU, results a person recognises.
- ``full``: one GPU, best quality.

``TUTORIAL_PROFILE`` picks it. Unset, it is ``full`` when CUDA is present and ``laptop`` otherwise.
"""
from __future__ import annotations

import os
import random

import torch

PROFILE_ENV = "TUTORIAL_PROFILE"
DEVICE_ENV = "TUTORIAL_DEVICE"
PROFILES = ("smoke", "laptop", "full")


def current_profile() -> str:
    """The profile named by ``TUTORIAL_PROFILE``, else ``full`` with CUDA and ``laptop`` without."""
    name = os.environ.get(PROFILE_ENV, "").strip().lower()
    if not name:
        return "full" if torch.cuda.is_available() else "laptop"
    if name not in PROFILES:
        raise ValueError(
            f"{PROFILE_ENV}={name!r} is not a profile. Use one of {', '.join(PROFILES)} "
            f"(or unset it for the default: full on a GPU, laptop otherwise)."
        )
    return name


def pick_device(override: str | None = None) -> torch.device:
    """CUDA if present, else Apple's MPS, else the CPU.

    ``override`` (or the ``TUTORIAL_DEVICE`` environment variable) forces one, e.g. ``"cpu"`` to compare speeds.
    """
    name = override or os.environ.get(DEVICE_ENV, "").strip()
    if name:
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {name!r} was asked for, but this PyTorch sees no CUDA GPU.")
        if device.type == "mps" and not _mps_available():
            raise RuntimeError(f"device {name!r} was asked for, but Apple's MPS backend is not available here.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def seed_everything(seed: int = 0) -> int:
    """Seed Python's, NumPy's (if present) and PyTorch's generators on every device. Returns the seed."""
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % 2**32)
    except ImportError:  # pragma: no cover - numpy ships with torchvision
        pass
    torch.manual_seed(seed)  # also seeds every CUDA and MPS device
    return seed


class Settings(dict):
    """A lesson's settings for one profile: a dict whose keys also read as attributes (``cfg.batch_size``)."""

    def __init__(self, values: dict, profile: str):
        super().__init__(values)
        self.profile = profile

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"these settings have no {key!r}; they have {', '.join(self)}") from None

    def __setattr__(self, key, value):
        """``cfg.epochs = 3`` changes the setting itself, so the checkpoint key (the dict) changes with it; a name
        the lesson does not have is refused rather than silently ignored."""
        if key == "profile":
            super().__setattr__(key, value)
        elif key in self:
            self[key] = value
        else:
            raise AttributeError(f"these settings have no {key!r}, so setting it would change nothing; they have "
                                 f"{', '.join(self)} (add a new one with cfg[{key!r}] = ...)")

    def __repr__(self):
        width = max((len(k) for k in self), default=0)
        rows = "\n".join(f"  {k:<{width}} = {v!r}" for k, v in self.items())
        return f"Settings for profile {self.profile!r}:\n{rows}"


class SettingError(ValueError):
    """An override names a setting the lesson does not have."""


def parse_setting(text: str):
    """A setting's value from the command line: ``none``, ``true``/``false``, an int, a float, else the text."""
    low = text.strip().lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def pick_settings(table: dict[str, dict], profile: str | None = None, overrides: dict | None = None) -> Settings:
    """Choose a lesson's settings for ``profile`` (default: :func:`current_profile`).

    ``table`` maps each of ``smoke``, ``laptop`` and ``full`` to a dict. All three must have the same keys:
    the profiles change sizes, never the code path. ``overrides`` replaces some values for one run, e.g.
    ``{"epochs": 15}`` to ask what more training buys; a key the table lacks raises :class:`SettingError`.
    """
    missing = [p for p in PROFILES if p not in table]
    if missing:
        raise ValueError(f"settings table lacks profile(s) {missing}")
    keys = set(table["smoke"])
    for p in PROFILES:
        if set(table[p]) != keys:
            raise ValueError(
                f"profile {p!r} has keys {sorted(table[p])}, but smoke has {sorted(keys)}: every profile must set the same things"
            )
    profile = profile or current_profile()
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; use one of {', '.join(PROFILES)}")
    values = table[profile]
    unknown = [key for key in overrides or {} if key not in values]
    if unknown:
        raise SettingError(f"no setting {unknown[0]!r} to override; this lesson's settings are {', '.join(values)}")
    return Settings({**values, **(overrides or {})}, profile)
