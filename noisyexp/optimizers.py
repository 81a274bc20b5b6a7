"""The optimizer a config names, and its per-epoch learning rate."""

from __future__ import annotations

import torch
from torch import nn

from noisyexp.config import OptimConfig

__all__ = ["learning_rate", "make_optimizer"]


def learning_rate(optim: OptimConfig, epoch: int) -> float:
    """lr of 0-based ``epoch``: decayed by ``lr_decay`` each epoch from ``lr_decay_start_epoch``."""
    return optim.lr * optim.lr_decay ** max(0, epoch + 1 - optim.lr_decay_start_epoch)


def make_optimizer(optim: OptimConfig, model: nn.Module) -> torch.optim.Optimizer:
    """SGD, Adam or RMSprop over every parameter of ``model`` (the units' p included)."""
    params = list(model.parameters())
    if optim.name == "sgd":
        return torch.optim.SGD(
            params, lr=optim.lr, momentum=optim.momentum, weight_decay=optim.weight_decay
        )
    if optim.name == "adam":
        return torch.optim.Adam(
            params,
            lr=optim.lr,
            betas=tuple(optim.betas),
            eps=optim.eps,
            weight_decay=optim.weight_decay,
        )
    return torch.optim.RMSprop(
        params,
        lr=optim.lr,
        alpha=optim.rms_alpha,
        eps=optim.eps,
        momentum=optim.momentum,
        weight_decay=optim.weight_decay,
    )
