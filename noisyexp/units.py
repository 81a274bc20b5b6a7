"""Turn an ``act`` config into the two unit factories that models are built from."""

from __future__ import annotations

from functools import partial

from torch import nn

from noisyexp import activations
from noisyexp.config import REFERENCE_UNIT_TYPES, SIGMA_UNIT_TYPES, ActConfig, UnitConfig
from noisyexp.errors import ConfigError
from noisyexp.tasks.base import Units

__all__ = ["build_units", "unit_params"]

_ALPHA_TYPES = ("nan", "nah", "laplace", "nan_fixed_p")


def unit_params(unit: UnitConfig, act: ActConfig) -> dict[str, object]:
    """Keyword overrides for :func:`activations.make_unit` (only the knobs that were set)."""
    params: dict[str, object] = {}
    c = act.c if act.c is not None else unit.c
    alpha = act.alpha if act.alpha is not None else unit.alpha
    if unit.type in REFERENCE_UNIT_TYPES:
        return params
    if c is not None:
        params["sigma" if unit.type in SIGMA_UNIT_TYPES else "c"] = c
    if alpha is not None and unit.type in _ALPHA_TYPES:
        params["alpha"] = alpha
    if unit.type == "nanil" and unit.softplus:
        params["softplus"] = True
    if unit.type == "nah" and unit.test_mean is not None:
        params["test_mean"] = unit.test_mean
    clip = act.clip if act.clip is not None else unit.clip
    if clip and unit.type in _ALPHA_TYPES:  # the output-noise units
        params["clip_output"] = True
    return params


def _make(type_name: str, kind: str, params: dict[str, object], num_units: int) -> nn.Module:
    return activations.make_unit(type_name, num_units, kind=kind, **params)


def build_units(act: ActConfig) -> Units:
    """Factories for the gate (sigmoid-like) and cell (tanh-like) units of ``act``.

    Raises:
        ConfigError: a unit's parameters are rejected by the activation library.
    """
    factories = {}
    for role, kind in (("gate", "sigmoid"), ("cell", "tanh")):
        unit: UnitConfig = getattr(act, role)
        params = unit_params(unit, act)
        try:  # build one now so a bad value fails before any data is read
            _make(unit.type, kind, params, 1)
        except ValueError as err:
            raise ConfigError(f"act.{role}: {err}") from None
        factories[role] = partial(_make, unit.type, kind, params)
    return Units(gate=factories["gate"], cell=factories["cell"])
