"""Neural Turing Machine (Graves et al., 2014) whose controller units are chosen by ``act``.

The paper (§6.6, Fig 9) made the NTM *controller* noisy and annealed its noise. Everything else
is a plain NTM:

* an N × M memory (``memory_size`` rows of ``memory_width`` numbers);
* heads that address it by content (cosine similarity sharpened by a key strength β), then by
  location (interpolation with the previous weighting through a gate g, a circular shift over
  {-1, 0, +1}, and sharpening with γ >= 1);
* read heads that return a weighted sum of rows, and one write head that erases then adds
  (all heads address the memory of the previous step, so they run as one batched call; a read
  sees a write from the step before);
* a controller, feed-forward by default: the authors' D-NTM code used a feed-forward controller
  whose hidden layer was their noisy ``NTanhP`` unit, so the feed-forward hidden layer here is a
  ``cell_unit``. ``controller="lstm"`` swaps in the package LSTM with gate and cell units.

The head's own squashing functions (softplus for β, sigmoid for g and erase, softmax over shifts,
1 + softplus for γ, tanh for the add vector) stay plain torch functions on purpose: they are part
of the addressing mechanism, not the controller's activation, and a noisy softmax or sigmoid there
would change what the heads compute rather than how the controller learns.

The addressing maths lives in :mod:`.ntm_addressing`, small pure functions that tests check on
hand-worked cases; this module is the controller, the heads' parameters and the step loop.

Options closer to the authors' D-NTM recall scripts (all off by default, which is Graves' NTM
above): ``controller_output=True`` computes the output from the controller state alone, with no
direct path from the memory read to the answer (D-NTM ``use_out_mem=False``);
``content_addressing=True`` turns the location steps off, so a head's weighting is the softmax of
β times the cosine similarities; ``address_size`` = A > 0 gives every memory row a learned address
vector of A numbers, in front of its M content numbers: keys and cosines, and reads, cover the
whole row (A + M), writes only the content (D-NTM's learned addresses; with content-only
addressing and a constant initial memory they are what tells the rows apart). ``forward`` also
takes a (T, B) mask: at a step where a sequence's mask is False its memory, weightings, reads and
controller state are carried over unchanged, so a sequence left-padded to a batch's length is
computed as it would be alone. A mask of padding-first columns (how recall batches are padded)
runs each step on the sequences started so far instead (the same results, without computing the
padded steps).

Layout of one step (B = batch, N = memory rows, M = memory width, R = read heads)::

    x_t (B, I) ────┐
    reads (B, R*M) ┴─► controller ─► h_t (B, H) ─► heads on M_{t-1} ─┬─► reads (B, R*M)
                                                                     └─► write: M_t (B, N, M)
    [h_t, reads] ─► output layer ─► y_t (B, O)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from noisyexp.activations import NoisyUnit
from noisyexp.activations.roles import UnitFactory
from noisyexp.layers.fast_step import apply_unit, compiled, observe, supports_fast_step
from noisyexp.layers.lstm import LSTM
from noisyexp.models.ntm_addressing import address, content_weights, memory_read, memory_write

__all__ = ["Heads", "NTM"]


class Heads(nn.Module):
    """All heads of an NTM: ``num_read_heads`` read heads, then one write head (the last).

    One linear layer emits, per head, the key (M), β (1), g (1), shift logits (S) and γ (1), and
    for the write head the erase (M) and add (M) vectors; all heads are addressed in one batched
    call. The squashing functions are plain torch ones (see the module docstring).
    """

    def __init__(
        self,
        controller_size: int,
        memory_width: int,
        num_read_heads: int,
        num_shifts: int = 3,
        *,
        content_only: bool = False,
        address_size: int = 0,
    ) -> None:
        super().__init__()
        self.num_heads = num_read_heads + 1
        self.memory_width = memory_width
        self.num_shifts = num_shifts
        self.content_only = content_only
        self.key_size = address_size + memory_width  # keys cover the address and the content
        # content-only heads emit only a key and beta; the others also g, the shifts and gamma
        self.head_size = self.key_size + (1 if content_only else 3 + num_shifts)
        self.address_proj = nn.Linear(controller_size, self.num_heads * self.head_size)
        self.write_proj = nn.Linear(controller_size, 2 * memory_width)

    def forward(
        self, controller_state: torch.Tensor, memory: torch.Tensor, previous: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Address the memory.

        Args:
            controller_state: (B, H) controller output.
            memory: (B, N, A + M) memory rows as addressed (learned addresses, if any, first).
            previous: (B, K, N) weightings of the previous step, K = read heads + 1.

        Returns:
            (B, K, N) new weightings (the write head's last), and the (B, M) erase and add
            vectors of the write head.
        """
        params = self.address_proj(controller_state).view(-1, self.num_heads, self.head_size)
        if self.content_only:
            key, beta = torch.split(params, [self.key_size, 1], dim=-1)
            weights = content_weights(memory, key, F.softplus(beta))
            erase, add = self.write_proj(controller_state).chunk(2, dim=-1)
            return weights, torch.sigmoid(erase), torch.tanh(add)
        key, beta, gate, shift_logits, gamma = torch.split(
            params, [self.key_size, 1, 1, self.num_shifts, 1], dim=-1
        )  # (B, K, ·) each
        weights = address(
            memory,
            previous,
            key,
            F.softplus(beta),
            torch.sigmoid(gate),
            torch.softmax(shift_logits, dim=-1),
            1.0 + F.softplus(gamma),
        )
        erase, add = self.write_proj(controller_state).chunk(2, dim=-1)  # (B, M) each
        return weights, torch.sigmoid(erase), torch.tanh(add)


class NTM(nn.Module):
    """Neural Turing Machine over a whole sequence.

    Args:
        input_size: features of each input step.
        output_size: features (logits) of each output step.
        gate_unit: factory for sigmoid-like units (LSTM controller gates).
        cell_unit: factory for tanh-like units (the controller's hidden layer).
        controller: ``"feedforward"`` (default, as the authors' D-NTM) or ``"lstm"``.
        controller_size: hidden units H of the controller.
        memory_size: rows N of the memory.
        memory_width: width M of each row.
        num_read_heads: read heads R (there is always one write head).
        num_shifts: allowed shift offsets S (odd; 3 means {-1, 0, +1}).
        controller_output: the output layer reads the controller state only (no memory path).
        content_addressing: content-only addressing (no interpolation, shift or sharpening).
        address_size: learned address numbers A in front of each memory row (0 = none).

    The memory starts as the constant 1e-6 in every cell (Collier & Beel, 2018, found a constant
    start the most reliable) and every head starts focused on row 0, so location-based addressing
    has a defined origin.
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        *,
        gate_unit: UnitFactory,
        cell_unit: UnitFactory,
        controller: str = "feedforward",
        controller_size: int = 100,
        memory_size: int = 128,
        memory_width: int = 20,
        num_read_heads: int = 1,
        num_shifts: int = 3,
        controller_output: bool = False,
        content_addressing: bool = False,
        address_size: int = 0,
    ) -> None:
        super().__init__()
        if controller not in ("feedforward", "lstm"):
            raise ValueError(f"controller must be 'feedforward' or 'lstm', got {controller!r}")
        if address_size < 0:
            raise ValueError(f"address_size must be >= 0, got {address_size}")
        self.input_size = input_size
        self.output_size = output_size
        self.controller_kind = controller
        self.controller_size = controller_size
        self.memory_size = memory_size
        self.memory_width = memory_width
        self.num_read_heads = num_read_heads
        self.controller_output = controller_output
        self.address_size = address_size
        #: run each step as one compiled call (``trainer.compile``; feed-forward controller)
        self.fast_step = False
        read_width = num_read_heads * (address_size + memory_width)  # a read is a whole row
        controller_input = input_size + read_width
        if controller == "feedforward":
            self.controller_in = nn.Linear(controller_input, controller_size)
            self.controller_act = cell_unit(controller_size)
        else:
            self.controller_lstm = LSTM(
                controller_input, controller_size, gate_unit=gate_unit, cell_unit=cell_unit
            )
        self.heads = Heads(
            controller_size,
            memory_width,
            num_read_heads,
            num_shifts,
            content_only=content_addressing,
            address_size=address_size,
        )
        self.output = nn.Linear(
            controller_size + (0 if controller_output else read_width), output_size
        )
        if address_size:  # learned after every other parameter: the default init is unchanged
            self.addresses = nn.Parameter(torch.empty(memory_size, address_size).uniform_(-1, 1))

    def _controller(
        self, inputs: torch.Tensor, state: tuple | None, pure: bool, noise: torch.Tensor | None
    ) -> tuple[torch.Tensor, tuple]:
        """One controller step: (B, I + R*M) -> (B, H), carrying the LSTM state if any.

        ``pure``: the feed-forward unit as :meth:`~noisyexp.activations.Unit.pure` with the given
        ``noise`` (the compiled step), else the unit module itself (it draws its own noise).
        """
        if self.controller_kind == "feedforward":
            pre = self.controller_in(inputs)
            unit = self.controller_act
            return (apply_unit(unit, pre, noise) if pure else unit(pre)), ()
        output, state = self.controller_lstm(inputs.unsqueeze(0), state)  # (1, B, H)
        return output.squeeze(0), state

    def _rows(self, memory: torch.Tensor) -> torch.Tensor:
        """The rows heads address and read: (B, N, M), or (B, N, A + M) with learned addresses."""
        if not self.address_size:
            return memory
        addresses = self.addresses.unsqueeze(0).expand(memory.shape[0], -1, -1)
        return torch.cat([addresses, memory], dim=-1)

    def _initial(self, batch_size: int, like: torch.Tensor) -> _State:
        """The state before the first step: constant memory, heads on row 0, their reads."""
        memory = like.new_full((batch_size, self.memory_size, self.memory_width), 1e-6)
        weights = like.new_zeros(batch_size, self.num_read_heads + 1, self.memory_size)
        weights[:, :, 0] = 1.0
        reads = memory_read(self._rows(memory), weights[:, : self.num_read_heads]).flatten(1)
        controller: tuple = ()  # the feed-forward controller carries nothing
        if self.controller_kind == "lstm":
            zeros = like.new_zeros(1, batch_size, self.controller_size)
            controller = (zeros, zeros)
        return memory, weights, reads, controller

    def _step(
        self,
        x: torch.Tensor,
        state: _State,
        pure: bool = False,
        noise: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, _State]:
        """One step on (B, I) inputs: the (B, O) output and the new state (``pure``, ``noise``:
        see :meth:`_controller`)."""
        memory, weights, reads, controller = state
        num_reads = self.num_read_heads
        inputs = torch.cat([x, reads], dim=-1)
        hidden, controller = self._controller(inputs, controller or None, pure, noise)
        # every head addresses the same memory: reads see M_{t-1}, then the write makes M_t
        rows = self._rows(memory)
        weights, erase, add = self.heads(hidden, rows, weights)
        reads = memory_read(rows, weights[:, :num_reads]).flatten(1)  # (B, R*M)
        memory = memory_write(memory, weights[:, num_reads], erase, add)
        features = hidden if self.controller_output else torch.cat([hidden, reads], dim=-1)
        return self.output(features), (memory, weights, reads, controller)

    def _advance(self, x: torch.Tensor, state: _State) -> tuple[torch.Tensor, _State]:
        """:meth:`_step`, as one compiled call when ``fast_step`` is on and can run.

        The compiled call takes the controller's noise as an input, drawn here with the unit's
        own generator in the same call the unit would make, so both paths consume the noise
        stream alike; Inductor fuses the memory's elementwise work (on one CPU core 1.4x the
        plain path's updates/s at batch 128, 2.6x at batch 16). Batch sizes vary (left-padded
        batches grow), so the kernel is compiled with a dynamic batch dimension after the second
        size it sees.
        """
        unit = self.controller_act if self.controller_kind == "feedforward" else None
        if not (self.fast_step and unit is not None and supports_fast_step(unit)):
            return self._step(x, state)
        noise = None
        if isinstance(unit, NoisyUnit) and unit.draws_noise():
            noise = unit.draw_noise((x.shape[0], unit.num_units), dtype=x.dtype, device=x.device)
        if getattr(unit, "track_saturation", False):  # what the plain path's unit would see
            with torch.no_grad():
                observe([unit], [self.controller_in(torch.cat([x, state[2]], dim=-1))])
        return compiled(_pure_step)(self, x, state, noise)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Run the NTM over ``x`` (T, B, input_size); returns logits (T, B, output_size).

        ``mask`` (T, B), optional: where False, that sequence's state is carried over unchanged
        (its output at that step is meaningless: zeros or a computed value).
        """
        if mask is not None and _left_padded(mask):
            return self._forward_left_padded(x, mask)
        state = self._initial(x.shape[1], x)
        outputs = []
        for step in range(x.shape[0]):
            output, new = self._advance(x[step], state)
            outputs.append(output)  # (B, O)
            state = new if mask is None else _carry_over(mask[step], new, state)
        return torch.stack(outputs)  # (T, B, O)

    def _forward_left_padded(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``forward`` for a mask that is padding first, then the sequence, in every column.

        A sequence's state stays the initial one until its first step, so instead of computing
        every padded step and carrying the old state over, the batch is ordered by first step
        and each step runs on the sequences started so far: their states are a prefix of the
        batch that grows by the initial states of the sequences starting at that step. Recall
        batches with 2–16 items per sequence compute about 60 % of the padded steps this way,
        without the per-step selects. The per-row results are those of ``forward`` without
        padding; the noise of a noisy controller is drawn for the started rows only.
        """
        seq_len, batch_size, _ = x.shape
        starts = seq_len - mask.sum(0)  # (B,) each sequence's first step
        order = torch.argsort(starts, stable=True)
        started = torch.searchsorted(
            starts[order].contiguous(), torch.arange(seq_len, device=starts.device), right=True
        ).tolist()  # sequences started by each step, in that order
        x = x[:, order]
        state = self._initial(0, x)
        outputs = []
        for step in range(seq_len):
            rows = started[step]
            if rows > state[0].shape[0]:
                state = _grow(state, self._initial(rows - state[0].shape[0], x))
            if rows == 0:
                outputs.append(x.new_zeros(batch_size, self.output_size))
                continue
            output, state = self._advance(x[step, :rows], state)
            if rows < batch_size:
                output = torch.cat([output, output.new_zeros(batch_size - rows, output.shape[1])])
            outputs.append(output)
        return torch.stack(outputs)[:, torch.argsort(order)]  # (T, B, O), the batch's own order


def _pure_step(
    model: NTM, x: torch.Tensor, state: _State, noise: torch.Tensor | None
) -> tuple[torch.Tensor, _State]:
    """The compiled step of :meth:`NTM._advance` (a module-level function: one cache entry)."""
    return model._step(x, state, pure=True, noise=noise)


#: an NTM's state between steps: memory, head weightings, reads and the controller's (h, c) or ()
_State = tuple[torch.Tensor, torch.Tensor, torch.Tensor, tuple]


def _left_padded(mask: torch.Tensor) -> bool:
    """Whether every column of a (T, B) mask is False for some steps, then True to the end."""
    return bool(mask[-1].all()) and bool((mask[1:] >= mask[:-1]).all())


def _grow(state: _State, new: _State) -> _State:
    """``state`` with the rows of ``new`` appended (the LSTM's (h, c) grow on their dim 1)."""
    memory, weights, reads, controller = state
    grown = tuple(
        torch.cat([old, more], dim=1) for old, more in zip(controller, new[3], strict=True)
    )
    return (
        torch.cat([memory, new[0]]),
        torch.cat([weights, new[1]]),
        torch.cat([reads, new[2]]),
        grown,
    )


def _carry_over(keep: torch.Tensor, new: _State, old: _State) -> _State:
    """``new`` for the sequences where ``keep`` (B,) is True, ``old`` for the others."""
    controller = tuple(  # the LSTM's (h, c) are (layers, B, H); the feed-forward's ()
        _select(keep, now, before, batch_dim=1) for now, before in zip(new[3], old[3], strict=True)
    )
    carried = (_select(keep, now, before) for now, before in zip(new[:3], old[:3], strict=True))
    return (*carried, controller)


def _select(
    keep: torch.Tensor, new: torch.Tensor, old: torch.Tensor, batch_dim: int = 0
) -> torch.Tensor:
    """``new`` for the sequences where ``keep`` (B,) is True, ``old`` for the others."""
    shape = [1] * new.dim()
    shape[batch_dim] = keep.shape[0]
    return torch.where(keep.view(shape), new, old)
