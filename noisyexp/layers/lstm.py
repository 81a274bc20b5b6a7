"""A multi-layer LSTM whose every sigmoid and tanh is a pluggable unit (paper §6.3).

The paper replaces *all* of an LSTM's nonlinearities by noisy ones: the input, forget and output
gates (sigmoid-like "gate" units), the candidate cell value and the tanh applied to the cell
before the output gate (tanh-like "cell" units). This layer takes the two unit factories and
builds, per layer, three unit modules so that each has its own per-unit parameters (p):

* ``units.{k}.gate``: one gate unit over the 3·H concatenated i, f, o pre-activations (one call
  instead of three; units [0, H) are i, [H, 2H) are f, [2H, 3H) are o);
* ``units.{k}.candidate``: the cell unit of the candidate g (H units);
* ``units.{k}.cell_output``: the cell unit applied to c_t before the output gate (H units).

Parameters carry ``nn.LSTM``'s names and layout (``weight_ih_l{k}`` of shape (4H, in), rows in
gate order i, f, g, o, ...), so weights move both ways with ``load_state_dict(..., strict=False)``
(the unit modules' own parameters are the only extra keys) or with :func:`lstm_weights`.

Speed: the input projection of all time steps is one matmul; the time loop only does the
recurrent matmul and the elementwise work, and the recurrent weight's gradient is one matmul after
the loop (:class:`RecurrentWeightGrad`) rather than T small ones. With plain reference units
(``nn.Sigmoid``/``nn.Tanh`` or ``activations.Sigmoid``/``Tanh``) ``fused=None`` runs
``nn.LSTM``'s own kernel instead. ``scripts/bench_lstm.py`` measures all three paths.
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
from noisyexp.layers.recurrent import RecurrentWeightGrad, _RecurrentLayer, is_reference_unit

__all__ = ["LSTM", "LSTMState", "lstm_weights", "is_reference_unit", "RecurrentWeightGrad"]

LSTMState = tuple[torch.Tensor, torch.Tensor]
"""(h, c), each of shape (num_layers, B, hidden_size)."""


def lstm_weights(module: nn.Module) -> dict[str, torch.Tensor]:
    """The ``weight_*``/``bias_*`` entries of an LSTM's state dict (drop the unit modules' keys).

    ``nn.LSTM(...).load_state_dict(lstm_weights(custom))`` and the reverse both work strictly.
    """
    return {
        key: value
        for key, value in module.state_dict().items()
        if key.startswith(("weight_ih_l", "weight_hh_l", "bias_ih_l", "bias_hh_l"))
    }


class _LSTMUnits(nn.Module):
    """The three unit modules of one layer."""

    def __init__(self, hidden_size: int, gate_unit: UnitFactory, cell_unit: UnitFactory) -> None:
        super().__init__()
        self.gate = gate_unit(3 * hidden_size)
        self.candidate = cell_unit(hidden_size)
        self.cell_output = cell_unit(hidden_size)


def _ifog_order(hidden_size: int, device: torch.device) -> torch.Tensor:
    """Row permutation from nn.LSTM's (i, f, g, o) layout to (i, f, o, g).

    With o moved next to i and f the three gates are one contiguous slice, so a single gate-unit
    call covers them without a copy.
    """
    blocks = torch.arange(4 * hidden_size, device=device).view(4, hidden_size)
    # slices, not blocks[[0, 1, 3, 2]]: a list index is host data copied to the device, which
    # a CUDA graph capture cannot hold
    return torch.cat((blocks[:2], blocks[3:], blocks[2:3])).reshape(-1)


class LSTM(_RecurrentLayer):
    """Drop-in ``nn.LSTM`` (time-major, unidirectional, with biases) with pluggable units.

    Args (see :class:`~noisyexp.layers.recurrent._RecurrentLayer`): ``input_size``,
    ``hidden_size`` (features of h and c), ``num_layers``, keyword-only ``gate_unit`` (sigmoid-like,
    for i, f, o), ``cell_unit`` (tanh-like, for g and for c_t), ``dropout`` and ``fused`` (use
    nn.LSTM's kernel; ``None`` = when all units are plain reference ones).
    """

    _num_gates = 4
    _units_class = _LSTMUnits
    _reference_kinds = (("gate", "sigmoid"), ("candidate", "tanh"), ("cell_output", "tanh"))

    def forward(
        self, x: torch.Tensor, state: LSTMState | None = None
    ) -> tuple[torch.Tensor, LSTMState]:
        """Run the sequence.

        Args:
            x: (T, B, input_size).
            state: (h, c), each (num_layers, B, hidden_size); zeros when None.

        Returns:
            output (T, B, hidden_size) of the last layer, and the final (h, c).
        """
        self._check_input(x)
        if state is None:
            zeros = self._zero_state(x)
            state = (zeros, zeros)
        if self.fused:
            return self._forward_fused(x, state)
        layer_states = [(state[0][layer], state[1][layer]) for layer in range(self.num_layers)]
        output, finals = self._run_layers(x, layer_states)
        h_last, c_last = zip(*finals, strict=True)
        return output, (torch.stack(h_last), torch.stack(c_last))

    def _forward_fused(self, x: torch.Tensor, state: LSTMState) -> tuple[torch.Tensor, LSTMState]:
        weights = self._flat_weights()
        # The functional kernel behind nn.LSTM (args: bias, layers, dropout, train, bidirectional,
        # batch_first).
        output, h, c = torch._VF.lstm(
            x, state, weights, True, self.num_layers, self.dropout, self.training, False, False
        )
        return output, (h, c)

    def _run_layer(
        self, layer: int, x: torch.Tensor, state: LSTMState
    ) -> tuple[torch.Tensor, LSTMState]:
        h, c = state
        hidden = self.hidden_size
        units = self.units[layer]
        weight_ih, weight_hh, bias_ih, bias_hh = self._layer_weights(layer)
        order = _ifog_order(hidden, x.device)
        # One matmul for the input projection of every step, rows in (i, f, o, g) order.
        projected = F.linear(x, weight_ih[order], bias_ih[order] + bias_hh[order])  # (T, B, 4H)
        weight_hh = weight_hh[order]
        recurrent_t = weight_hh.detach().t()  # (H, 4H)
        previous_h: list[torch.Tensor] = []
        if torch.is_grad_enabled() and weight_hh.requires_grad:
            # dW_hh in one matmul after the loop (see RecurrentWeightGrad)
            projected = projected + RecurrentWeightGrad.apply(
                weight_hh, previous_h, projected.shape
            )
        if self._use_fast_step(layer):
            return self._fast_loop(units, projected, recurrent_t, previous_h, h, c)
        outputs = []
        # unbind, not projected[step]: the backward of T selects would build T full-size zero
        # tensors; unbind's backward stacks the T gradients once.
        for projected_step in projected.unbind(0):
            previous_h.append(h.detach())
            gates = torch.addmm(projected_step, h, recurrent_t)  # (B, 4H)
            # split, not slicing: one backward concatenation instead of zero-filled copies
            ifo_pre, candidate_pre = gates.split([3 * hidden, hidden], dim=1)
            ifo = units.gate(ifo_pre)  # (B, 3H)
            candidate = units.candidate(candidate_pre)  # (B, H)
            input_gate, forget_gate, output_gate = ifo.chunk(3, dim=1)
            c = torch.addcmul(forget_gate * c, input_gate, candidate)
            h = output_gate * units.cell_output(c)
            outputs.append(h)
        return torch.stack(outputs), (h, c)  # (T, B, H)

    def _fast_loop(
        self,
        units: _LSTMUnits,
        projected: torch.Tensor,
        recurrent_t: torch.Tensor,
        previous_h: list[torch.Tensor],
        h: torch.Tensor,
        c: torch.Tensor,
    ) -> tuple[torch.Tensor, LSTMState]:
        """The time loop of :meth:`_run_layer` as compiled multi-step calls (see fast_step)."""
        order = (units.gate, units.candidate, units.cell_output)
        steps, batch = projected.shape[:2]
        noise = WindowNoise(order, steps, batch, projected)
        kernel = compiled(_lstm_steps)
        first_h = h
        outputs = []
        for (start, stop), part in zip(chunks(steps), split_steps(projected), strict=True):
            output, h, c = kernel(units, part, h, c, recurrent_t, noise.chunk(start, stop))
            outputs.append(output)
        output = join_chunks(outputs, first_h, previous_h)  # (T, B, H)
        if any(getattr(unit, "track_saturation", False) for unit in order):
            with torch.no_grad():  # what the plain path's units saw in the last step
                last_h = output[-2] if steps > 1 else first_h
                gates = torch.addmm(projected[-1], last_h, recurrent_t)
                ifo_pre, candidate_pre = gates.split([3 * self.hidden_size, self.hidden_size], 1)
                observe(order, (ifo_pre, candidate_pre, c))
        return output, (h, c)


def _lstm_steps(
    units: _LSTMUnits,
    projected: torch.Tensor,
    h: torch.Tensor,
    c: torch.Tensor,
    recurrent_t: torch.Tensor,
    noise: tuple[torch.Tensor | None, ...],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A few LSTM steps, (i, f, o, g)-ordered rows: outputs (k, B, H), final h and c."""
    hidden = c.size(1)
    outputs = []
    for step in range(projected.size(0)):
        gates = torch.addmm(projected[step], h, recurrent_t)  # (B, 4H)
        ifo_pre, candidate_pre = gates.split([3 * hidden, hidden], dim=1)
        step_noise = [None if n is None else n[step] for n in noise]
        ifo = apply_unit(units.gate, ifo_pre, step_noise[0])
        candidate = apply_unit(units.candidate, candidate_pre, step_noise[1])
        input_gate, forget_gate, output_gate = ifo.chunk(3, dim=1)
        c = torch.addcmul(forget_gate * c, input_gate, candidate)
        h = output_gate * apply_unit(units.cell_output, c, step_noise[2])
        outputs.append(h)
    return torch.stack(outputs), h, c
