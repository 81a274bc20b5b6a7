"""Checks shared by test_lstm.py and test_gru.py (a plain module: pytest collects nothing here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

TOL = {"rtol": 1e-10, "atol": 1e-12}


def assert_outputs_and_grads_close(
    outputs_and_grads: Callable[[nn.Module, torch.Tensor, Any], list[torch.Tensor]],
    module: nn.Module,
    reference: nn.Module,
    x: torch.Tensor,
    state: Any,
) -> None:
    """``outputs_and_grads(m, x, state)`` of the two modules agree, item by item, within TOL."""
    for got, expected in zip(
        outputs_and_grads(module, x, state), outputs_and_grads(reference, x, state), strict=True
    ):
        torch.testing.assert_close(got, expected, **TOL)
