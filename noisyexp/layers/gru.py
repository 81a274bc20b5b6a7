"""A multi-layer GRU whose sigmoids and tanh are pluggable units (v3 Fig 8, char-level PTB).

Same equations and parameter layout as ``nn.GRU`` (gate order r, z, n)::

    r, z = gate([W_ir x + b_ir + W_hr h + b_hr,  W_iz x + b_iz + W_hz h + b_hz])   # one call, 2H
    n    = cell(W_in x + b_in + r * (W_hn h + b_hn))
    h'   = (1 - z) * n + z * h

Per layer there are two unit modules: ``units.{k}.gate`` over the 2·H concatenated r, z
pre-activations (units [0, H) are r, [H, 2H) are z) and ``units.{k}.candidate`` for n. Weights
move to and from ``nn.GRU`` with ``load_state_dict(..., strict=False)`` or
:func:`noisyexp.layers.lstm.lstm_weights` (it keeps the ``weight_*``/``bias_*`` keys of any RNN).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from noisyexp.activations.roles import UnitFactory
from noisyexp.layers.fast_step import (
    WindowNoise,
    apply_unit,
    chunks,
    compiled,
    join_chunks,
    observe,
    split_steps,
)
from noisyexp.layers.recurrent import RecurrentWeightGrad, _RecurrentLayer

__all__ = ["GRU"]


class _GRUUnits(nn.Module):
    """The two unit modules of one layer."""

    def __init__(self, hidden_size: int, gate_unit: UnitFactory, cell_unit: UnitFactory) -> None:
        super().__init__()
        self.gate = gate_unit(2 * hidden_size)
        self.candidate = cell_unit(hidden_size)


class GRU(_RecurrentLayer):
    """Drop-in ``nn.GRU`` (time-major, unidirectional, with biases) with pluggable units.

    Args (see :class:`~noisyexp.layers.recurrent._RecurrentLayer`): ``input_size``,
    ``hidden_size`` (features of h), ``num_layers``, keyword-only ``gate_unit`` (sigmoid-like, for
    r and z), ``cell_unit`` (tanh-like, for n), ``dropout`` and ``fused`` (use nn.GRU's kernel;
    ``None`` = when both units are plain reference ones).
    """

    _num_gates = 3
    _units_class = _GRUUnits
    _reference_kinds = (("gate", "sigmoid"), ("candidate", "tanh"))

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
        self._check_input(x)
        if state is None:
            state = self._zero_state(x)
        if self.fused:
            weights = self._flat_weights()
            # nn.GRU's functional kernel (args: bias, layers, dropout, train, bidirectional,
            # batch_first).
            return torch._VF.gru(
                x, state, weights, True, self.num_layers, self.dropout, self.training, False, False
            )
        output, h_last = self._run_layers(x, [state[layer] for layer in range(self.num_layers)])
        return output, torch.stack(h_last)

    def _run_layer(
        self, layer: int, x: torch.Tensor, h: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
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
        if self._use_fast_step(layer):
            return self._fast_loop(units, projected, recurrent_bias, recurrent_t, previous_h, h)
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
        output = torch.stack(outputs)  # (T, B, H)
        return output, output[-1]

    def _fast_loop(
        self,
        units: _GRUUnits,
        projected: torch.Tensor,
        recurrent_bias: torch.Tensor,
        recurrent_t: torch.Tensor,
        previous_h: list[torch.Tensor],
        h: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The time loop of :meth:`_run_layer` as compiled multi-step calls (see fast_step)."""
        order = (units.gate, units.candidate)
        steps, batch = projected.shape[:2]
        noise = WindowNoise(order, steps, batch, projected)
        kernel = compiled(_gru_steps)
        first_h = h
        outputs = []
        parts = zip(chunks(steps), split_steps(projected), split_steps(recurrent_bias), strict=True)
        for (start, stop), x_part, bias_part in parts:
            output, h = kernel(units, x_part, bias_part, h, recurrent_t, noise.chunk(start, stop))
            outputs.append(output)
        output = join_chunks(outputs, first_h, previous_h)  # (T, B, H)
        if any(getattr(unit, "track_saturation", False) for unit in order):
            with torch.no_grad():  # what the plain path's units saw in the last step
                hidden = self.hidden_size
                last_h = output[-2] if steps > 1 else first_h
                recurrent = torch.addmm(recurrent_bias[-1], last_h, recurrent_t)
                x_rz, x_n = projected[-1].split([2 * hidden, hidden], dim=1)
                recurrent_rz, recurrent_n = recurrent.split([2 * hidden, hidden], dim=1)
                rz_pre = x_rz + recurrent_rz
                gate_noise = noise.chunk(steps - 1, steps)[0]
                gate_noise = None if gate_noise is None else gate_noise[0]
                reset = apply_unit(units.gate, rz_pre, gate_noise)[:, :hidden]
                observe(order, (rz_pre, torch.addcmul(x_n, reset, recurrent_n)))
        return output, h


def _gru_steps(
    units: _GRUUnits,
    projected: torch.Tensor,
    recurrent_bias: torch.Tensor,
    h: torch.Tensor,
    recurrent_t: torch.Tensor,
    noise: tuple[torch.Tensor | None, ...],
) -> tuple[torch.Tensor, torch.Tensor]:
    """A few GRU steps: outputs (k, B, H) and the final h."""
    hidden = h.size(1)
    outputs = []
    for step in range(projected.size(0)):
        recurrent = torch.addmm(recurrent_bias[step], h, recurrent_t)  # (B, 3H)
        x_rz, x_n = projected[step].split([2 * hidden, hidden], dim=1)
        recurrent_rz, recurrent_n = recurrent.split([2 * hidden, hidden], dim=1)
        gate_noise, candidate_noise = (None if n is None else n[step] for n in noise)
        reset, update = apply_unit(units.gate, x_rz + recurrent_rz, gate_noise).chunk(2, dim=1)
        candidate = apply_unit(
            units.candidate, torch.addcmul(x_n, reset, recurrent_n), candidate_noise
        )
        h = torch.lerp(candidate, h, update)  # (1 - z) * n + z * h
        outputs.append(h)
    return torch.stack(outputs), h
