"""Helpers over a whole model's units: noise generators, saturation statistics."""

from __future__ import annotations

import torch
from torch import nn

from .modules import NoisyUnit, Unit

__all__ = ["noisy_modules", "saturation_stats", "set_noise_generator", "track_saturation"]


def noisy_modules(model: nn.Module) -> list[NoisyUnit]:
    """Every noisy unit inside ``model`` (including ``model`` itself)."""
    return [module for module in model.modules() if isinstance(module, NoisyUnit)]


def set_noise_generator(model: nn.Module, generator: torch.Generator | None) -> int:
    """Make every noisy unit of ``model`` draw from ``generator``; returns how many."""
    units = noisy_modules(model)
    for unit in units:
        unit.generator = generator
    return len(units)


def track_saturation(model: nn.Module, enabled: bool = True) -> int:
    """Switch saturation tracking on every unit of ``model``; returns how many units."""
    units = [module for module in model.modules() if isinstance(module, Unit)]
    for unit in units:
        unit.track_saturation = enabled
        if not enabled:
            unit.last_saturation = None
    return len(units)


def saturation_stats(model: nn.Module) -> dict[str, float]:
    """Module name -> fraction of its last forward's inputs with |x| ≥ threshold.

    Only units with ``track_saturation`` on that have run a forward are listed.
    """
    return {
        name: float(module.last_saturation.mean())
        for name, module in model.named_modules()
        if isinstance(module, Unit)
        and module.track_saturation
        and module.last_saturation is not None
    }
