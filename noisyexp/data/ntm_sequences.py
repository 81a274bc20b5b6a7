"""The NTM tasks' sequences (Graves et al., 2014; paper §6.6): copy and associative recall.

Pure functions of a ``torch.Generator``: the same generator state gives the same batch, which is
what makes a training batch a function of ``(seed, step)`` in :mod:`noisyexp.tasks.ntm_tasks`.

Copy (``task=copy``), input width ``num_bits + 1``, output width ``num_bits``; for length L::

    step      0 .. L-1        L            L+1 .. 2L
    input     random bits     delimiter    zeros
    target    -               -            the L input vectors, in order

The delimiter step has only the last channel set; the bit vectors never use that channel.

Associative recall (``task=assoc_recall``), items of ``item_len`` rows of ``num_bits`` bits, input
width ``num_bits + 2`` (channel ``num_bits`` = item delimiter, ``num_bits + 1`` = query
delimiter), output width ``num_bits``; for n items::

    [item delim] item_1  [item delim] item_2 ... [item delim] item_n
    [query delim] copy of item_q [query delim]  blank x item_len
                                                 └─ target: item_{q+1}

with q drawn uniformly from 1..n-1. Sequence length n (item_len + 1) + 2 item_len + 2; 16 steps for
2 items and 72 for 16 with the defaults (Graves: items of 3 × 6 bits).
"""

from __future__ import annotations

import torch

__all__ = ["make_copy_batch", "make_recall_batch", "make_recall_batch_per_sequence"]


def make_copy_batch(
    batch_size: int, length: int, num_bits: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """A copy batch: inputs (2L + 1, B, num_bits + 1) and targets (L, B, num_bits), floats."""
    bits = torch.randint(2, (length, batch_size, num_bits), generator=generator).float()
    inputs = torch.zeros(2 * length + 1, batch_size, num_bits + 1)
    inputs[:length, :, :num_bits] = bits
    inputs[length, :, num_bits] = 1.0  # delimiter
    return inputs, bits


def make_recall_batch(
    batch_size: int, num_items: int, item_len: int, num_bits: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """An associative-recall batch (layout in the module docstring).

    Returns:
        inputs (num_items (item_len + 1) + 2 item_len + 2, B, num_bits + 2) and targets
        (item_len, B, num_bits): the item after the queried one.
    """
    items = torch.randint(2, (num_items, item_len, batch_size, num_bits), generator=generator)
    items = items.float()
    query = torch.randint(num_items - 1, (batch_size,), generator=generator)  # 0-based q
    batch = torch.arange(batch_size)
    block = item_len + 1
    seq_len = num_items * block + 2 * item_len + 2
    inputs = torch.zeros(seq_len, batch_size, num_bits + 2)
    for index in range(num_items):
        inputs[index * block, :, num_bits] = 1.0  # item delimiter
        inputs[index * block + 1 : (index + 1) * block, :, :num_bits] = items[index]
    query_start = num_items * block
    inputs[query_start, :, num_bits + 1] = 1.0  # query delimiter
    inputs[query_start + 1 : query_start + 1 + item_len, :, :num_bits] = items[
        query, :, batch
    ].transpose(0, 1)  # (item_len, B, num_bits)
    inputs[query_start + 1 + item_len, :, num_bits + 1] = 1.0
    targets = items[query + 1, :, batch].transpose(0, 1)  # (item_len, B, num_bits)
    return inputs, targets


def make_recall_batch_per_sequence(
    batch_size: int,
    min_items: int,
    max_items: int,
    item_len: int,
    num_bits: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A recall batch whose sequences each draw their item count from ``min_items..max_items``.

    Each sequence is :func:`make_recall_batch` of one, left-padded with zero steps to the longest
    of the batch, so every answer ends on the last step.

    Returns:
        inputs (T, B, num_bits + 2), targets (item_len, B, num_bits) and mask (T, B) bool, True
        on each sequence's own steps.
    """
    counts = torch.randint(min_items, max_items + 1, (batch_size,), generator=generator)
    sequences = [
        make_recall_batch(1, int(n), item_len, num_bits, generator) for n in counts.tolist()
    ]
    seq_len = max(inputs.shape[0] for inputs, _ in sequences)
    inputs = torch.zeros(seq_len, batch_size, num_bits + 2)
    mask = torch.zeros(seq_len, batch_size, dtype=torch.bool)
    for index, (one, _) in enumerate(sequences):
        inputs[seq_len - one.shape[0] :, index] = one[:, 0]
        mask[seq_len - one.shape[0] :, index] = True
    targets = torch.cat([target for _, target in sequences], dim=1)  # (item_len, B, num_bits)
    return inputs, targets, mask
