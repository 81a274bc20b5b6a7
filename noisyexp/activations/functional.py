"""The paper's formulas as pure functions of tensors, the noise passed in (``xi=None``: test time).

The hard units h(x) and their linearisations u(x) (Eqs 1-4, slope 0.25 for the sigmoid), the
noise scale σ(x) of Eq 9, Eq 12 written literally (:func:`noisy_output_reference`; the fast form
is :func:`noisyexp.activations.kernel.noisy_output`) and the input-noise units NANI, NANIS and
NANIL (Eqs 14, 15, 9). Every formula is testable exactly: nothing here draws a random number.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "AUTHORS_HALF_NORMAL_MEAN",
    "HALF_NORMAL_MEAN",
    "KINDS",
    "LAPLACE_ABS_MEAN",
    "NOISES",
    "SLOPES",
    "THRESHOLDS",
    "check_kind",
    "hard",
    "hard_sigmoid",
    "hard_tanh",
    "linear",
    "linear_sigmoid",
    "linear_tanh",
    "noise_std",
    "noisy_input",
    "noisy_input_learned",
    "noisy_input_saturated",
    "noisy_output_reference",
    "paper_sign",
]

KINDS = ("sigmoid", "tanh")
#: |x_t|, where the hard unit saturates (Section 3 of the paper)
THRESHOLDS = {"sigmoid": 2.0, "tanh": 1.0}
#: E|ξ| for ξ ~ N(0, 1): the exact test-time factor of half-normal noise (Eq 13)
HALF_NORMAL_MEAN = math.sqrt(2.0 / math.pi)
#: the authors' code rounds E|ξ| to 0.797 (0.1% below the exact value)
AUTHORS_HALF_NORMAL_MEAN = 0.797
#: Laplace noise here has unit variance (scale b = 1/√2), like the normal noise; E|ξ| = b
LAPLACE_ABS_MEAN = 1.0 / math.sqrt(2.0)
#: u'(x), the slope of the linearisation
SLOPES = {"sigmoid": 0.25, "tanh": 1.0}
#: the noise distributions of the output-noise units
NOISES = ("normal", "laplace")


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Eq 3: max(min(0.25x + 0.5, 1), 0); slope 0.25, not PyTorch's 1/6 nor Keras' 0.2."""
    return torch.clamp(0.25 * x + 0.5, 0.0, 1.0)


def hard_tanh(x: torch.Tensor) -> torch.Tensor:
    """Eq 4: max(min(x, 1), -1)."""
    return torch.clamp(x, -1.0, 1.0)


def linear_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Eq 1: u_s(x) = 0.25x + 0.5, the first-order Taylor expansion of the sigmoid at 0."""
    return 0.25 * x + 0.5


def linear_tanh(x: torch.Tensor) -> torch.Tensor:
    """Eq 2: u_t(x) = x."""
    return x


def hard(x: torch.Tensor, kind: str) -> torch.Tensor:
    """h(x): the hard unit of ``kind`` ("sigmoid" or "tanh")."""
    check_kind(kind)
    return hard_tanh(x) if kind == "tanh" else hard_sigmoid(x)


def linear(x: torch.Tensor, kind: str) -> torch.Tensor:
    """u(x): the linearisation of ``kind`` that h(x) clips."""
    check_kind(kind)
    return linear_tanh(x) if kind == "tanh" else linear_sigmoid(x)


def paper_sign(x: torch.Tensor) -> torch.Tensor:
    """The paper's sgn (Section 4.2): +1 where x >= 0, -1 elsewhere (so sgn(0) = +1)."""
    return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


def _as_tensor(value: float | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.to(dtype=like.dtype, device=like.device)
    return torch.tensor(value, dtype=like.dtype, device=like.device)


def noise_std(
    x: torch.Tensor, *, kind: str, c: float | torch.Tensor, p: float | torch.Tensor
) -> torch.Tensor:
    """Eq 9: σ(x) = c·(sigmoid(p·Δ) − 0.5)² with Δ = h(x) − u(x); 0 in the linear regime."""
    delta = hard(x, kind) - linear(x, kind)
    return c * (torch.sigmoid(p * delta) - 0.5) ** 2


def noisy_output_reference(
    x: torch.Tensor,
    xi: torch.Tensor | None,
    *,
    kind: str,
    alpha: float,
    c: float | torch.Tensor,
    p: float | torch.Tensor,
    half_normal: bool = False,
    test_mean: float = HALF_NORMAL_MEAN,
) -> torch.Tensor:
    """Eq 12 written literally with plain autograd; same values as :func:`noisy_output`.

    Kept for reading and for tests; it saves many x-sized tensors for backward.
    """
    h, u = hard(x, kind), linear(x, kind)
    sign_one_minus_alpha = 1.0 if 1.0 - alpha >= 0 else -1.0
    d = -paper_sign(x) * sign_one_minus_alpha
    sigma = noise_std(x, kind=kind, c=c, p=p)
    if xi is None:
        eps_mean = test_mean if half_normal else 0.0
        return alpha * h + (1.0 - alpha) * u + d * sigma * eps_mean
    eps = xi.abs() if half_normal else xi
    return alpha * h + (1.0 - alpha) * u + d * sigma * eps


# ------------------------------------------------------------------------------------------
# Noise on the input of h (Section 5): NANI, NANIS, NANIL
# ------------------------------------------------------------------------------------------


def noisy_input(
    x: torch.Tensor, xi: torch.Tensor | None, *, kind: str, sigma: float | torch.Tensor
) -> torch.Tensor:
    """NANI, Eq 14: h(x + σ·ξ); test time (``xi=None``) h(x)."""
    if xi is None:
        return hard(x, kind)
    return hard(torch.addcmul(x, xi, _as_tensor(sigma, x)), kind)


def noisy_input_saturated(
    x: torch.Tensor, xi: torch.Tensor | None, *, kind: str, sigma: float | torch.Tensor
) -> torch.Tensor:
    """NANIS, Eq 15: h(x + 1[|x| ≥ x_t]·σ·ξ), x_t = 1 (tanh) or 2 (sigmoid); test time h(x).

    The authors' code tests |x| > 1.001 for tanh; the paper's ≥ is used here (they differ only
    on a set of measure ~0).
    """
    if xi is None:
        return hard(x, kind)
    saturated = x.detach().abs() >= THRESHOLDS[kind]
    return hard(x + xi * saturated * _as_tensor(sigma, x), kind)


def noisy_input_learned(
    x: torch.Tensor,
    xi: torch.Tensor | None,
    *,
    kind: str,
    c: float | torch.Tensor,
    p: float | torch.Tensor,
    softplus: bool = False,
) -> torch.Tensor:
    """NANIL: h(x + σ(x)·ξ) with a learned, input-dependent σ(x); test time h(x).

    The paper says σ is learned "as in Eq 9": σ(x) = c·(sigmoid(p·Δ) − 0.5)², the default here.
    ``softplus=True`` uses the authors' code instead, σ(x) = c·softplus(p·|Δ| / (|ξ| + 1e−10)),
    which is c·log 2 > 0 even in the linear regime.
    """
    if xi is None:
        return hard(x, kind)
    if softplus:
        delta = hard(x, kind) - linear(x, kind)
        sigma = c * torch.nn.functional.softplus(p * delta.abs() / (xi.abs() + 1e-10))
    else:
        sigma = noise_std(x, kind=kind, c=c, p=p)
    return hard(x + sigma * xi, kind)
