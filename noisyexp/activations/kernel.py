"""The fast form of Eq 12 (NAN/NAH): one fused pass for the value and its local derivatives.

:func:`noisy_output` is what the units call: a custom autograd Function over
:func:`_nan_kernel`, which saves two x-sized tensors for backward instead of the dozen that
:func:`~noisyexp.activations.functional.noisy_output_reference` (the same values) would.
``use_compiled_kernel`` runs the kernel through ``torch.compile``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.autograd.function import once_differentiable

from .functional import HALF_NORMAL_MEAN, SLOPES, THRESHOLDS, check_kind

__all__ = ["noisy_output", "use_compiled_kernel"]


def _nan_kernel(
    x: torch.Tensor,
    xi: torch.Tensor | float | None,
    p: torch.Tensor,
    alpha: float,
    kind: str,
    scale: float,
    need_grad: bool,
    consts: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Eq 12 and its local derivatives in few passes, in place where possible.

    Δ = h − u = u'·δ with δ = clamp(x, −x_t, x_t) − x. With g = sigmoid(|p|Δ) − 0.5 (so
    g² = (sigmoid(pΔ) − 0.5)² and sgn g = sgn Δ), the noise term is d·σ·ε = 4·``scale``·ε·g|g|,
    ``scale`` = sgn(1−α)·c/4 (d(x) = sgn(1−α)·sgn(Δ) wherever σ ≠ 0). ``xi`` is ε: a tensor, a
    float (a test-time mean), or None (no noise term). With m = ε·|g|(1 − 4g²) (0 where δ = 0):
    ∂out/∂x = u'·(1 − α·1[δ≠0]) − 2·u'·scale·|p|·m and ∂out/∂p = sgn(p)·2·u'·scale·m·δ; the
    kernel returns ∂out/∂x and 2·u'·scale·m·δ (the backward applies sgn(p) to its per-unit sum).

    On CPU this avoids the costly ops: tanh (3x sigmoid), bool masks and torch.where, and Python
    scalars as tensor operands (each one a dtype-converting copy); ``consts`` holds 0-dim tensors
    0, 0.5 and u' of x's dtype for that. sigmoid(z) − 0.5 loses relative precision for tiny z in
    float32 (absolute error ≤ 3e-8, so σ is off by at most ~c·1e-8), as in the paper's formula.
    """
    zero, half, slope_t = consts
    slope = SLOPES[kind]
    threshold = THRESHOLDS[kind]
    delta = torch.clamp(x, -threshold, threshold).sub_(x)  # δ = Δ/u'
    if kind == "tanh":
        out = torch.add(x, delta, alpha=alpha)  # u + αΔ = αh + (1−α)u
    else:
        out = torch.add(half, x, alpha=0.25).add_(delta, alpha=0.25 * alpha)
    noisy = xi is not None and scale != 0.0
    if noisy:
        abs_p = torch.abs(p)
        g = torch.addcmul(zero, delta, abs_p, value=slope).sigmoid_().sub_(half)
        g_abs = g.abs()
        signed_sq = g * g_abs  # sgn(Δ)·(sigmoid(pΔ) − 0.5)²
        if isinstance(xi, torch.Tensor):
            out.addcmul_(signed_sq, xi, value=4.0 * scale)
        else:
            out.add_(signed_sq, alpha=4.0 * scale * xi)
    if not need_grad:
        return out, None, None
    if not noisy:
        # 1[δ ≠ 0] as a float tensor: on CPU much cheaper than a bool mask and torch.where
        grad_x = torch.sign(delta).abs_()
        return out, torch.add(slope_t, grad_x, alpha=-slope * alpha, out=grad_x), None
    # fresh temporaries are reused in place (for large x, new buffers cost page faults)
    m = g_abs.addcmul_(signed_sq, g, value=-4.0).mul_(xi)  # ε·|g|(1 − 4g²)
    grad_x = torch.sign(delta, out=g).abs_()  # 1[δ ≠ 0], as above
    torch.add(slope_t, grad_x, alpha=-slope * alpha, out=grad_x)
    grad_x.addcmul_(m, abs_p, value=-2.0 * slope * scale)
    return out, grad_x, torch.addcmul(zero, m, delta, value=2.0 * slope * scale, out=m)


_CONSTS: dict[tuple[torch.dtype, torch.device], dict[str, tuple[torch.Tensor, ...]]] = {}


def _kernel_consts(x: torch.Tensor, kind: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """0-dim tensors (0, 0.5, u') of x's dtype and device, made once."""
    key = (x.dtype, x.device)
    table = _CONSTS.get(key)
    if table is None:
        values = {
            name: torch.tensor(value, dtype=x.dtype, device=x.device)
            for name, value in (("zero", 0.0), ("half", 0.5), ("one", 1.0), ("quarter", 0.25))
        }
        table = _CONSTS[key] = {
            "tanh": (values["zero"], values["half"], values["one"]),
            "sigmoid": (values["zero"], values["half"], values["quarter"]),
        }
    return table[kind]


_compiled_kernel: Callable | None = None


def use_compiled_kernel(enabled: bool = True) -> None:
    """Run the NAN/NAH kernel through ``torch.compile`` (opt-in; needs a C++ compiler on CPU).

    It fuses the ~15 elementwise passes of the eager kernel into one loop (4-6x faster on a
    2-core CPU), at the price of a compile (about 30 s there) for each new dtype/shape family.
    """
    global _compiled_kernel
    _compiled_kernel = torch.compile(_nan_kernel, dynamic=None) if enabled else None


class _NoisyOutputFunction(torch.autograd.Function):
    """Eq 12 with ε given; saves two x-sized tensors (∂out/∂x and ∂out/∂p·sgn p) and p."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        x: torch.Tensor,
        xi: torch.Tensor | float | None,
        p: torch.Tensor,
        alpha: float,
        kind: str,
        scale: float,
        grad_enabled: bool,
    ) -> torch.Tensor:
        # grad mode is off inside forward; the caller's mode says whether a graph is recorded
        need_grad = grad_enabled and (ctx.needs_input_grad[0] or ctx.needs_input_grad[2])
        kernel = _compiled_kernel or _nan_kernel
        consts = _kernel_consts(x, kind)
        out, grad_x, grad_p_part = kernel(x, xi, p, alpha, kind, scale, need_grad, consts)
        if need_grad:
            ctx.save_for_backward(grad_x, grad_p_part, p)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: torch.autograd.function.FunctionCtx, grad_out: torch.Tensor) -> tuple:
        grad_x, grad_p_part, p = ctx.saved_tensors
        dx = grad_out * grad_x if ctx.needs_input_grad[0] else None
        dp = None
        if ctx.needs_input_grad[2]:
            if grad_p_part is None:  # no noise term: p has no influence
                dp = torch.zeros_like(p)
            else:
                if grad_out.dim() == 2 and p.dim() == 1:
                    dp = torch.linalg.vecdot(grad_out, grad_p_part, dim=0)
                else:
                    dp = (grad_out * grad_p_part).sum_to_size(p.shape)
                dp = dp.mul_(torch.sign(p))
        return dx, None, dp, None, None, None, None


def noisy_output(
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
    """NAN / NAH, Eq 12 (Algorithm 1): α·h(x) + (1−α)·u(x) + d(x)·σ(x)·ε.

    σ(x) is Eq 9 and d(x) = −sgn(x)·sgn(1−α) with sgn(0) = +1, for normal and half-normal noise
    alike; ε = |ξ| when ``half_normal`` (NAH), else ξ (NAN). With ``xi=None`` the noise is
    replaced by its expectation (Eq 13): 0 for normal noise, ``test_mean`` for half-normal —
    exactly √(2/π) by default, where the authors' code uses 0.797
    (:data:`AUTHORS_HALF_NORMAL_MEAN`). With c = 0 the unit is α·h + (1−α)·u, which is h(x)
    only for α = 1. With α > 1 the saturated part has slope (1−α) < 0, pointing back inward.

    Args:
        x: pre-activations, ``(..., num_units)``.
        xi: noise draws of x's shape (standard normal, or any zero-mean unit noise), or None.
        kind: "tanh" or "sigmoid": picks h and u.
        alpha: mixing weight α of Eq 12.
        c: noise scale (a float or 0-dim tensor; not differentiated).
        p: scalar or per-unit tensor ``(num_units,)``, broadcast along the last dimension.
        half_normal: NAH (ε = |ξ|) instead of NAN.
        test_mean: E[ε] used for half-normal noise when ``xi`` is None.

    Returns:
        A tensor of x's shape, computed by a custom autograd Function that stores two x-sized
        tensors for backward (none when no gradient is recorded).
    """
    check_kind(kind)
    if isinstance(p, torch.Tensor):
        if p.dtype != x.dtype or p.device != x.device:
            p = p.to(dtype=x.dtype, device=x.device)
    else:
        p = torch.tensor(p, dtype=x.dtype, device=x.device)
    if xi is None:
        eps = test_mean if half_normal else None
    else:
        eps = torch.abs(xi) if half_normal else xi
    return _noisy_output(x, eps, p, alpha, kind, c)


def _noisy_output(
    x: torch.Tensor,
    eps: torch.Tensor | float | None,
    p: torch.Tensor,
    alpha: float,
    kind: str,
    c: float | torch.Tensor,
) -> torch.Tensor:
    """Eq 12 with ε given (a tensor, its test-time mean as a float, or None for 0).

    ``p`` must already have x's dtype and device.
    """
    scale = 0.25 if 1.0 - alpha >= 0 else -0.25  # sgn(1 − α)·c/4, c applied below
    if isinstance(c, torch.Tensor) and not c.is_cpu:
        # keep c on the device (reading it would synchronise): scale ε instead
        if eps is not None:
            eps = (c.to(dtype=x.dtype) * scale) * eps
        scale = 1.0
    else:
        scale *= float(c)  # a 0-dim CPU tensor: reading it is cheap
    if not (torch.is_grad_enabled() and (x.requires_grad or p.requires_grad)):
        kernel = _compiled_kernel or _nan_kernel
        return kernel(x, eps, p, float(alpha), kind, scale, False, _kernel_consts(x, kind))[0]
    return _NoisyOutputFunction.apply(x, eps, p, float(alpha), kind, scale, True)
