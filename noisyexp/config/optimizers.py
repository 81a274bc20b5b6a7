"""The optimizer a config names (a registry of builders), and its per-epoch learning rate.

Adding an optimizer = a builder here, its entry in :data:`OPTIMIZERS`, and a YAML file
``conf/optim/<name>.yaml`` (its knobs are :class:`~noisyexp.config.schema.OptimConfig`'s).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import nn

from noisyexp.core.errors import ConfigError

if TYPE_CHECKING:  # the schema validates optim.name against OPTIMIZERS: only it imports us
    from noisyexp.config.schema import OptimConfig

__all__ = ["OPTIMIZERS", "learning_rate", "make_optimizer"]

Builder = Callable[[list[nn.Parameter], "OptimConfig", bool], torch.optim.Optimizer]
"""(parameters, optim config, capturable) -> optimizer; capturable: its step may be captured in
a CUDA graph (the state that counts steps stays on the device)."""


def _sgd(params: list[nn.Parameter], optim: OptimConfig, capturable: bool) -> torch.optim.Optimizer:
    del capturable  # SGD keeps no step count: its step is capturable as it is
    return torch.optim.SGD(
        params, lr=optim.lr, momentum=optim.momentum, weight_decay=optim.weight_decay
    )


def _adam(
    params: list[nn.Parameter], optim: OptimConfig, capturable: bool
) -> torch.optim.Optimizer:
    return torch.optim.Adam(
        params,
        lr=optim.lr,
        betas=tuple(optim.betas),
        eps=optim.eps,
        weight_decay=optim.weight_decay,
        capturable=capturable,
    )


def _rmsprop(
    params: list[nn.Parameter], optim: OptimConfig, capturable: bool
) -> torch.optim.Optimizer:
    return torch.optim.RMSprop(
        params,
        lr=optim.lr,
        alpha=optim.rms_alpha,
        eps=optim.eps,
        momentum=optim.momentum,
        weight_decay=optim.weight_decay,
        capturable=capturable,
    )


#: optimizer name (``optim.name``) -> builder(parameters, optim config)
OPTIMIZERS: dict[str, Builder] = {"sgd": _sgd, "adam": _adam, "rmsprop": _rmsprop}


def learning_rate(optim: OptimConfig, epoch: int) -> float:
    """lr of 0-based ``epoch``: decayed by ``lr_decay`` each epoch from ``lr_decay_start_epoch``."""
    return optim.lr * optim.lr_decay ** max(0, epoch + 1 - optim.lr_decay_start_epoch)


def make_optimizer(
    optim: OptimConfig, model: nn.Module, *, capturable: bool = False
) -> torch.optim.Optimizer:
    """The optimizer ``optim.name`` over every parameter of ``model`` (the units' p included);
    ``capturable`` when its step will run inside a CUDA graph.

    Raises:
        ConfigError: ``optim.name`` is not in :data:`OPTIMIZERS`.
    """
    if optim.name not in OPTIMIZERS:
        raise ConfigError(f"optim={optim.name!r} is not one of: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[optim.name](list(model.parameters()), optim, capturable)
