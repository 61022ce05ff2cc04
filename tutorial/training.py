"""Training plumbing that is not the lesson: progress bars, a live loss plot, a NaN guard, checkpoints.

- :func:`progress` is tqdm.auto: a widget bar in JupyterLab, a text bar elsewhere.
- :class:`LossHistory` records named values per step and redraws one plot in place in a notebook
  (prints a line instead when headless).
- :func:`check_finite` stops training with a clear message the moment a loss turns NaN or infinite.
- :class:`Checkpoint` and :func:`train_or_load` make training resumable: state is written atomically after
  every epoch, keyed by name, profile and settings, and read back with ``torch.load(weights_only=True)``.
- :func:`autograd_on` turns gradients back on whatever the caller's mode: ``train_or_load`` trains inside it,
  so a model that is first needed inside ``torch.no_grad()`` (the judge of generated digits) still trains.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Callable

import torch
from tqdm.auto import tqdm

from .images import _in_notebook


def progress(iterable=None, **kwargs):
    """A progress bar (tqdm.auto): a widget in JupyterLab, text in a terminal or a log."""
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, **kwargs)


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; the message says where and what usually causes it."""


def check_finite(value, step=None, what: str = "loss") -> float:
    """Return ``value`` as a float, or stop with a clear message if it is NaN or infinite."""
    number = float(value.detach() if isinstance(value, torch.Tensor) else value)
    if math.isfinite(number):
        return number
    where = f" at step {step}" if step is not None else ""
    raise NonFiniteLossError(
        f"The {what} became {number}{where}, so training stopped before it could spoil the weights.\n"
        "Usual causes: a learning rate too high for this batch size; log or division of an exact 0 "
        "(add a small epsilon, or use a numerically stable loss such as BCEWithLogitsLoss); inputs outside "
        "the range the model expects.\n"
        "Finished epochs are kept in the last checkpoint: lower the learning rate and run the cell again."
    )


class LossHistory:
    """Named values (losses, accuracies...) per step, with a plot that updates in place in a notebook.

    >>> history = LossHistory(live_every=50)
    >>> history.log(step, loss=..., accuracy=...)   # call every step; the plot redraws every 50 steps
    """

    def __init__(self, live_every: int = 0, title: str = "training", smooth: int = 1, plot=None):
        self.records: list[dict] = []
        self.plot = list(plot) if plot else None  # the names the figure draws (default: all of them)
        self.live_every = live_every
        self.title = title
        self.smooth = smooth
        self._handle = None
        self._printed = 0.0
        self.seconds = 0.0  # wall-clock seconds spent training (train_or_load adds each epoch's), kept on reload

    def log(self, step: int, **values) -> None:
        self.records.append({"step": int(step), **{k: float(v) for k, v in values.items()}})
        if self.live_every and len(self.records) % self.live_every == 0:
            self.show()

    def series(self, name: str) -> tuple[list[int], list[float]]:
        rows = [r for r in self.records if name in r]
        return [r["step"] for r in rows], [r[name] for r in rows]

    def names(self) -> list[str]:
        return list(dict.fromkeys(k for r in self.records for k in r if k != "step"))

    def last(self, name: str) -> float:
        return self.series(name)[1][-1]

    def figure(self):
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 3))
        for name in [n for n in self.names() if self.plot is None or n in self.plot]:
            steps, values = self.series(name)
            if self.smooth > 1 and len(values) >= self.smooth:
                k = self.smooth
                values = [sum(values[max(0, i - k + 1): i + 1]) / len(values[max(0, i - k + 1): i + 1])
                          for i in range(len(values))]
            ax.plot(steps, values, label=name)
        ax.set_xlabel("step")
        ax.set_title(self.title)
        if self.names():
            ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        return fig

    def show(self) -> None:
        """Redraw the plot in place (notebook), or print the latest values at most every 5 s (headless)."""
        if not self.records:
            return
        if _in_notebook():
            import matplotlib.pyplot as plt
            from IPython.display import display

            fig = self.figure()
            if self._handle is None:
                self._handle = display(fig, display_id=True)
            else:
                self._handle.update(fig)
            plt.close(fig)
        elif time.time() - self._printed > 5:
            self._printed = time.time()
            last = self.records[-1]
            print(f"{self.title} step {last['step']}: "
                  + ", ".join(f"{k}={v:.4g}" for k, v in last.items() if k != "step"), flush=True)

    def state_dict(self) -> dict:
        return {"records": [dict(r) for r in self.records], "seconds": float(self.seconds)}

    def load_state_dict(self, state: dict) -> None:
        self.records = [dict(r) for r in state["records"]]
        self.seconds = float(state.get("seconds", 0.0))  # 0 for a checkpoint saved before times were kept


@contextlib.contextmanager
def autograd_on():
    """Record gradients inside this block even when the caller is in ``torch.no_grad()`` or
    ``torch.inference_mode()``: training needs them, and whoever asks for a trained model (an evaluation,
    which rightly runs without gradients) should not have to know that it may be trained first."""
    with torch.inference_mode(False), torch.enable_grad():
        yield


class CheckpointMismatchError(RuntimeError):
    """A checkpoint file exists but was made for another model, profile or settings."""


class CheckpointUnreadableError(RuntimeError):
    """A checkpoint file is intact but holds objects that a safe (weights-only) load refuses. Nothing is moved
    or deleted: the message says what to do."""


def unused_path(path: Path, suffix: str) -> Path:
    """``path`` with ``suffix`` appended, or with ``suffix-2``, ``suffix-3``, ... if that file exists: an aside
    copy never overwrites an earlier one."""
    candidate, number = path.with_name(path.name + suffix), 2
    while candidate.exists():
        candidate, number = path.with_name(f"{path.name}{suffix}-{number}"), number + 1
    return candidate


def _settings_key(settings: dict) -> str:
    blob = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:10]


def checkpoint_dir() -> Path:
    """Where checkpoints live: ``TUTORIAL_CHECKPOINTS``, else ``checkpoints/`` in the data folder."""
    from .data import data_dir

    env = os.environ.get("TUTORIAL_CHECKPOINTS", "").strip()
    return Path(env).expanduser() if env else data_dir() / "checkpoints"


# How long a run trains is not part of what it is: a finished run asked for more epochs continues.
RUN_LENGTH = "epochs"


class Checkpoint:
    """One resumable training run on disk, keyed by ``name``, profile and settings.

    The file name carries a hash of the settings, so changing a setting starts a new file rather than
    loading weights that belong to another configuration; a file whose recorded key differs is refused.
    The setting ``epochs`` (:data:`RUN_LENGTH`) is left out of the key: a run of 5 epochs is a run of 3 that
    went on, so it continues the same file. A trainer whose steps depend on the run's total length (a
    one-cycle learning rate) records that length under another name, which makes a longer run a new one.
    """

    def __init__(self, name: str, settings: dict, profile: str | None = None, folder: Path | None = None):
        from .profiles import current_profile

        self.name = name
        self.profile = profile or getattr(settings, "profile", None) or current_profile()
        identity = {k: v for k, v in dict(settings).items() if k != RUN_LENGTH}
        self.settings = json.loads(json.dumps(identity, sort_keys=True, default=str))
        self.key = _settings_key({"name": name, "profile": self.profile, "settings": self.settings})
        self.path = Path(folder or checkpoint_dir()) / f"{name}-{self.profile}-{self.key}.pt"

    def load(self) -> dict | None:
        """The saved state, or None if there is none. A corrupt file is moved aside; a mismatched one refused."""
        if not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as error:
            if zipfile.is_zipfile(self.path) and "weights only load failed" in str(error).lower():
                # a whole file that holds something beyond plain tensors: unsafe to unpickle, but not corrupt
                raise CheckpointUnreadableError(
                    f"{self.path} is intact, but it holds Python objects that a safe load (torch.load with "
                    f"weights_only=True) refuses, so it was not loaded ({str(error).splitlines()[0]}). It was "
                    "probably written by another version of this course or of torch. Nothing was moved or deleted: "
                    "delete the file to train again, or train with force=True, which keeps it aside as a copy."
                ) from None
            aside = unused_path(self.path, ".corrupt")  # truncated, or not a checkpoint at all
            os.replace(self.path, aside)
            print(f"Checkpoint {self.path.name} is damaged ({type(error).__name__}: {str(error).splitlines()[0]}); "
                  f"moved it to {aside.name} and starting fresh.")
            return None
        meta = state.get("meta", {}) if isinstance(state, dict) else {}
        expected = {"name": self.name, "profile": self.profile, "key": self.key}
        found = {k: meta.get(k) for k in expected}
        if found != expected:
            raise CheckpointMismatchError(
                f"{self.path} was written for {found}, not {expected}. It belongs to another run: delete it, "
                "or train with force=True, which keeps it aside as a copy."
            )
        return state

    def others(self) -> list[tuple[Path, list[str]]]:
        """The other checkpoints of this name and profile on disk, each with the settings in which it differs
        from this run (``"lr: 0.1 -> 0.2"``); files that cannot be read are left out."""
        found = []
        for path in sorted(self.path.parent.glob(f"{self.name}-{self.profile}-*.pt")):
            if path == self.path:
                continue
            try:
                meta = torch.load(path, map_location="cpu", weights_only=True, mmap=True).get("meta", {})
                theirs = json.loads(meta["settings"])
            except Exception:
                continue
            if meta.get("name") != self.name or meta.get("profile") != self.profile:
                continue
            keys = sorted(set(theirs) | set(self.settings))
            changed = [f"{k}: {theirs.get(k, '(none)')} -> {self.settings.get(k, '(none)')}" for k in keys
                       if theirs.get(k) != self.settings.get(k)]
            found.append((path, changed))
        return found

    def save(self, state: dict) -> Path:
        """Write ``state`` (tensors, dicts, lists, numbers, strings) atomically: a crash never leaves half a file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        state = {**state, "meta": {"name": self.name, "profile": self.profile, "key": self.key,
                                   "settings": json.dumps(self.settings, sort_keys=True)}}
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent)
        os.close(fd)
        try:
            torch.save(state, tmp)
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return self.path


@autograd_on()
def train_or_load(name: str, settings: dict, modules: dict, epochs: int,
                  train_epoch: Callable[[int], dict | None], history: LossHistory | None = None,
                  force: bool = False, folder: Path | None = None, quiet: bool = False) -> LossHistory:
    """Train ``modules`` for ``epochs`` epochs, or load them if a finished checkpoint exists.

    ``modules`` maps names to anything with ``state_dict``/``load_state_dict`` (models and optimizers).
    ``train_epoch(epoch)`` runs one epoch. After each epoch everything is saved, so an interrupted run
    resumes at the first unfinished epoch. ``history.seconds`` adds up the wall-clock time of the epochs
    trained and is saved with them, so a loaded run still says how long it took to train. A finished run asked
    for more ``epochs`` than it has continues from its last epoch, exactly as an interrupted one resumes (the
    length is not part of the key: see :class:`Checkpoint`); one that has more is loaded as it is, and says
    so. When no checkpoint fits, the other runs of this name on disk are named with the settings in which
    they differ, so a changed setting is never a silent fresh start. ``force=True``
    ignores any checkpoint and trains from scratch; an existing file is first moved aside (``.replaced``,
    never overwriting an earlier copy), so no finished run is lost. Training runs with gradients on
    (:func:`autograd_on`), whatever mode the caller is in.
    """
    history = history or LossHistory()
    checkpoint = Checkpoint(name, settings, folder=folder)
    if force and checkpoint.path.exists():
        aside = unused_path(checkpoint.path, ".replaced")
        os.replace(checkpoint.path, aside)
        if not quiet:
            print(f"force=True: training {name} from scratch; the previous checkpoint is kept as {aside.name}")
    state = None if force else checkpoint.load()
    start = 0
    if state is not None:
        try:
            for key, module in modules.items():
                module.load_state_dict(state["modules"][key])
        except (KeyError, RuntimeError, ValueError) as error:
            raise CheckpointMismatchError(
                f"{checkpoint.path} does not fit these modules ({error}). The model code changed since it was "
                "saved: delete the file or pass force=True."
            ) from None
        history.load_state_dict(state["history"])
        if "rng" in state:
            torch.set_rng_state(state["rng"])
        start = int(state["epoch"])
        if not quiet:
            if start == epochs:
                print(f"Loaded the finished run from {checkpoint.path}")
            elif start > epochs:
                print(f"Loaded the run from {checkpoint.path}: it has trained {start} epochs, more than the {epochs} "
                      f"asked for, and is used as it is (force=True trains exactly {epochs}, keeping it aside)")
            else:
                print(f"Continuing after epoch {start} of {epochs}: {checkpoint.path}")
    elif not quiet and not force:
        for path, changed in checkpoint.others():
            print(f"Training {name} from scratch: {path.name} is a run with other settings "
                  f"({'; '.join(changed) or 'other code'}), kept as it is")
    for epoch in range(start, epochs):
        started = time.perf_counter()
        train_epoch(epoch)
        history.seconds += time.perf_counter() - started
        checkpoint.save({"epoch": epoch + 1, "modules": {k: m.state_dict() for k, m in modules.items()},
                         "history": history.state_dict(), "rng": torch.get_rng_state()})
    return history
