"""Noise-scale schedules: pure functions of the optimizer step, and one call that applies c.

Section 6.6 of the paper anneals c from 30 to 0.5 as c_t = c_0/√(t + 1), t incremented every
200 updates; :func:`anneal_c` implements it with the (inferred) floor max(c_min, ·). The other
schedules are the usual alternatives for ablations. Like ``activations.py`` this file depends
on torch alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from torch import nn

__all__ = ["SCHEDULES", "anneal_c", "constant_c", "exponential_c", "linear_c", "set_noise_scale"]


def _check_step(step: int) -> None:
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")


def _check_every(every: int) -> None:
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")


def constant_c(step: int, c0: float = 0.5) -> float:
    """c_t = c0 at every step."""
    _check_step(step)
    return float(c0)


def anneal_c(step: int, c0: float = 30.0, c_min: float = 0.5, every: int = 200) -> float:
    """The paper's annealing (§6.6): max(c_min, c0/√(⌊step/every⌋ + 1)).

    With the defaults: 30 at steps 0-199, 21.21 at 200, 12.25 at 1000, 4.69 at 8000; the floor
    0.5 is reached at step 719,800.
    """
    _check_step(step)
    _check_every(every)
    return max(float(c_min), c0 / math.sqrt(step // every + 1))


def linear_c(step: int, c0: float = 30.0, c_min: float = 0.5, total_steps: int = 10_000) -> float:
    """Straight line from c0 at step 0 to c_min at ``total_steps``, then c_min."""
    _check_step(step)
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    fraction = min(step, total_steps) / total_steps
    return c0 + (c_min - c0) * fraction


def exponential_c(
    step: int, c0: float = 30.0, decay: float = 0.99, every: int = 1, c_min: float = 0.0
) -> float:
    """max(c_min, c0·decay^⌊step/every⌋): c is multiplied by ``decay`` every ``every`` steps."""
    _check_step(step)
    _check_every(every)
    if not 0.0 < decay <= 1.0:
        raise ValueError(f"decay must be in (0, 1], got {decay}")
    return max(float(c_min), c0 * decay ** (step // every))


#: schedule name -> function(step, **params) -> c
SCHEDULES: dict[str, Callable[..., float]] = {
    "constant": constant_c,
    "anneal": anneal_c,
    "linear": linear_c,
    "exponential": exponential_c,
}


def set_noise_scale(model: nn.Module, c: float) -> int:
    """Set c on every module of ``model`` that has a ``set_noise_scale`` method.

    Duck typing: any unit with that method counts, not only those of ``activations.py``.
    Returns how many modules were set, so a caller can warn when a schedule has nothing to act on.
    """
    count = 0
    for module in model.modules():
        setter = getattr(module, "set_noise_scale", None)
        if callable(setter):
            setter(c)
            count += 1
    return count
