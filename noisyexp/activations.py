"""Noisy activation functions (Gulcehre, Moczulski, Denil, Bengio, ICML 2016), in PyTorch.

This file depends on torch alone, so it can be copied into another project. It holds:

* the hard units h(x) and their linearisations u(x) (Eqs 1-4, slope 0.25 for the sigmoid);
* a functional core where the noise ``xi`` is an argument, so every formula is testable
  exactly (``xi=None`` gives the test-time value, Eq 13);
* ``nn.Module`` units sharing one interface ``Cls(num_units, ...)``: reference units and the
  noisy ones (NAN, NAH, NANI, NANIS, NANIL, Laplace noise, NAN with p fixed);
* helpers a trainer uses: ``make_unit`` by name, noise generators, saturation statistics.

Noisy units keep their noise scale in a persistent buffer ``c`` (σ for the input-noise units),
so it is saved in ``state_dict``; a schedule changes it with ``set_noise_scale``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.autograd.function import once_differentiable

__all__ = [
    "AUTHORS_HALF_NORMAL_MEAN",
    "HALF_NORMAL_MEAN",
    "KINDS",
    "LAPLACE_ABS_MEAN",
    "THRESHOLDS",
    "UNIT_TYPES",
    "UnitType",
    "HardSigmoid",
    "HardTanh",
    "NoisyInput",
    "NoisyInputLearned",
    "NoisyInputSaturated",
    "NoisyOutput",
    "NoisyUnit",
    "Sigmoid",
    "Tanh",
    "Unit",
    "hard",
    "hard_sigmoid",
    "hard_tanh",
    "linear",
    "linear_sigmoid",
    "linear_tanh",
    "make_unit",
    "noise_std",
    "noisy_input",
    "noisy_input_learned",
    "noisy_input_saturated",
    "noisy_modules",
    "noisy_output",
    "noisy_output_reference",
    "paper_defaults",
    "paper_sign",
    "register_unit",
    "saturation_stats",
    "set_noise_generator",
    "track_saturation",
    "unit_type",
    "use_compiled_kernel",
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
_SLOPES = {"sigmoid": 0.25, "tanh": 1.0}  # u'(x)
_NOISES = ("normal", "laplace")


def _check_kind(kind: str) -> None:
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
    _check_kind(kind)
    return hard_tanh(x) if kind == "tanh" else hard_sigmoid(x)


def linear(x: torch.Tensor, kind: str) -> torch.Tensor:
    """u(x): the linearisation of ``kind`` that h(x) clips."""
    _check_kind(kind)
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


# ------------------------------------------------------------------------------------------
# NAN / NAH (Eq 12): readable reference, fast custom autograd Function, dispatching wrapper
# ------------------------------------------------------------------------------------------


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
    slope = _SLOPES[kind]
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
    _check_kind(kind)
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
        sigma = c * nn.functional.softplus(p * delta.abs() / (xi.abs() + 1e-10))
    else:
        sigma = noise_std(x, kind=kind, c=c, p=p)
    return hard(x + sigma * xi, kind)


# ------------------------------------------------------------------------------------------
# Modules
# ------------------------------------------------------------------------------------------


class Unit(nn.Module):
    """Base of every unit: ``Cls(num_units, ...)``, applied elementwise to ``(..., num_units)``.

    When ``track_saturation`` is True, each forward stores in ``last_saturation`` the fraction,
    per unit, of its inputs with |x| ≥ ``threshold`` (detached, no autograd cost).
    """

    def __init__(self, num_units: int | None, kind: str) -> None:
        super().__init__()
        _check_kind(kind)
        if num_units is not None and num_units < 1:
            raise ValueError(f"num_units must be >= 1, got {num_units}")
        self.num_units = num_units
        self.kind = kind
        self.threshold = THRESHOLDS[kind]
        self.track_saturation = False
        self.last_saturation: torch.Tensor | None = None  # (num_units,)

    def _observe(self, x: torch.Tensor) -> None:
        if self.track_saturation:
            with torch.no_grad():
                saturated = x.detach().abs().reshape(-1, x.shape[-1]) >= self.threshold
                self.last_saturation = saturated.sum(0) / saturated.shape[0]

    def draws_noise(self) -> bool:
        """Whether :meth:`forward` draws noise now (a noisy unit in training mode)."""
        return False

    def pure(self, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        """The unit as a pure function of x and its noise, in plain differentiable torch ops.

        Same values as :meth:`forward` given the noise it would draw (``None`` = the test-time
        value), with no RNG, no saturation tracking and no custom autograd Function, so that
        ``torch.compile`` can fuse it with its neighbours (a fused recurrent step).
        """
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"num_units={self.num_units}, kind={self.kind!r}"


class _FixedUnit(Unit):
    """Base of the noise-free units: ``Cls(num_units=None)`` applying ``_function`` elementwise."""

    _kind: str  # the Unit kind, set by subclasses
    _function: Callable[[torch.Tensor], torch.Tensor]  # a staticmethod, set by subclasses

    def __init__(self, num_units: int | None = None) -> None:
        super().__init__(num_units, self._kind)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._observe(x)
        return self._function(x)

    def pure(self, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        return self._function(x)


class Sigmoid(_FixedUnit):
    """Reference logistic sigmoid. Saturation threshold |x| ≥ 2 like the hard sigmoid: there
    sigmoid' is 42% of its peak, the same ratio as tanh' at |x| = 1."""

    _kind = "sigmoid"
    _function = staticmethod(torch.sigmoid)


class Tanh(_FixedUnit):
    """Reference tanh (the paper's baseline cell unit); saturation threshold |x| ≥ 1."""

    _kind = "tanh"
    _function = staticmethod(torch.tanh)


class HardSigmoid(_FixedUnit):
    """Eq 3 with slope 0.25."""

    _kind = "sigmoid"
    _function = staticmethod(hard_sigmoid)


class HardTanh(_FixedUnit):
    """Eq 4."""

    _kind = "tanh"
    _function = staticmethod(hard_tanh)


class NoisyUnit(Unit):
    """Base of the noisy units: a persistent 0-dim buffer ``c`` and a noise ``generator``.

    In training mode noise is drawn from ``self.generator`` (a ``torch.Generator`` on x's
    device, or None for the global RNG); in eval mode the test-time value is used.
    """

    def __init__(self, num_units: int, kind: str, c: float, noise: str = "normal") -> None:
        super().__init__(num_units, kind)
        if noise not in _NOISES:
            raise ValueError(f"noise must be one of {_NOISES}, got {noise!r}")
        self.noise = noise
        self.generator: torch.Generator | None = None
        self.register_buffer("c", torch.tensor(0.0))
        self.set_noise_scale(c)

    def set_noise_scale(self, c: float) -> None:
        """Set the noise scale in place (kept in ``state_dict``, so a resumed run has it)."""
        c = float(c)
        if not c >= 0.0 or math.isinf(c):
            raise ValueError(f"noise scale c must be finite and >= 0, got {c}")
        self.c.fill_(c)

    def draws_noise(self) -> bool:
        return self.training

    def _draw_noise(self, x: torch.Tensor) -> torch.Tensor:
        return self.draw_noise(x.shape, dtype=x.dtype, device=x.device)

    def draw_noise(
        self, shape: Sequence[int], *, dtype: torch.dtype, device: torch.device
    ) -> torch.Tensor:
        """Unit noise of ``shape`` from ``self.generator`` (what :meth:`forward` draws)."""
        if self.noise == "normal":
            # the same draws as torch.randn(shape, generator=...), with less call overhead
            noise = torch.empty(shape, dtype=dtype, device=device)
            return noise.normal_(generator=self.generator)
        # Laplace(0, b = 1/√2) by inverse CDF; 1 − |v| is floored at half the rand() grid step.
        v = torch.rand(shape, generator=self.generator, device=device, dtype=dtype)
        v = v.mul_(2.0).sub_(1.0)
        tail = torch.clamp(1.0 - v.abs(), min=torch.finfo(dtype).eps / 2).log_()
        return tail.mul_(torch.sign(v)).mul_(-LAPLACE_ABS_MEAN)

    def _check_units(self, x: torch.Tensor) -> None:
        if x.dim() == 0 or x.shape[-1] != self.num_units:
            raise ValueError(
                f"{type(self).__name__} has num_units={self.num_units} but got input of shape "
                f"{tuple(x.shape)}: the last dimension must be num_units"
            )

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, c={self.c.item():.4g}"


def _init_p(num_units: int) -> torch.Tensor:
    """p ~ U(−1, 1) per unit, as in every experiment of the paper (global torch RNG)."""
    return torch.empty(num_units).uniform_(-1.0, 1.0)


class NoisyOutput(NoisyUnit):
    """NAN / NAH (Eq 12) and the v3 MNIST variants (Laplace noise, p fixed).

    Args:
        num_units: size of the last dimension; p has this shape.
        kind: "tanh" or "sigmoid".
        alpha: α of Eq 12; None = the authors' default (1.15 tanh, 1.1 sigmoid).
        c: noise scale; None = the authors' default (0.5 tanh, 0.15 sigmoid).
        half_normal: NAH (ε = |ξ|) instead of NAN.
        noise: "normal", or "laplace" (unit variance, scale 1/√2).
        learn_p: False = "NAN with p fixed": p is a buffer drawn U(−1, 1), not a Parameter.
        test_mean: E[ε] at test time for half-normal noise; None = √(2/π) for normal noise and
            1/√2 for Laplace. Pass 0.797 to match the authors' code.
        clip_output: clamp the output to h's range ([−1, 1] or [0, 1]), as the authors' first
            code did. Off by default (the paper and their later code do not clip); useful with a
            large c (annealing from 30), where unclipped LSTM gates can make the cell overflow.
    """

    def __init__(
        self,
        num_units: int,
        kind: str,
        alpha: float | None = None,
        c: float | None = None,
        half_normal: bool = False,
        noise: str = "normal",
        learn_p: bool = True,
        test_mean: float | None = None,
        clip_output: bool = False,
    ) -> None:
        defaults = _OUTPUT_DEFAULTS.get(kind, {})
        super().__init__(num_units, kind, defaults.get("c", 0.0) if c is None else c, noise)
        self.alpha = float(defaults["alpha"] if alpha is None else alpha)
        self.half_normal = bool(half_normal)
        if test_mean is None:
            test_mean = HALF_NORMAL_MEAN if noise == "normal" else LAPLACE_ABS_MEAN
        self.test_mean = float(test_mean)
        self.learn_p = bool(learn_p)
        self.clip_output = bool(clip_output)
        if learn_p:
            self.p = nn.Parameter(_init_p(num_units))
        else:
            self.register_buffer("p", _init_p(num_units))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_units(x)
        self._observe(x)
        if self.training:
            eps = self._draw_noise(x)
            if self.half_normal:
                eps = eps.abs_()  # fresh tensor: in place
        else:
            eps = self.test_mean if self.half_normal else None
        p = self.p
        if p.dtype != x.dtype or p.device != x.device:
            p = p.to(dtype=x.dtype, device=x.device)
        out = _noisy_output(x, eps, p, self.alpha, self.kind, self.c)
        return self._clip(out)

    def pure(self, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        out = noisy_output_reference(
            x,
            noise,
            kind=self.kind,
            alpha=self.alpha,
            c=self.c,
            p=self.p,
            half_normal=self.half_normal,
            test_mean=self.test_mean,
        )
        return self._clip(out)

    def _clip(self, out: torch.Tensor) -> torch.Tensor:
        if not self.clip_output:
            return out
        low, high = (-1.0, 1.0) if self.kind == "tanh" else (0.0, 1.0)
        return out.clamp(low, high)

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, alpha={self.alpha}, half_normal={self.half_normal}, "
            f"noise={self.noise!r}, learn_p={self.learn_p}, clip_output={self.clip_output}"
        )


class NoisyInput(NoisyUnit):
    """NANI, Eq 14: h(x + σξ) with a fixed σ (stored as buffer ``c``; default 0.05)."""

    def __init__(self, num_units: int, kind: str, sigma: float = 0.05) -> None:
        super().__init__(num_units, kind, sigma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_units(x)
        self._observe(x)
        return self.pure(x, self._draw_noise(x) if self.training else None)

    def pure(self, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        return noisy_input(x, noise, kind=self.kind, sigma=self.c)


class NoisyInputSaturated(NoisyUnit):
    """NANIS, Eq 15: input noise only where |x| ≥ x_t (σ in buffer ``c``; default 0.25)."""

    def __init__(self, num_units: int, kind: str, sigma: float = 0.25) -> None:
        super().__init__(num_units, kind, sigma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_units(x)
        self._observe(x)
        return self.pure(x, self._draw_noise(x) if self.training else None)

    def pure(self, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        return noisy_input_saturated(x, noise, kind=self.kind, sigma=self.c)


class NoisyInputLearned(NoisyUnit):
    """NANIL: h(x + σ(x)ξ) with σ(x) from Eq 9 and a learned per-unit p (default c = 0.25).

    ``softplus=True`` selects the authors' σ(x) = c·softplus(p|Δ|/(|ξ| + 1e−10)).
    """

    def __init__(self, num_units: int, kind: str, c: float = 0.25, softplus: bool = False) -> None:
        super().__init__(num_units, kind, c)
        self.softplus = bool(softplus)
        self.p = nn.Parameter(_init_p(num_units))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_units(x)
        self._observe(x)
        return self.pure(x, self._draw_noise(x) if self.training else None)

    def pure(self, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        return noisy_input_learned(
            x, noise, kind=self.kind, c=self.c, p=self.p, softplus=self.softplus
        )


# ------------------------------------------------------------------------------------------
# Registry and model-wide helpers
# ------------------------------------------------------------------------------------------

#: the authors' code defaults for the output-noise units (paper.md §1.10)
_OUTPUT_DEFAULTS = {"tanh": {"alpha": 1.15, "c": 0.5}, "sigmoid": {"alpha": 1.1, "c": 0.15}}


@dataclass(frozen=True)
class UnitType:
    """One registered unit type: its class, what makes the variant, and its paper defaults.

    Attributes:
        cls: the module class, built as ``cls(num_units, kind, **knobs)`` (reference units:
            ``cls(num_units)``, their kind is fixed by the class).
        variant: fixed keyword arguments that make this type out of ``cls`` (e.g. NAH is
            NoisyOutput with ``half_normal=True``); a user cannot override them.
        defaults: kind -> the authors' code defaults of the knobs (paper.md §1.10).
        description: one line for listings and help.
    """

    cls: type[Unit]
    variant: dict[str, object] = field(default_factory=dict)
    defaults: dict[str, dict[str, float]] = field(default_factory=dict)
    description: str = ""

    @property
    def noisy(self) -> bool:
        """Whether the unit draws noise in training (and has a noise scale buffer ``c``)."""
        return issubclass(self.cls, NoisyUnit)

    @property
    def knobs(self) -> tuple[str, ...]:
        """Keyword arguments a user may set: the class signature minus the variant's own."""
        skip = {"self", "num_units", "kind", *self.variant}
        return tuple(n for n in inspect.signature(self.cls).parameters if n not in skip)

    @property
    def scale_knob(self) -> str | None:
        """The knob that holds the noise scale (``c``, or ``sigma`` for input noise)."""
        if not self.noisy:
            return None
        return "sigma" if "sigma" in self.knobs else "c"


#: unit type name -> UnitType: the one list of unit types (configs, figures, benches read it)
UNIT_TYPES: dict[str, UnitType] = {}


def register_unit(
    name: str,
    cls: type[Unit],
    *,
    variant: dict[str, object] | None = None,
    defaults: dict[str, dict[str, float]] | None = None,
    description: str = "",
) -> UnitType:
    """Add a unit type under ``name`` (a new variant = its class or variant kwargs + this call).

    ``defaults`` maps each kind to knob values; a knob it omits keeps the class's own default.

    Raises:
        ValueError: the name is taken, or a default names a knob the class does not take.
    """
    if name in UNIT_TYPES:
        raise ValueError(f"unit type {name!r} is already registered")
    spec = UnitType(
        cls, dict(variant or {}), {k: dict(v) for k, v in (defaults or {}).items()}, description
    )
    for kind, values in spec.defaults.items():
        _check_kind(kind)
        unknown = sorted(set(values) - set(spec.knobs))
        if unknown:
            raise ValueError(f"unit type {name!r}: defaults for unknown knobs {unknown}")
    UNIT_TYPES[name] = spec
    return spec


def _same_for_both_kinds(**values: float) -> dict[str, dict[str, float]]:
    return {kind: dict(values) for kind in KINDS}


register_unit("sigmoid", Sigmoid, description="logistic sigmoid (reference gate)")
register_unit("tanh", Tanh, description="tanh (reference cell)")
register_unit("hard_sigmoid", HardSigmoid, description="hard sigmoid, slope 0.25 (Eq 3)")
register_unit("hard_tanh", HardTanh, description="hard tanh (Eq 4)")
register_unit(
    "nan",
    NoisyOutput,
    defaults=_OUTPUT_DEFAULTS,
    description="NAN: normal noise at the output, learned p (Eq 12)",
)
register_unit(
    "nah",
    NoisyOutput,
    variant={"half_normal": True},
    defaults=_OUTPUT_DEFAULTS,
    description="NAH: half-normal noise toward the linear regime (Algorithm 1)",
)
register_unit(
    "laplace",
    NoisyOutput,
    variant={"noise": "laplace"},
    defaults=_OUTPUT_DEFAULTS,
    description="NAN with unit-variance Laplace noise (v3 Fig 5)",
)
register_unit(
    "nan_fixed_p",
    NoisyOutput,
    variant={"learn_p": False},
    defaults=_OUTPUT_DEFAULTS,
    description="NAN with p fixed at its U(-1, 1) draw (v3 Fig 5)",
)
register_unit(
    "nani",
    NoisyInput,
    defaults=_same_for_both_kinds(sigma=0.05),
    description="NANI: h(x + sigma xi), fixed sigma (Eq 14)",
)
register_unit(
    "nanis",
    NoisyInputSaturated,
    defaults=_same_for_both_kinds(sigma=0.25),
    description="NANIS: input noise only where saturated (Eq 15)",
)
register_unit(
    "nanil",
    NoisyInputLearned,
    defaults=_same_for_both_kinds(c=0.25),
    description="NANIL: input noise with a learned scale (Eq 9)",
)


def unit_type(type_name: str) -> UnitType:
    """The registered :class:`UnitType` called ``type_name``.

    Raises:
        ValueError: no unit type has that name (the message lists them).
    """
    try:
        return UNIT_TYPES[type_name]
    except KeyError:
        raise ValueError(
            f"unknown unit type {type_name!r}; choose one of: {', '.join(UNIT_TYPES)}"
        ) from None


def paper_defaults(type_name: str, kind: str) -> dict[str, float]:
    """The authors' code defaults for ``type_name`` used as a ``kind`` unit (paper.md §1.10).

    Output-noise units (nan, nah, laplace, nan_fixed_p): α = 1.15, c = 0.5 for tanh and
    α = 1.1, c = 0.15 for sigmoid; NANI σ = 0.05; NANIS σ = 0.25; NANIL c = 0.25; reference
    units take no parameters.

    Raises:
        ValueError: unknown type name or kind.
    """
    spec = unit_type(type_name)
    _check_kind(kind)
    return dict(spec.defaults.get(kind, {}))


def make_unit(type_name: str, num_units: int, *, kind: str | None = None, **overrides) -> Unit:
    """Build a unit by name with the paper's defaults, then ``overrides``.

    ``kind`` is required for noisy types and ignored for reference ones (implied by the name).
    Overrides set to None are dropped (the default stays); ``c`` is accepted as an alias of
    ``sigma`` for nani/nanis, whose σ lives in the ``c`` buffer.

    Raises:
        ValueError: unknown type name, missing/unknown kind, a parameter the unit does not
            take, or a negative noise scale.
    """
    spec = unit_type(type_name)
    overrides = {key: value for key, value in overrides.items() if value is not None}
    if not spec.noisy:
        if overrides:
            raise ValueError(f"unit {type_name!r} takes no parameters, got {sorted(overrides)}")
        return spec.cls(num_units)
    if kind is None:
        raise ValueError(f"unit {type_name!r} needs kind= one of {KINDS}")
    accepted = list(spec.knobs)
    if spec.scale_knob == "sigma" and "c" in overrides:
        if "sigma" in overrides:
            raise ValueError(f"unit {type_name!r}: give sigma or its alias c, not both")
        overrides["sigma"] = overrides.pop("c")
    unknown = sorted(set(overrides) - set(accepted))
    if unknown:
        raise ValueError(f"unit {type_name!r} does not take {unknown}; it takes {accepted}")
    params = {**paper_defaults(type_name, kind), **spec.variant, **overrides}
    return spec.cls(num_units, kind, **params)


def noisy_modules(model: nn.Module) -> list[NoisyUnit]:
    """Every noisy unit inside ``model`` (including ``model`` itself)."""
    return [module for module in model.modules() if isinstance(module, NoisyUnit)]


def set_noise_generator(model: nn.Module, generator: torch.Generator | None) -> int:
    """Make every noisy unit of ``model`` draw from ``generator``; returns how many."""
    units = noisy_modules(model)
    for unit in units:
        unit.generator = generator
    return len(units)


def track_saturation(model: nn.Module, enabled: bool = True) -> int:
    """Switch saturation tracking on every unit of ``model``; returns how many units."""
    units = [module for module in model.modules() if isinstance(module, Unit)]
    for unit in units:
        unit.track_saturation = enabled
        if not enabled:
            unit.last_saturation = None
    return len(units)


def saturation_stats(model: nn.Module) -> dict[str, float]:
    """Module name -> fraction of its last forward's inputs with |x| ≥ threshold.

    Only units with ``track_saturation`` on that have run a forward are listed.
    """
    return {
        name: float(module.last_saturation.mean())
        for name, module in model.named_modules()
        if isinstance(module, Unit)
        and module.track_saturation
        and module.last_saturation is not None
    }
