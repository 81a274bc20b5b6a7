"""Turn an ``act`` config into the two unit factories that models are built from.

Nothing here lists unit types: every knob a config sets is handed to the activation library's
registry (``activations.make_unit``), whose unit signatures accept or reject it.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

from torch import nn

from noisyexp import activations
from noisyexp.activations.roles import Units
from noisyexp.activations.schedules import ROLE_ATTRIBUTE  # each built unit's role, for noise.roles
from noisyexp.config.schema import ActConfig, UnitConfig, canonical_act_name
from noisyexp.core.errors import ConfigError

__all__ = [
    "ROLES",
    "ROLE_ATTRIBUTE",
    "act_from_dict",
    "build_units",
    "effective_act",
    "unit_params",
]

#: model role -> the kind of unit it takes: gates are sigmoid-like, cells tanh-like
ROLES = {"gate": "sigmoid", "cell": "tanh"}
#: UnitConfig field -> the unit's keyword argument, where the two names differ
_ARGUMENT_NAMES = {"clip": "clip_output"}
#: the act-level knobs that override both units (``act.c=0.5`` sweeps the noise scale)
_ACT_KNOBS = ("c", "alpha", "clip")


def _accepted(unit_type: str) -> set[str]:
    spec = activations.unit_type(unit_type)
    return set(spec.knobs) | ({"c"} if spec.scale_knob == "sigma" else set())  # c aliases σ


def unit_params(unit: UnitConfig, act: ActConfig) -> dict[str, Any]:
    """Keyword arguments for :func:`activations.make_unit`: every knob that was set.

    A unit's own knobs are passed whether or not its type takes them (so a typo is an error,
    not a silent no-op); ``None``/``False`` mean "unset". The act-level ``c``, ``alpha`` and
    ``clip`` go to the units that take them.
    """
    params: dict[str, Any] = {}
    for item in dataclasses.fields(UnitConfig):
        value = getattr(unit, item.name)
        if item.name != "type" and value is not None and value is not False:
            params[_ARGUMENT_NAMES.get(item.name, item.name)] = value
    accepted = _accepted(unit.type)
    for knob in _ACT_KNOBS:
        value = getattr(act, knob)
        argument = _ARGUMENT_NAMES.get(knob, knob)
        if value is not None and argument in accepted:
            params[argument] = value
    return params


def _make(
    type_name: str, kind: str, params: dict[str, Any], num_units: int, *, role: str | None = None
) -> nn.Module:
    unit = activations.make_unit(type_name, num_units, kind=kind, **params)
    if role is not None:
        setattr(unit, ROLE_ATTRIBUTE, role)
    return unit


def _check_act_knobs(act: ActConfig) -> None:
    for knob in _ACT_KNOBS:
        value = getattr(act, knob)
        argument = _ARGUMENT_NAMES.get(knob, knob)
        units = [getattr(act, role).type for role in ROLES]
        if value is not None and not any(argument in _accepted(t) for t in units):
            raise ConfigError(
                f"act.{knob}={value}: no unit of act={act.name} ({', '.join(units)}) takes {knob}"
            )


def build_units(act: ActConfig) -> Units:
    """Factories for the gate (sigmoid-like) and cell (tanh-like) units of ``act``.

    Every unit they build carries its role (``gate`` or ``cell``) in the attribute
    :data:`ROLE_ATTRIBUTE`, which a role-targeted noise schedule reads.

    Raises:
        ConfigError: a knob no unit takes, or a value the activation library rejects.
    """
    _check_act_knobs(act)
    factories = {}
    for role, kind in ROLES.items():
        unit: UnitConfig = getattr(act, role)
        params = unit_params(unit, act)
        try:  # build one now so a bad value fails before any data is read
            _make(unit.type, kind, params, 1)
        except ValueError as err:
            raise ConfigError(f"act.{role}: {err}") from None
        factories[role] = partial(_make, unit.type, kind, params, role=role)
    return Units(gate=factories["gate"], cell=factories["cell"])


def act_from_dict(act: dict[str, Any]) -> ActConfig:
    """The :class:`ActConfig` of an ``act`` section as a run saved it (checkpoint or summary).

    Raises:
        KeyError, TypeError: the section lacks a field or has one the schema does not know.
        ConfigError: a value the schema rejects.
    """
    return ActConfig(
        name=act["name"],
        gate=UnitConfig(**act["gate"]),
        cell=UnitConfig(**act["cell"]),
        c=act.get("c"),
        alpha=act.get("alpha"),
        clip=act.get("clip"),
    )


def effective_act(act: dict[str, Any]) -> dict[str, Any]:
    """What an act config (as saved in a run) builds: canonical name, each unit's full arguments.

    Two configs that build the same units compare equal, e.g. ``act=noisy_tanh`` with its
    α and c written out (runs from before the rename) and ``act=nan`` leaving them to the paper
    defaults. A config that cannot be read this way is returned as it is.
    """
    try:
        config = act_from_dict(act)
    except (KeyError, TypeError, ConfigError):
        return act
    resolved: dict[str, Any] = {"name": canonical_act_name(config.name)}
    for role, kind in ROLES.items():
        unit: UnitConfig = getattr(config, role)
        try:
            spec = activations.unit_type(unit.type)
            params = unit_params(unit, config)
            if spec.scale_knob == "sigma" and "c" in params:
                params["sigma"] = params.pop("c")
            full = {**activations.paper_defaults(unit.type, kind), **params} if spec.noisy else {}
        except ValueError:
            return act
        resolved[role] = {"type": unit.type, **full}
    return resolved
