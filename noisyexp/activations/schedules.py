"""Noise-scale schedules: one frozen dataclass per schedule, and one call that applies c.

A schedule's fields are exactly its config knobs (``conf/noise/<name>.yaml``), with their
defaults; calling it with the optimizer step gives c_t, or ``None`` when units keep their own c.
Section 6.6 of the paper anneals c from 30 to 0.5 as c_t = c_0/√(t + 1), t incremented every
200 updates: :class:`Anneal` implements it with the (inferred) floor max(c_min, ·). The other
schedules are the usual alternatives for ablations.

Adding a schedule = a dataclass here, an entry in :data:`SCHEDULES`, and a YAML file
``conf/noise/<name>.yaml`` whose defaults list ``base_<name>`` (its schema is derived from the
dataclass). Part of the unit library: torch and the standard library alone.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

from torch import nn

from .roles import ROLE_ATTRIBUTE

__all__ = [
    "ROLE_ATTRIBUTE",
    "SCHEDULES",
    "Anneal",
    "Constant",
    "Exponential",
    "Linear",
    "make_schedule",
    "set_noise_scale",
]


def _check_step(step: int) -> None:
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")


def _check_scale(key: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{key} must be a finite number >= 0, got {value}")


def _check_at_least_one(key: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"{key} must be >= 1, got {value}")


@dataclass(frozen=True)
class Constant:
    """No schedule: each unit keeps the c of its act option for the whole run."""

    def __call__(self, step: int) -> float | None:
        _check_step(step)
        return None


@dataclass(frozen=True)
class Anneal:
    """The paper's annealing (§6.6): max(c_min, c0/√(⌊step/every⌋ + 1)).

    With the defaults: 30 at steps 0-199, 21.21 at 200, 12.25 at 1000, 4.69 at 8000; the floor
    0.5 is reached at step 719,800.
    """

    c0: float = 30.0
    c_min: float = 0.5
    every: int = 200

    def __post_init__(self) -> None:
        _check_scale("c0", self.c0)
        _check_scale("c_min", self.c_min)
        _check_at_least_one("every", self.every)

    def __call__(self, step: int) -> float:
        _check_step(step)
        return max(float(self.c_min), self.c0 / math.sqrt(step // self.every + 1))


@dataclass(frozen=True)
class Linear:
    """Straight line from c0 at step 0 to c_min at ``decay_steps``, then c_min."""

    c0: float = 5.0
    c_min: float = 0.5
    decay_steps: int = 10_000

    def __post_init__(self) -> None:
        _check_scale("c0", self.c0)
        _check_scale("c_min", self.c_min)
        _check_at_least_one("decay_steps", self.decay_steps)

    def __call__(self, step: int) -> float:
        _check_step(step)
        fraction = min(step, self.decay_steps) / self.decay_steps
        return self.c0 + (self.c_min - self.c0) * fraction


@dataclass(frozen=True)
class Exponential:
    """max(c_min, c0·rate^⌊step/every⌋): c is multiplied by ``rate`` every ``every`` steps."""

    c0: float = 5.0
    c_min: float = 0.5
    rate: float = 0.9
    every: int = 200

    def __post_init__(self) -> None:
        _check_scale("c0", self.c0)
        _check_scale("c_min", self.c_min)
        if not 0.0 < self.rate <= 1.0:
            raise ValueError(f"rate must be in (0, 1], got {self.rate}")
        _check_at_least_one("every", self.every)

    def __call__(self, step: int) -> float:
        _check_step(step)
        return max(float(self.c_min), self.c0 * self.rate ** (step // self.every))


#: schedule name (the ``noise=`` option) -> its dataclass
SCHEDULES: dict[str, type] = {
    "constant": Constant,
    "anneal": Anneal,
    "linear": Linear,
    "exponential": Exponential,
}


def make_schedule(name: str, **params: object):
    """The schedule ``name`` with ``params`` overriding its defaults.

    Raises:
        ValueError: an unknown name or knob, or a value the schedule rejects.
    """
    if name not in SCHEDULES:
        raise ValueError(f"unknown noise schedule {name!r}; choose one of: {', '.join(SCHEDULES)}")
    try:
        return SCHEDULES[name](**params)
    except TypeError as err:  # a knob the schedule does not have
        raise ValueError(f"noise schedule {name!r}: {err}") from None


def set_noise_scale(model: nn.Module, c: float, roles: Collection[str] | None = None) -> int:
    """Set c on every module of ``model`` that has a ``set_noise_scale`` method.

    Duck typing: any unit with that method counts, not only those of this library.
    ``roles`` (e.g. ``["cell"]``) restricts it to units whose ``noise_role`` attribute is one of
    them (a unit without the attribute is then left alone); ``None`` sets every unit.
    Returns how many modules were set, so a caller can warn when a schedule has nothing to act on.
    """
    count = 0
    for module in model.modules():
        setter = getattr(module, "set_noise_scale", None)
        if roles is not None and getattr(module, ROLE_ATTRIBUTE, None) not in roles:
            continue
        if callable(setter):
            setter(c)
            count += 1
    return count
