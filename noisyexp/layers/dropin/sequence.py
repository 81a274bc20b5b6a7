"""``NoisyLSTM`` and ``NoisyGRU``: the drop-ins for ``nn.LSTM`` and ``nn.GRU``.

What only the sequence modules have: layers and directions, dropout between layers, batch-first,
unbatched and ``PackedSequence`` input, and torch's checks and messages for them. Every input
form becomes packed data (a padded batch is one run of equal batch size) that each direction of
each layer runs through (:mod:`~noisyexp.layers.dropin.packed`).
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import PackedSequence

from noisyexp.layers.dropin.base import DropIn, check_sizes
from noisyexp.layers.dropin.lent_layers import LentGRU, LentLSTM, LentWeights, State
from noisyexp.layers.dropin.packed import Segments, run_forward, run_reverse, segments

__all__ = ["NoisyGRU", "NoisyLSTM"]


class _NoisyRNN(DropIn):
    """What :class:`NoisyLSTM` and :class:`NoisyGRU` share (see :mod:`noisyexp.layers.dropin`)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        proj_size: int = 0,
        **options: Any,
    ) -> None:
        owner = type(self).__name__
        check_sizes(owner, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
        if proj_size:
            raise ValueError(f"{owner} does not support proj_size > 0 (nn.LSTM's projections)")
        if (
            not isinstance(dropout, numbers.Number)
            or isinstance(dropout, bool)
            or not 0 <= dropout <= 1
        ):
            raise ValueError(
                f"{owner}: dropout should be a number in range [0, 1] representing the "
                f"probability of an element being zeroed, got {dropout!r}"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                "dropout expects num_layers greater than 1, but got "
                f"dropout={dropout} and num_layers={num_layers}",
                stacklevel=2,
            )
        directions = 2 if bidirectional else 1
        layout = {
            f"_l{layer}{'_reverse' if direction else ''}": (
                input_size if layer == 0 else directions * hidden_size
            )
            for layer in range(num_layers)
            for direction in range(directions)
        }
        super().__init__(input_size, hidden_size, bias, layout, **options)
        self.num_layers = num_layers
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)

    def _keep_layers(self, layers: dict[str, LentWeights]) -> None:
        self.rnns = nn.ModuleDict(layers)

    def _layers(self) -> list[LentWeights]:
        return list(self.rnns.values())

    @classmethod
    def _nn_arguments(cls, module: nn.Module) -> dict[str, Any]:
        return {
            "input_size": module.input_size,
            "hidden_size": module.hidden_size,
            "num_layers": module.num_layers,
            "bias": module.bias,
            "batch_first": module.batch_first,
            "dropout": float(module.dropout),
            "bidirectional": module.bidirectional,
            "proj_size": getattr(module, "proj_size", 0),
        }

    # -- nn.RNNBase's surface -------------------------------------------------------------

    def flatten_parameters(self) -> None:
        """No-op (nn's cuDNN weight compaction), so code that calls it keeps working."""

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """The weights per layer and direction, as ``nn.LSTM.all_weights``."""
        return [[getattr(self, name) for name in names] for names in self._weight_names]

    # -- forward --------------------------------------------------------------------------

    def _check_rank(self, parts: State, batched: bool) -> None:
        want = 3 if batched else 2
        if all(part.dim() == want for part in parts):
            return
        dims = ", ".join(f"{part.dim()}-D" for part in parts)
        if self._lstm:
            raise RuntimeError(
                f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, hx and cx should "
                f"also be {want}-D but got ({dims}) tensors"
            )
        raise RuntimeError(
            f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, hx should also be "
            f"{want}-D but got {dims} tensor"
        )

    def _check_input(self, x: torch.Tensor) -> None:
        weight = self.weight_ih_l0
        if x.dtype != weight.dtype:
            raise ValueError(
                f"{type(self).__name__} input dtype ({x.dtype}) does not match weight dtype "
                f"({weight.dtype}). Convert input: input.to({weight.dtype}), or convert model: "
                f"model.to({x.dtype})"
            )
        if x.size(-1) != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {x.size(-1)}"
            )

    def _initial_state(self, hx: State | None, like: torch.Tensor, batch: int) -> State:
        shape = ((2 if self.bidirectional else 1) * self.num_layers, batch, self.hidden_size)
        if hx is None:
            return self._zero_state(like, *shape)
        for index, part in enumerate(hx):
            if tuple(part.shape) != shape:
                where = f"hidden[{index}]" if self._lstm else "hidden"
                raise RuntimeError(f"Expected {where} size {shape}, got {list(part.shape)}")
        return hx

    def forward(self, input: torch.Tensor | PackedSequence, hx: Any = None) -> tuple[Any, Any]:
        """Run the sequence(s), as ``nn.LSTM.forward`` / ``nn.GRU.forward``.

        Args:
            input: (T, B, input_size) (``batch_first``: (B, T, ...)), (T, input_size)
                unbatched, or a ``PackedSequence``.
            hx: the initial state, (h_0, c_0) for an LSTM, h_0 for a GRU, each
                (num_layers · directions, B, hidden_size) ((..., hidden_size) unbatched);
                zeros when None.

        Returns:
            output ((T, B, directions · hidden_size), or a PackedSequence) and the final
            state, as nn's; a packed sequence's is each sequence's last valid step.

        Raises:
            ValueError: input of the wrong rank or dtype.
            RuntimeError: wrong feature or state size, or state rank.
        """
        owner = type(self).__name__
        parts = None if hx is None else self._state_parts(hx)
        packed = isinstance(input, PackedSequence)
        if packed:
            data, batch_sizes, sorted_indices, unsorted_indices = input
            if data.dim() != 2:
                raise ValueError(f"{owner}: a packed sequence's data must be 2-D (N, features)")
            self._check_input(data)
            sizes = batch_sizes.tolist()
            batch, unbatched = sizes[0], False
            if parts is not None:
                self._check_rank(parts, True)
                if sorted_indices is not None:
                    parts = tuple(part.index_select(1, sorted_indices) for part in parts)
        else:
            if input.dim() not in (2, 3):
                raise ValueError(
                    f"{owner}: Expected input to be 2D or 3D, got {input.dim()}D instead"
                )
            unbatched = input.dim() == 2
            if parts is not None:
                self._check_rank(parts, not unbatched)
                if unbatched:
                    parts = tuple(part.unsqueeze(1) for part in parts)
            x = input.unsqueeze(1) if unbatched else input
            if self.batch_first and not unbatched:
                x = x.transpose(0, 1)
            self._check_input(x)
            steps, batch = x.shape[:2]
            if steps == 0:
                raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
            data, sizes = x.reshape(steps * batch, x.size(-1)), [batch] * steps
        state = self._initial_state(parts, data, batch)
        output, finals = self._run(data, segments(sizes), state)
        if packed:
            if unsorted_indices is not None:
                finals = tuple(part.index_select(1, unsorted_indices) for part in finals)
            result = PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices)
        else:
            result = output.reshape(steps, batch, -1)
            if unbatched:
                result = result.squeeze(1)
                finals = tuple(part.squeeze(1) for part in finals)
            elif self.batch_first:
                result = result.transpose(0, 1).contiguous()  # contiguous, as nn's
        return result, self._nn_state(finals)

    def _run(self, data: torch.Tensor, runs: Segments, state: State) -> tuple[torch.Tensor, State]:
        """Every layer and direction over packed ``data``: output (N, D·H), final states."""
        directions = 2 if self.bidirectional else 1
        finals = []
        x = data
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0:
                x = F.dropout(x, self.dropout, self.training)
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                start = tuple(part[index] for part in state)
                run = run_reverse if direction else run_forward
                output, final = run(self._call(index), x, runs, start)
                outputs.append(output)
                finals.append(final)
            x = outputs[0] if directions == 1 else torch.cat(outputs, dim=1)
        return x, tuple(torch.stack(parts) for parts in zip(*finals, strict=True))

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return f"{text}, unit={self.unit!r}"


class NoisyLSTM(_NoisyRNN):
    """Drop-in ``nn.LSTM`` whose gates (i, f, o), candidate and cell output are units.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional: as
            ``nn.LSTM``; ``proj_size`` is accepted only as 0.
        unit: one of :func:`unit_choices`: a noisy unit type (``"nan"``, ``"nah"``, ...) for
            both roles, ``"reference"`` (sigmoid/tanh) or ``"hard"`` (hard sigmoid/tanh).
        gate_knobs, cell_knobs: knobs for one role's units only (override ``unit_knobs``).
        fused: use nn's kernel (``None``: when the units are the reference ones).
        fast_step: the compiled multi-step kernel of :mod:`noisyexp.layers.fast_step`.
        device, dtype: where and in which dtype to build the weights and units.
        **unit_knobs: the unit type's knobs (``UnitType.knobs``: alpha, c, clip_output, ...),
            for both roles.

    ``unit`` and the arguments after it are keyword-only; every drop-in takes them
    (:class:`~noisyexp.layers.dropin.base.DropIn`).

    Raises:
        ValueError: an unknown unit, a knob the units do not take, bad sizes or dropout.
    """

    _layer_class = LentLSTM
    _nn_class = nn.LSTM


class NoisyGRU(_NoisyRNN):
    """Drop-in ``nn.GRU`` whose gates (r, z) and candidate n are units; arguments as
    :class:`NoisyLSTM`."""

    _layer_class = LentGRU
    _nn_class = nn.GRU
