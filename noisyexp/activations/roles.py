"""The two roles a unit plays in a model, and the factories a model is built from.

A *gate* unit is sigmoid-like (LSTM/GRU gates), a *cell* unit tanh-like (candidates, the LSTM's
cell output, MLP hidden layers). Every layer, config and schedule reads the roles from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

__all__ = ["ROLES", "ROLE_ATTRIBUTE", "UnitFactory", "Units"]

#: model role -> the kind of unit it takes
ROLES = {"gate": "sigmoid", "cell": "tanh"}
#: the attribute a built unit's role is kept in (read by role-targeted noise schedules)
ROLE_ATTRIBUTE = "noise_role"

UnitFactory = Callable[[int], nn.Module]
"""Builds an activation unit for a layer of ``num_units`` features (the last dimension)."""


@dataclass(frozen=True)
class Units:
    """The two unit factories a model is built from: ``gate`` (sigmoid-like) and ``cell``
    (tanh-like)."""

    gate: UnitFactory
    cell: UnitFactory
