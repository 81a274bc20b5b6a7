"""``NoisyLSTMCell`` and ``NoisyGRUCell``: the drop-ins for ``nn.LSTMCell`` and ``nn.GRUCell``.

A cell is one step of one inner layer, with the weights under the cell's names (``weight_ih``,
...); what only the cells have is the one-step input (batched or not) and torch's checks and
messages for it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from noisyexp.layers.dropin.base import DropIn, check_sizes
from noisyexp.layers.dropin.lent_layers import LentGRU, LentLSTM, LentWeights

__all__ = ["NoisyGRUCell", "NoisyLSTMCell"]


class _NoisyRNNCell(DropIn):
    """What :class:`NoisyLSTMCell` and :class:`NoisyGRUCell` share: one step of a one-layer
    :class:`~noisyexp.layers.dropin.lent_layers.LentLSTM`/``LentGRU`` (``rnn``)."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, **options: Any
    ) -> None:
        check_sizes(type(self).__name__, input_size=input_size, hidden_size=hidden_size)
        super().__init__(input_size, hidden_size, bias, {"": input_size}, **options)

    def _keep_layers(self, layers: dict[str, LentWeights]) -> None:
        (self.rnn,) = layers.values()

    def _layers(self) -> list[LentWeights]:
        return [self.rnn]

    @classmethod
    def _nn_arguments(cls, module: nn.Module) -> dict[str, Any]:
        return {
            "input_size": module.input_size,
            "hidden_size": module.hidden_size,
            "bias": module.bias,
        }

    def forward(self, input: torch.Tensor, hx: Any = None) -> Any:
        """One step, as ``nn.LSTMCell.forward`` / ``nn.GRUCell.forward``.

        Args:
            input: (B, input_size), or (input_size,) unbatched.
            hx: (h, c) for an LSTM cell, h for a GRU cell, each (B, hidden_size) (unbatched:
                (hidden_size,)); zeros when None.

        Returns:
            (h', c') for an LSTM cell, h' for a GRU cell, shaped as ``hx``.

        Raises:
            ValueError: input or state of the wrong rank, or input of the wrong dtype.
            RuntimeError: wrong feature, state or batch size.
        """
        owner = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{owner}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        batched = input.dim() == 2
        parts = None if hx is None else self._state_parts(hx)
        for index, part in enumerate(parts or ()):
            if part.dim() != input.dim():
                raise ValueError(
                    f"{owner}: Expected hx[{index}] to be {input.dim()}D like the input, "
                    f"got {part.dim()}D instead"
                )
        x = input if batched else input.unsqueeze(0)
        if x.dtype != self.weight_ih.dtype:
            raise ValueError(
                f"{owner} input dtype ({x.dtype}) does not match weight dtype "
                f"({self.weight_ih.dtype})"
            )
        if x.size(1) != self.input_size:
            raise RuntimeError(
                f"input has inconsistent input_size: got {x.size(1)} expected {self.input_size}"
            )
        batch = x.size(0)
        if parts is None:
            parts = self._zero_state(x, batch, self.hidden_size)
        else:
            parts = parts if batched else tuple(part.unsqueeze(0) for part in parts)
            for index, part in enumerate(parts):
                if part.size(0) != batch:
                    raise RuntimeError(
                        f"Input batch size {batch} doesn't match hidden{index} batch size "
                        f"{part.size(0)}"
                    )
                if part.size(1) != self.hidden_size:
                    raise RuntimeError(
                        f"hidden{index} has inconsistent hidden_size: got {part.size(1)}, "
                        f"expected {self.hidden_size}"
                    )
        _, final = self._call(0)(x.unsqueeze(0), parts)
        if not batched:
            final = tuple(part.squeeze(0) for part in final)
        return self._nn_state(final)

    def extra_repr(self) -> str:
        bias = "" if self.bias else ", bias=False"
        return f"{self.input_size}, {self.hidden_size}{bias}, unit={self.unit!r}"


class NoisyLSTMCell(_NoisyRNNCell):
    """Drop-in ``nn.LSTMCell`` with units (arguments as
    :class:`~noisyexp.layers.dropin.NoisyLSTM`, without the sequence ones); parameters
    ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``."""

    _layer_class = LentLSTM
    _nn_class = nn.LSTMCell


class NoisyGRUCell(_NoisyRNNCell):
    """Drop-in ``nn.GRUCell`` with units (arguments as :class:`NoisyLSTMCell`)."""

    _layer_class = LentGRU
    _nn_class = nn.GRUCell
