"""Will the model fit? Its memory, estimated before anything is allocated.

The model is built on PyTorch's ``meta`` device (shapes only, no storage) to count its
parameters exactly; each parameter costs its weight, its gradient and the optimizer's state
(two moments for Adam and RMSProp with momentum, one for SGD with momentum). Activations are
estimated from the task's sizes: batch x sequence length x layers x widths, with a factor for
the gates, states and noise an LSTM unit keeps for the backward pass. A run whose estimate
exceeds ``trainer.memory_budget_gb`` (default: 80% of the device's memory) is refused with the
numbers, before its first allocation.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any

import torch
from torch import nn

from noisyexp.core.errors import ConfigError

__all__ = ["check_memory", "default_budget_bytes", "estimate_bytes"]

log = logging.getLogger(__name__)
GIB = 1 << 30
_ACTIVATION_FACTOR = 16  # values kept per unit, step and example (gates, states, noise, grads)
_LENGTH_KEYS = ("bptt", "unroll", "seq_len", "max_len", "max_length", "length", "num_steps")
_WIDTH_KEYS = ("hidden_size", "hidden_sizes", "embedding_size", "emb_size", "memory_size")


def _ints(value: Any) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
    return []


def activation_elements(task_cfg: Any) -> int:
    """Rough count of the activation values one training step keeps (0 if sizes are unknown)."""
    if not dataclasses.is_dataclass(task_cfg):
        return 0
    fields = {f.name: getattr(task_cfg, f.name) for f in dataclasses.fields(task_cfg)}
    batch = max([*_ints(fields.get("batch_size")), 1])
    length = max([1, *(n for key in _LENGTH_KEYS for n in _ints(fields.get(key)))])
    widths = sum(n for key in _WIDTH_KEYS for n in _ints(fields.get(key)))
    layers = max([*_ints(fields.get("num_layers")), 1])
    return batch * length * layers * widths * _ACTIVATION_FACTOR


def _optimizer_copies(optim: Any) -> int:
    name = getattr(optim, "name", "adam")
    momentum = bool(getattr(optim, "momentum", 0))
    if name == "adam":
        return 2
    if name == "rmsprop":
        return 1 + int(momentum)
    return int(momentum)


def estimate_bytes(model: nn.Module, task_cfg: Any, optim: Any) -> tuple[int, int]:
    """``(parameter bytes incl. gradients and optimizer state, activation bytes)``."""
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    params *= 2 + _optimizer_copies(optim)
    return params, activation_elements(task_cfg) * 4


def default_budget_bytes(device: torch.device) -> int | None:
    """80% of the device's memory (None when it cannot be read)."""
    try:
        if device.type == "cuda":
            total = torch.cuda.get_device_properties(device).total_memory
        else:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError, RuntimeError):
        return None
    return int(total * 0.8)


def check_memory(build: Any, cfg: Any, device: torch.device) -> None:
    """Build the model with ``build()`` on the meta device and refuse it if it cannot fit.

    Raises:
        ConfigError: the estimate exceeds the budget (the message gives both, in GiB).
    """
    budget_gb = cfg.trainer.memory_budget_gb
    budget = int(budget_gb * GIB) if budget_gb is not None else default_budget_bytes(device)
    if budget is None:
        return
    activations = activation_elements(cfg.task) * 4
    if activations > budget:  # no need to build the model to know
        _refuse(0, activations, budget)
    try:
        with torch.device("meta"):
            model = build()
    except Exception as err:  # a model that cannot be built on meta: skip the estimate
        log.debug("memory estimate skipped: %s", err)
        return
    params, activations = estimate_bytes(model, cfg.task, cfg.optim)
    if params + activations > budget:
        _refuse(params, activations, budget)


def _refuse(params: int, activations: int, budget: int) -> None:
    raise ConfigError(
        f"the model needs about {(params + activations) / GIB:.3g} GiB (parameters, gradients "
        f"and optimizer state {params / GIB:.3g} GiB, activations {activations / GIB:.3g} GiB), "
        f"over the budget of {budget / GIB:.3g} GiB; shrink the task's sizes or raise "
        f"trainer.memory_budget_gb"
    )
