"""Exercises with automatic checks, in the manner of CS231n: run the learner's function on fixed inputs and
compare with a trusted answer (a PyTorch built-in, or the lesson's own code).

An exercise stub raises ``NotImplementedError``; :func:`check` then says "not attempted yet" and lets the
notebook run on. A wrong answer raises ``AssertionError`` with the largest error and a hint.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterable

import torch


def _max_relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    actual, expected = actual.double(), expected.double()
    return float(((actual - expected).abs() / (expected.abs() + actual.abs()).clamp_min(1e-8)).max())


class _Forbidden:
    """Stands in for a function the learner must write themselves, for the length of one check."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, *args, **kwargs):
        raise AssertionError(f"this exercise asks you to write it yourself: your answer calls the notebook's own "
                             f"{self.name}, which is switched off while it is checked.")


@contextlib.contextmanager
def _switched_off(candidate: Callable, forbid: Iterable):
    """Replace every name bound to a forbidden object, in the candidate's globals, its closure and the
    module that defines the object, by a stub that fails; restore them afterwards."""
    forbid = list(forbid)
    if not forbid:
        yield
        return
    namespaces = [getattr(candidate, "__globals__", {})]
    namespaces += [vars(sys.modules[f.__module__]) for f in forbid if getattr(f, "__module__", None) in sys.modules]
    saved = []
    for space in namespaces:
        for key, value in list(space.items()):
            if any(value is f for f in forbid):
                saved.append((space, key, value))
                space[key] = _Forbidden(getattr(value, "__name__", key))
    cells = [cell for cell in (getattr(candidate, "__closure__", None) or ())
             if any(cell.cell_contents is f for f in forbid)]
    closed = [(cell, cell.cell_contents) for cell in cells]
    for cell, value in closed:
        cell.cell_contents = _Forbidden(getattr(value, "__name__", "it"))
    try:
        yield
    finally:
        for space, key, value in reversed(saved):
            space[key] = value
        for cell, value in closed:
            cell.cell_contents = value


def check(name: str, candidate: Callable, reference: Callable, inputs: Iterable[tuple], atol: float = 1e-5,
          rtol: float = 1e-4, hint: str = "", forbid: Iterable = ()) -> bool:
    """Compare ``candidate(*args)`` with ``reference(*args)`` for each ``args`` in ``inputs``.

    ``forbid`` lists the notebook's own functions that the answer must not call (they are switched off
    while the candidate runs), so an exercise cannot be passed by calling the code it asks for.
    Returns True when all match; False when the stub is not filled in yet; raises AssertionError otherwise.
    """
    results = []
    forbid = list(forbid)
    inputs = list(inputs)
    if not inputs:
        raise ValueError(f"{name}: check() needs at least one test case, got none")
    for number, args in enumerate(inputs):
        try:
            with _switched_off(candidate, forbid):
                got = candidate(*args)
        except NotImplementedError:
            print(f"[ ] {name}: not attempted yet. Fill in the function and run this cell again.")
            return False
        want = reference(*args)
        if not isinstance(want, torch.Tensor):
            if got != want:
                raise AssertionError(f"{name}, case {number}: got {got!r}, expected {want!r}. {hint}".strip())
            continue
        got = torch.as_tensor(got)
        if got.shape != want.shape:
            raise AssertionError(f"{name}, case {number}: shape {tuple(got.shape)}, expected {tuple(want.shape)}. "
                                 f"{hint}".strip())
        if not torch.allclose(got.double(), want.double(), atol=atol, rtol=rtol):
            raise AssertionError(f"{name}, case {number}: values differ (max relative error "
                                 f"{_max_relative_error(got, want):.2e}). {hint}".strip())
        results.append(_max_relative_error(got, want))
    worst = f" (max relative error {max(results):.1e})" if results else ""
    print(f"[x] {name}: correct on {number + 1} test case(s){worst}.")
    return True
