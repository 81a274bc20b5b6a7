"""One direction of one layer over packed data, in runs of equal batch size.

A ``PackedSequence`` (and a padded batch, as one run) is time-major data (N, F) whose batch
shrinks as sequences end. Each run of steps with the same batch size is one call of the layer,
so every path of the layer (nn's fused kernel, the loop, ``fast_step``) serves packed input, and
each sequence's final state is that of its own last step.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from noisyexp.layers.dropin.lent_layers import State, StateCall

__all__ = ["Segments", "run_forward", "run_reverse", "segments"]

Segments = list[tuple[int, int]]
"""(steps, batch) runs of equal batch size, in time order."""


def segments(batch_sizes: Sequence[int]) -> Segments:
    """The runs a packed batch is run in (``batch_sizes`` as in a ``PackedSequence``)."""
    runs: Segments = []
    for size in batch_sizes:
        if runs and runs[-1][1] == size:
            runs[-1] = (runs[-1][0] + 1, size)
        else:
            runs.append((1, size))
    return runs


def _cat(tensors: list[torch.Tensor]) -> torch.Tensor:
    return tensors[0] if len(tensors) == 1 else torch.cat(tensors)


def run_forward(
    call: StateCall, data: torch.Tensor, runs: Segments, state: State
) -> tuple[torch.Tensor, State]:
    """Time-major packed ``data`` (N, F) forward; a sequence's final state is its last step's.

    Sequences are sorted by length, so at each run's start the rows past its batch size have
    ended: their states are final.

    Args:
        call: the layer, as a :data:`~noisyexp.layers.dropin.lent_layers.StateCall`.
        data: the packed steps, (N, F).
        runs: :func:`segments` of the batch sizes.
        state: the initial state, each part (B, H).

    Returns:
        The output (N, H) and the final state, each part (B, H).
    """
    outputs, ended, offset = [], [], 0
    for steps, size in runs:
        if state[0].size(0) > size:
            ended.append(tuple(part[size:] for part in state))
            state = tuple(part[:size] for part in state)
        rows = steps * size
        output, state = call(data[offset : offset + rows].reshape(steps, size, -1), state)
        outputs.append(output.reshape(rows, -1))
        offset += rows
    ended.append(state)
    final = tuple(_cat(list(parts)) for parts in zip(*reversed(ended), strict=True))
    return _cat(outputs), final


def run_reverse(
    call: StateCall, data: torch.Tensor, runs: Segments, initial: State
) -> tuple[torch.Tensor, State]:
    """Packed ``data`` backward in time: each sequence starts from its own last step (with its
    initial state), so shorter sequences join as the time index falls to theirs.

    Args and returns as :func:`run_forward`; the final state is that after each sequence's
    first step.
    """
    outputs, end = [], data.size(0)
    state: State | None = None
    for steps, size in reversed(runs):
        if state is None:
            state = tuple(part[:size] for part in initial)
        elif state[0].size(0) < size:
            have = state[0].size(0)
            state = tuple(
                torch.cat([part, start[have:size]])
                for part, start in zip(state, initial, strict=True)
            )
        rows = steps * size
        piece = data[end - rows : end].reshape(steps, size, -1).flip(0)
        output, state = call(piece, state)
        outputs.append(output.flip(0).reshape(rows, -1))
        end -= rows
    outputs.reverse()
    assert state is not None
    return _cat(outputs), state
