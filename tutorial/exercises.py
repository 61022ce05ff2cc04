"""Exercises with automatic checks, in the manner of CS231n: run the learner's function on fixed inputs and
compare with a trusted answer (a PyTorch built-in, or the lesson's own code).

An exercise stub raises ``NotImplementedError``; :func:`check` then says "not attempted yet" and lets the
notebook run on. A wrong answer raises ``AssertionError`` with the largest error and a hint.
"""
from __future__ import annotations

from typing import Callable, Iterable

import torch


def _max_relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    actual, expected = actual.double(), expected.double()
    return float(((actual - expected).abs() / (expected.abs() + actual.abs()).clamp_min(1e-8)).max())


def check(name: str, candidate: Callable, reference: Callable, inputs: Iterable[tuple], atol: float = 1e-5,
          rtol: float = 1e-4, hint: str = "") -> bool:
    """Compare ``candidate(*args)`` with ``reference(*args)`` for each ``args`` in ``inputs``.

    Returns True when all match; False when the stub is not filled in yet; raises AssertionError otherwise.
    """
    results = []
    for number, args in enumerate(inputs):
        try:
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
