"""The units as ``nn.Module``s sharing one interface ``Cls(num_units, kind, ...)``.

Reference units (sigmoid, tanh, hard sigmoid, hard tanh) and the noisy ones (NAN/NAH and their
variants: :class:`NoisyOutput`; NANI, NANIS, NANIL: the ``NoisyInput*`` classes). Noisy units keep
their noise scale in a persistent buffer ``c`` (σ for the input-noise units), so it is saved in
``state_dict``; a schedule changes it with ``set_noise_scale``. Each unit also has a ``pure``
form (a function of x and its noise in plain torch ops) that compiled recurrent steps fuse.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from .functional import (
    HALF_NORMAL_MEAN,
    LAPLACE_ABS_MEAN,
    NOISES,
    THRESHOLDS,
    check_kind,
    hard_sigmoid,
    hard_tanh,
    noisy_input,
    noisy_input_learned,
    noisy_input_saturated,
    noisy_output_reference,
)
from .kernel import _noisy_output

__all__ = [
    "OUTPUT_DEFAULTS",
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
]

#: the authors' code defaults for the output-noise units (paper.md §1.10)
OUTPUT_DEFAULTS = {"tanh": {"alpha": 1.15, "c": 0.5}, "sigmoid": {"alpha": 1.1, "c": 0.15}}


class Unit(nn.Module):
    """Base of every unit: ``Cls(num_units, ...)``, applied elementwise to ``(..., num_units)``.

    When ``track_saturation`` is True, each forward stores in ``last_saturation`` the fraction,
    per unit, of its inputs with |x| ≥ ``threshold`` (detached, no autograd cost).
    """

    def __init__(self, num_units: int | None, kind: str) -> None:
        super().__init__()
        check_kind(kind)
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
        ``torch.compile`` can fuse it with its neighbours (a fused recurrent step). A unit class
        that does not define it has no fast-path form (:func:`has_pure_form`): the compiled
        recurrent step refuses it at config time and the layers run their plain loop.
        """
        raise NotImplementedError(f"{type(self).__name__} has no pure(x, noise) form")

    @classmethod
    def has_pure_form(cls) -> bool:
        """Whether this class defines :meth:`pure` (the compiled step's form of the unit)."""
        return cls.pure is not Unit.pure

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
        if noise not in NOISES:
            raise ValueError(f"noise must be one of {NOISES}, got {noise!r}")
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`pure` with noise drawn in training mode (NoisyOutput has a fused path)."""
        self._check_units(x)
        self._observe(x)
        return self.pure(x, self._draw_noise(x) if self.training else None)

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
        defaults = OUTPUT_DEFAULTS.get(kind, {})
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

    def pure(self, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        return noisy_input(x, noise, kind=self.kind, sigma=self.c)


class NoisyInputSaturated(NoisyUnit):
    """NANIS, Eq 15: input noise only where |x| ≥ x_t (σ in buffer ``c``; default 0.25)."""

    def __init__(self, num_units: int, kind: str, sigma: float = 0.25) -> None:
        super().__init__(num_units, kind, sigma)

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

    def pure(self, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        return noisy_input_learned(
            x, noise, kind=self.kind, c=self.c, p=self.p, softplus=self.softplus
        )
