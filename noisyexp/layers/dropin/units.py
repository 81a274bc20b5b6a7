"""The drop-ins' ``unit=`` choice and knobs, turned into one unit factory per role.

One place decides what ``unit="nan"``, ``"reference"`` or ``"hard"`` builds for the gates and for
the cells, and refuses a bad name or knob at construction (naming the role) rather than at the
first forward.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from torch import nn

from noisyexp.activations.registry import UNIT_TYPES, make_unit
from noisyexp.activations.roles import ROLE_ATTRIBUTE, ROLES, UnitFactory

__all__ = ["unit_choices", "unit_factories"]

#: ``unit=`` names that pick a different, noise-free type per role: role -> unit type
_PAIRS = {
    "reference": {"gate": "sigmoid", "cell": "tanh"},
    "hard": {"gate": "hard_sigmoid", "cell": "hard_tanh"},
}


def unit_choices() -> tuple[str, ...]:
    """The values ``unit=`` takes: ``reference``, ``hard`` and every registered noisy type."""
    return (*_PAIRS, *(name for name, spec in UNIT_TYPES.items() if spec.noisy))


def _role_unit(
    type_name: str, kind: str, role: str, knobs: dict[str, Any], num_units: int
) -> nn.Module:
    """One unit of ``role`` (a :data:`~noisyexp.activations.roles.UnitFactory` via partial)."""
    unit = make_unit(type_name, num_units, kind=kind, **knobs)
    setattr(unit, ROLE_ATTRIBUTE, role)
    return unit


def unit_factories(
    owner: str,
    unit: str,
    knobs: dict[str, Any],
    gate_knobs: Mapping[str, Any] | None,
    cell_knobs: Mapping[str, Any] | None,
) -> dict[str, UnitFactory]:
    """Role -> factory of its units, each unit tagged with its role.

    Args:
        owner: the class name the errors start with.
        unit: one of :func:`unit_choices`.
        knobs: knobs for both roles.
        gate_knobs, cell_knobs: knobs for one role only (they win over ``knobs``).

    Returns:
        ``{"gate": factory, "cell": factory}``; a factory takes the number of units.

    Raises:
        ValueError: an unknown unit, or a knob a role's unit type does not take.
        TypeError: ``gate_knobs`` or ``cell_knobs`` is not a mapping.
    """
    choices = unit_choices()
    if not isinstance(unit, str) or unit not in choices:
        raise ValueError(f"{owner}: unknown unit {unit!r}; choose one of: {', '.join(choices)}")
    per_role = {"gate": gate_knobs, "cell": cell_knobs}
    factories = {}
    for role, kind in ROLES.items():
        extra = per_role[role]
        if extra is not None and not isinstance(extra, Mapping):
            raise TypeError(f"{owner}: {role}_knobs must be a dict, got {type(extra).__name__}")
        role_knobs = {**knobs, **(extra or {})}
        type_name = _PAIRS[unit][role] if unit in _PAIRS else unit
        try:  # one unit now, so a bad knob fails at construction, naming the role
            make_unit(type_name, 1, kind=kind, **role_knobs)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{owner}(unit={unit!r}), {role} units: {err}") from None
        factories[role] = partial(_role_unit, type_name, kind, role, role_knobs)
    return factories
