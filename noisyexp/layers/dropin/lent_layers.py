"""One-layer LSTM/GRU layers that run on weights their owner lends them per call.

A drop-in keeps every weight under nn's names on itself (one copy: one place for ``.to``,
``load_state_dict(assign=True)``, ``functional_call`` and optimizers); each direction of each
layer is one of these :mod:`~noisyexp.layers.lstm`/:mod:`~noisyexp.layers.gru` layers, which keep
their units and their paths (nn's fused kernel, the loop, ``fast_step``) but no weights.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from noisyexp.layers.gru import GRU
from noisyexp.layers.lstm import LSTM

__all__ = ["LentGRU", "LentLSTM", "LentWeights", "State", "StateCall", "state_call"]

State = tuple[torch.Tensor, ...]
"""A recurrent state as a tuple of tensors: (h,) for a GRU, (h, c) for an LSTM."""
StateCall = Callable[[torch.Tensor, State], tuple[torch.Tensor, State]]
"""``call(x (T, B, F), state) -> (output (T, B, H), final state)``, states as (B, H) tuples."""


class LentWeights(nn.Module):
    """Mixin for a one-layer LSTM/GRU layer without weights of its own: :meth:`run` lends them."""

    _lent: list[torch.Tensor] | None

    def forget_weights(self) -> None:
        """Drop the layer's own parameters: from now on it runs only on lent ones."""
        for name in [name for name, _ in self.named_parameters(recurse=False)]:
            delattr(self, name)
        self._lent = None

    def _layer_weights(self, layer: int) -> list[torch.Tensor]:
        if self._lent is None:
            raise RuntimeError(f"{type(self).__name__} runs only inside its owner's forward")
        return list(self._lent)

    def _flat_weights(self) -> list[torch.Tensor]:
        return self._layer_weights(0)

    def run(self, x: torch.Tensor, state: Any, weights: list[torch.Tensor]) -> Any:
        """``self(x, state)`` with ``weights`` (w_ih, w_hh, b_ih, b_hh) as the layer's own."""
        self._lent = weights
        try:
            return self(x, state)
        finally:
            self._lent = None


class LentLSTM(LentWeights, LSTM):
    """One direction of one layer of a ``NoisyLSTM`` (or the layer of a ``NoisyLSTMCell``)."""


class LentGRU(LentWeights, GRU):
    """One direction of one layer of a ``NoisyGRU`` (or the layer of a ``NoisyGRUCell``)."""


def state_call(layer: LentWeights, weights: list[torch.Tensor]) -> StateCall:
    """``layer`` on ``weights`` as a :data:`StateCall`: one state shape for LSTMs and GRUs.

    Args:
        layer: the one-layer layer to run.
        weights: w_ih, w_hh, b_ih, b_hh, lent for each call.

    Returns:
        The call; an LSTM's state is (h, c), a GRU's (h,).
    """
    lstm = isinstance(layer, LSTM)

    def call(x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        inner = tuple(part.unsqueeze(0) for part in state)
        output, final = layer.run(x, inner if lstm else inner[0], weights)
        final = final if isinstance(final, tuple) else (final,)
        return output, tuple(part[0] for part in final)

    return call
