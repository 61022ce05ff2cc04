"""Exercises with automatic checks, in the manner of CS231n: run the learner's function on fixed inputs and
compare with a trusted answer (a PyTorch built-in, or the lesson's own code).

An exercise stub raises ``NotImplementedError``; :func:`check` then says "not attempted yet" and lets the
notebook run on. A wrong answer raises ``AssertionError`` with the largest error and a hint, and so does
an answer that calls one of the notebook's own functions it was asked to write. An answer that is empty
or malformed (it returns nothing, returns something of the wrong kind, or stops with an error) gets a
printed message that says what happened, and ``check`` returns False, with no traceback to read.
"""
from __future__ import annotations

import contextlib
import numbers
import sys
import types
from typing import Callable, Iterable

import torch


def _max_relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    actual, expected = actual.double(), expected.double()
    return float(((actual - expected).abs() / (expected.abs() + actual.abs()).clamp_min(1e-8)).max())


class ForbiddenCallError(AssertionError):
    """The answer called one of the notebook's own functions that the exercise asks the learner to write."""


class _Forbidden:
    """Stands in for a function the learner must write themselves, for the length of one check."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, *args, **kwargs):
        raise ForbiddenCallError(f"this exercise asks you to write it yourself: your answer calls {self.name}, "
                                 f"which computes the answer and is switched off while it is checked.")


def _filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:  # a closure variable not assigned yet
        return False
    return True


@contextlib.contextmanager
def _switched_off(candidate: Callable, forbid: Iterable):
    """Replace every name bound to a forbidden object, in the candidate's globals, its closure and the
    module that defines the object, by a stub that fails; restore them afterwards."""
    forbid = list(forbid)
    if not forbid:
        yield
        return
    own = getattr(candidate, "__globals__", {})
    namespaces = [own]
    namespaces += [vars(sys.modules[f.__module__]) for f in forbid if getattr(f, "__module__", None) in sys.modules]
    # modules the notebook reaches functions through, as in ``F.conv2d`` or ``torch.autograd.grad``
    reached = list(own.values()) + [cell.cell_contents for cell in getattr(candidate, "__closure__", None) or ()
                                    if _filled(cell)]
    modules = [m for m in reached if isinstance(m, types.ModuleType)]
    modules += [m.autograd for m in modules if isinstance(getattr(m, "autograd", None), types.ModuleType)]
    namespaces += [vars(m) for m in modules]
    unique = {id(space): space for space in namespaces}
    saved = []
    for space in unique.values():
        for key, value in list(space.items()):
            if any(value is f for f in forbid):
                saved.append((space, key, value))
                space[key] = _Forbidden(getattr(value, "__name__", key))
    cells = [cell for cell in (getattr(candidate, "__closure__", None) or ())
             if _filled(cell) and any(cell.cell_contents is f for f in forbid)]
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


def _describe(value) -> str:
    """A short description of a value for a message: a tensor's shape and dtype, else its type (and value)."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} ({str(value.dtype).replace('torch.', '')})"
    if isinstance(value, (numbers.Number, str)):
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type(value).__name__}"


def _malformed(name: str, number: int, message: str) -> bool:
    print(f"[!] {name}, case {number}: {message}")
    return False


def check(name: str, candidate: Callable, reference: Callable, inputs: Iterable[tuple], atol: float = 1e-5,
          rtol: float = 1e-4, hint: str = "", forbid: Iterable = ()) -> bool:
    """Compare ``candidate(*args)`` with ``reference(*args)`` for each ``args`` in ``inputs``.

    ``forbid`` lists the notebook's own functions that the answer must not call (they are switched off
    while the candidate runs), so an exercise cannot be passed by calling the code it asks for. The
    reference itself is always switched off too: an answer that calls the checker's own answer fails.
    Returns True when all match. Returns False, with a printed message, when the stub is not filled in
    yet or the answer is malformed: it returns None (a missing ``return``), returns something that is
    not a tensor or number where one is expected, or raises an exception. Raises AssertionError (with
    the hint) when the answer gives a wrong value or shape, or calls a forbidden function.
    """
    results = []
    forbid = list(forbid)
    if callable(reference) and not any(reference is f for f in forbid):
        forbid.append(reference)  # the check's own answer is never the learner's to call
    inputs = list(inputs)
    if not inputs:
        raise ValueError(f"{name}: check() needs at least one test case, got none")
    if not callable(candidate):
        print(f"[!] {name}: the answer should be a function, but it is {_describe(candidate)}. Define it with "
              f"def and pass the function itself (no parentheses after its name).")
        return False
    for number, args in enumerate(inputs):
        try:
            with _switched_off(candidate, forbid):
                got = candidate(*args)
        except NotImplementedError:
            print(f"[ ] {name}: not attempted yet. Fill in the function and run this cell again.")
            return False
        except ForbiddenCallError as error:
            raise ForbiddenCallError(f"{name}, case {number}: {error}") from None
        except AssertionError as error:  # an assert in the answer, or in the check's own wrapper
            message = str(error).rstrip(".") or "an assert in your function failed"
            raise AssertionError(f"{name}, case {number}: {message}. {hint}".strip()) from None
        except Exception as error:  # noqa: BLE001 - any other error is reported, not raised at the learner
            inputs_text = ", ".join(_describe(a) for a in args)
            return _malformed(name, number, f"your function raised {type(error).__name__}: {error}\n"
                                            f"    It was called with: {inputs_text}.\n"
                                            f"    Call it yourself on such inputs to see the full traceback.")
        if got is None:
            return _malformed(name, number, "your function returned nothing (None). Did you forget `return`?")
        want = reference(*args)
        if isinstance(want, torch.Tensor):
            if isinstance(got, torch.Tensor):
                got = got.detach().to(want.device)
            elif isinstance(got, numbers.Number) and not isinstance(got, bool) and want.dim() == 0:
                got = torch.tensor(got)
            else:
                return _malformed(name, number, f"your function returned {_describe(got)}; expected a tensor of "
                                                f"shape {tuple(want.shape)}.")
            if got.dtype.is_complex or got.dtype == torch.bool:
                return _malformed(name, number, f"your function returned {_describe(got)}; expected a real "
                                                f"{str(want.dtype).replace('torch.', '')} tensor.")
        elif isinstance(want, numbers.Number):
            if isinstance(got, torch.Tensor) and got.numel() == 1:
                got = got.item()
            if not isinstance(got, numbers.Number):
                return _malformed(name, number, f"your function returned {_describe(got)}; expected a number "
                                                f"({type(want).__name__}).")
        if not isinstance(want, torch.Tensor):
            if got != want:
                raise AssertionError(f"{name}, case {number}: got {got!r}, expected {want!r}. {hint}".strip())
            continue
        if got.shape != want.shape:
            raise AssertionError(f"{name}, case {number}: shape {tuple(got.shape)}, expected {tuple(want.shape)}. "
                                 f"{hint}".strip())
        if not torch.isfinite(got).all() and torch.isfinite(want).all():
            raise AssertionError(f"{name}, case {number}: your answer contains NaN or infinity where the "
                                 f"expected one is finite. {hint}".strip())
        if not torch.allclose(got.double(), want.double(), atol=atol, rtol=rtol):
            raise AssertionError(f"{name}, case {number}: values differ (max relative error "
                                 f"{_max_relative_error(got, want):.2e}). {hint}".strip())
        results.append(_max_relative_error(got, want))
    worst = f" (max relative error {max(results):.1e})" if results else ""
    print(f"[x] {name}: correct on {number + 1} test case(s){worst}.")
    return True
