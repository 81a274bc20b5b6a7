"""Minibatch order as a pure function of (seed, step), so a resumed run sees the same batches."""

from __future__ import annotations

import functools

import torch

from noisyexp.core.rng import seeded_generator

__all__ = ["epoch_permutation", "step_batch_indices"]


@functools.lru_cache(maxsize=4)
def epoch_permutation(num_items: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffled order of ``num_items`` examples for ``epoch``; the same for the same inputs.

    Cached (one shuffle per epoch, not per step): the tensor is shared, so never modify it.
    """
    return torch.randperm(num_items, generator=seeded_generator(seed, epoch))


def step_batch_indices(num_items: int, batch_size: int, seed: int, step: int) -> torch.Tensor:
    """Indices of the examples in global step ``step``'s batch (the last partial batch dropped).

    Raises:
        ValueError: fewer examples than one batch.
    """
    batches_per_epoch = num_items // batch_size
    if batches_per_epoch < 1:
        raise ValueError(f"{num_items} examples cannot fill one batch of {batch_size}")
    epoch, index = divmod(step, batches_per_epoch)
    order = epoch_permutation(num_items, seed, epoch)
    return order[index * batch_size : (index + 1) * batch_size].clone()
