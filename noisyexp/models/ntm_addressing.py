"""NTM addressing (Graves et al., 2014, §3.3): pure functions of tensors, no parameters.

A head's weighting over the N memory rows comes from content (cosine similarity to a key,
sharpened by β), then location: interpolation with the previous weighting through a gate g, a
circular shift, and sharpening with γ >= 1. Reads are weighted sums of rows; a write erases then
adds. Kept apart from :mod:`.ntm` so each step can be checked against hand-worked values.
"""

from __future__ import annotations

import torch

__all__ = [
    "content_weights",
    "interpolate",
    "shift",
    "sharpen",
    "address",
    "memory_read",
    "memory_write",
]

_EPS = 1e-8


def content_weights(
    memory: torch.Tensor, key: torch.Tensor, beta: torch.Tensor, eps: float = _EPS
) -> torch.Tensor:
    """Content addressing: softmax over rows of β times the cosine similarity to ``key``.

    Args:
        memory: (B, N, M) memory.
        key: (B, K, M) one key per head (K heads).
        beta: (B, K, 1) key strengths, >= 0; larger values focus on the best-matching row.
        eps: guards the norms of all-zero rows or keys.

    Returns:
        (B, K, N) weightings, each summing to 1 over the rows.
    """
    dot = torch.einsum("bnm,bkm->bkn", memory, key)  # (B, K, N)
    norms = memory.norm(dim=-1).unsqueeze(1) * key.norm(dim=-1, keepdim=True)  # (B, K, N)
    similarity = dot / (norms + eps)
    return torch.softmax(beta * similarity, dim=-1)


def interpolate(content: torch.Tensor, previous: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """Blend the content weighting with the previous step's weighting.

    ``gate`` = 1 keeps only the content weighting, 0 keeps only the previous one, so a head can
    ignore content and move relative to where it was (the iteration the copy task needs).

    Args:
        content: (..., N) content weighting.
        previous: (..., N) weighting of the previous step.
        gate: (..., 1) interpolation gate in [0, 1].
    """
    return gate * content + (1.0 - gate) * previous


def shift(weights: torch.Tensor, shift_weights: torch.Tensor) -> torch.Tensor:
    """Circular convolution of a weighting with a distribution over shifts.

    ``shift_weights`` has an odd number S of entries for the offsets -(S//2) ... +(S//2), so for
    S = 3 its entries are the probabilities of moving by -1, 0 and +1 rows. A one-hot weighting
    at row i shifted by +1 becomes one-hot at row (i + 1) mod N.

    Args:
        weights: (..., N) weighting.
        shift_weights: (..., S) distribution over the S offsets.

    Returns:
        (..., N) shifted weighting: out[i] = sum_k shift_weights[k] * weights[(i - offset_k) mod N].
    """
    num_shifts = shift_weights.shape[-1]
    assert num_shifts % 2 == 1, "shift_weights must have an odd number of offsets"
    half = num_shifts // 2
    if half == 0:
        return weights * shift_weights
    # circular padding, then windows[..., i, j] = weights[(i - half + j) mod N], so window entry
    # j pairs with offset half - j: the shift distribution is applied reversed
    padded = torch.cat([weights[..., -half:], weights, weights[..., :half]], dim=-1)
    windows = padded.unfold(-1, num_shifts, 1)  # (..., N, S)
    return (windows * shift_weights.flip(-1).unsqueeze(-2)).sum(-1)


def sharpen(weights: torch.Tensor, gamma: torch.Tensor, eps: float = _EPS) -> torch.Tensor:
    """Raise a weighting to the power γ >= 1 and renormalise, undoing the blur of ``shift``.

    Args:
        weights: (..., N) weighting.
        gamma: (..., 1) sharpening exponent.
        eps: floor on the weights, so 0 ** γ has a finite gradient with respect to γ.

    Computed as softmax(γ log w), which equals w^γ / sum w^γ but cannot underflow to 0 / 0 when
    a noisy controller emits a huge γ (w^γ of every row below 1e-45 in float32).
    """
    return torch.softmax(gamma * torch.log(weights.clamp_min(eps)), dim=-1)


def address(
    memory: torch.Tensor,
    previous: torch.Tensor,
    key: torch.Tensor,
    beta: torch.Tensor,
    gate: torch.Tensor,
    shift_weights: torch.Tensor,
    gamma: torch.Tensor,
) -> torch.Tensor:
    """The full NTM addressing chain: content, interpolation, shift, sharpening (Graves Fig 2).

    Shapes as in the functions it chains, with K heads addressed at once; returns the new
    (B, K, N) weightings.
    """
    weights = content_weights(memory, key, beta)
    weights = interpolate(weights, previous, gate)
    weights = shift(weights, shift_weights)
    return sharpen(weights, gamma)


def memory_read(memory: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted sums of memory rows: (B, N, M) and (B, K, N) -> (B, K, M)."""
    return torch.einsum("bnm,bkn->bkm", memory, weights)


def memory_write(
    memory: torch.Tensor, weights: torch.Tensor, erase: torch.Tensor, add: torch.Tensor
) -> torch.Tensor:
    """Erase then add: M_i <- M_i * (1 - w_i e) + w_i a.

    Args:
        memory: (B, N, M) memory before the write.
        weights: (B, N) write weighting.
        erase: (B, M) erase vector in [0, 1].
        add: (B, M) add vector.

    Returns:
        (B, N, M) memory after the write (a new tensor; the input is not modified).
    """
    # = M + w (a - M e): two fused multiply-adds instead of five full-size operations
    update = torch.addcmul(add.unsqueeze(1), memory, erase.unsqueeze(1), value=-1.0)
    return torch.addcmul(memory, weights.unsqueeze(-1), update)
