"""What a model is built from: factories of activation units, one per role."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

__all__ = ["UnitFactory", "Units"]

UnitFactory = Callable[[int], nn.Module]
"""Builds an activation unit for a layer of ``num_units`` features (the last dimension)."""


@dataclass(frozen=True)
class Units:
    """The two unit factories a model is built from.

    ``gate`` is sigmoid-like (LSTM/GRU gates), ``cell`` is tanh-like (candidates, cell output,
    MLP hidden layers).
    """

    gate: UnitFactory
    cell: UnitFactory
