"""The per-step hyperparameters: the epoch's learning rate and the noise schedule's c.

The schedule's c goes to the units of the roles ``noise.roles`` names (default: every noisy unit).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from noisyexp.activations import schedules
from noisyexp.config.optimizers import learning_rate
from noisyexp.config.schema import RunConfig, noise_roles

__all__ = ["StepSchedules"]


class StepSchedules:
    """Sets each step's lr on the optimizer and the noise schedule's c on the model's units."""

    def __init__(
        self,
        cfg: RunConfig,
        optimizer: torch.optim.Optimizer,
        model: nn.Module,
        steps_per_epoch: int,
    ) -> None:
        self.optim = cfg.optim
        params = dataclasses.asdict(cfg.noise)
        self.roles = noise_roles(params.pop("roles", None))  # None: every noisy unit
        self.noise = schedules.make_schedule(**params)
        self.optimizer = optimizer
        self.model = model
        self.steps_per_epoch = steps_per_epoch

    def apply(self, step: int) -> tuple[float, float | None]:
        """Set and return ``(lr, c)`` of ``step``; c is None when the units keep their own."""
        lr = learning_rate(self.optim, step // self.steps_per_epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        c = self.noise(step)
        if c is not None:
            schedules.set_noise_scale(self.model, c, self.roles)
        return lr, c
