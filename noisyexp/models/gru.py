"""A multi-layer GRU whose sigmoids and tanh are pluggable units (v3 Fig 8, char-level PTB).

Same equations and parameter layout as ``nn.GRU`` (gate order r, z, n)::

    r, z = gate([W_ir x + b_ir + W_hr h + b_hr,  W_iz x + b_iz + W_hz h + b_hz])   # one call, 2H
    n    = cell(W_in x + b_in + r * (W_hn h + b_hn))
    h'   = (1 - z) * n + z * h

Per layer there are two unit modules: ``units.{k}.gate`` over the 2·H concatenated r, z
pre-activations (units [0, H) are r, [H, 2H) are z) and ``units.{k}.candidate`` for n. Weights
move to and from ``nn.GRU`` with ``load_state_dict(..., strict=False)`` or
:func:`noisyexp.models.lstm.lstm_weights` (it keeps the ``weight_*``/``bias_*`` keys of any RNN).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from noisyexp.models.lstm import RecurrentWeightGrad, is_reference_unit
from noisyexp.tasks.base import UnitFactory

__all__ = ["GRU"]


class _GRUUnits(nn.Module):
    """The two unit modules of one layer."""

    def __init__(self, hidden_size: int, gate_unit: UnitFactory, cell_unit: UnitFactory) -> None:
        super().__init__()
        self.gate = gate_unit(2 * hidden_size)
        self.candidate = cell_unit(hidden_size)


class GRU(nn.Module):
    """Drop-in ``nn.GRU`` (time-major, unidirectional, with biases) with pluggable units.

    Args:
        input_size: features of x.
        hidden_size: features of h.
        num_layers: stacked layers.
        gate_unit: builds a sigmoid-like unit for ``n`` features.
        cell_unit: builds a tanh-like unit for ``n`` features.
        dropout: dropout on the output of every layer but the last (training only), as nn.GRU.
        fused: use nn.GRU's kernel. ``None`` = when both units are plain reference ones;
            ``True`` with other units raises ValueError.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        gate_unit: UnitFactory,
        cell_unit: UnitFactory,
        dropout: float = 0.0,
        fused: bool | None = None,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size
            self.register_parameter(
                f"weight_ih_l{layer}", nn.Parameter(torch.empty(3 * hidden_size, layer_input))
            )
            self.register_parameter(
                f"weight_hh_l{layer}", nn.Parameter(torch.empty(3 * hidden_size, hidden_size))
            )
            self.register_parameter(f"bias_ih_l{layer}", nn.Parameter(torch.empty(3 * hidden_size)))
            self.register_parameter(f"bias_hh_l{layer}", nn.Parameter(torch.empty(3 * hidden_size)))
        self.units = nn.ModuleList(
            _GRUUnits(hidden_size, gate_unit, cell_unit) for _ in range(num_layers)
        )
        reference = all(
            is_reference_unit(unit.gate, "sigmoid") and is_reference_unit(unit.candidate, "tanh")
            for unit in self.units
        )
        if fused and not reference:
            raise ValueError("fused=True needs plain sigmoid/tanh units; use fused=None or False")
        self.fused = reference if fused is None else fused
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(±1/sqrt(hidden_size)) for every weight and bias, as nn.GRU."""
        bound = self.hidden_size**-0.5
        for weight in self.parameters(recurse=False):
            nn.init.uniform_(weight, -bound, bound)

    def _layer_weights(self, layer: int) -> list[torch.Tensor]:
        return [
            getattr(self, f"{kind}_l{layer}")
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        ]

    def forward(
        self, x: torch.Tensor, state: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the sequence.

        Args:
            x: (T, B, input_size).
            state: h of shape (num_layers, B, hidden_size); zeros when None.

        Returns:
            output (T, B, hidden_size) of the last layer, and the final h.
        """
        if state is None:
            state = x.new_zeros(self.num_layers, x.size(1), self.hidden_size)
        if self.fused:
            weights = [w for layer in range(self.num_layers) for w in self._layer_weights(layer)]
            # nn.GRU's functional kernel (args: bias, layers, dropout, train, bidirectional,
            # batch_first).
            return torch._VF.gru(
                x, state, weights, True, self.num_layers, self.dropout, self.training, False, False
            )
        h_last = []
        output = x
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0:
                output = F.dropout(output, self.dropout, self.training)
            output = self._run_layer(layer, output, state[layer])
            h_last.append(output[-1])
        return output, torch.stack(h_last)

    def _run_layer(self, layer: int, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        hidden = self.hidden_size
        units = self.units[layer]
        weight_ih, weight_hh, bias_ih, bias_hh = self._layer_weights(layer)
        projected = F.linear(x, weight_ih, bias_ih)  # (T, B, 3H): W_i x + b_i for r, z, n
        # b_hh rides in the recurrent product: n needs r * (W_hn h + b_hn), not r * W_hn h.
        recurrent_bias = bias_hh.expand_as(projected)  # (T, B, 3H)
        previous_h: list[torch.Tensor] = []
        if torch.is_grad_enabled() and weight_hh.requires_grad:
            # dW_hh in one matmul after the loop (see RecurrentWeightGrad)
            recurrent_bias = recurrent_bias + RecurrentWeightGrad.apply(
                weight_hh, previous_h, projected.shape
            )
        recurrent_t = weight_hh.detach().t()  # (H, 3H)
        outputs = []
        # unbind: one gradient stack in backward, not T zero-filled ones
        for x_step, bias_step in zip(projected.unbind(0), recurrent_bias.unbind(0), strict=True):
            previous_h.append(h.detach())
            recurrent = torch.addmm(bias_step, h, recurrent_t)  # (B, 3H)
            # split, not slicing: one backward concatenation instead of zero-filled copies
            x_rz, x_n = x_step.split([2 * hidden, hidden], dim=1)
            recurrent_rz, recurrent_n = recurrent.split([2 * hidden, hidden], dim=1)
            reset, update = units.gate(x_rz + recurrent_rz).chunk(2, dim=1)  # (B, H) each
            candidate = units.candidate(torch.addcmul(x_n, reset, recurrent_n))
            h = torch.lerp(candidate, h, update)  # (1 - z) * n + z * h
            outputs.append(h)
        return torch.stack(outputs)  # (T, B, H)

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
            f"dropout={self.dropout}, fused={self.fused}"
        )
