"""Tests of noisyexp.activations against an independent float64 numpy transcription of the paper.

Shapes use distinct sizes: batch 3, time 5, units 11.
"""

from __future__ import annotations

import ast
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from noisyexp import activations as act

BATCH, TIME, UNITS = 3, 5, 11
NOISY_TYPES = [name for name, spec in act.UNIT_TYPES.items() if spec.noisy]
REFERENCE_TYPES = [name for name, spec in act.UNIT_TYPES.items() if not spec.noisy]


# ---- independent float64 reference (numpy), written from paper.md §1 ----------------------


def np_hard(x: np.ndarray, kind: str) -> np.ndarray:
    return np.clip(x, -1.0, 1.0) if kind == "tanh" else np.clip(0.25 * x + 0.5, 0.0, 1.0)


def np_linear(x: np.ndarray, kind: str) -> np.ndarray:
    return x if kind == "tanh" else 0.25 * x + 0.5


def np_sgn(x: np.ndarray | float) -> np.ndarray:
    return np.where(np.asarray(x) >= 0, 1.0, -1.0)


def np_sigma(x: np.ndarray, kind: str, c: float, p: np.ndarray | float) -> np.ndarray:
    delta = np_hard(x, kind) - np_linear(x, kind)
    return c * (1.0 / (1.0 + np.exp(-p * delta)) - 0.5) ** 2


SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def np_eps(xi, half_normal, test_mean):
    """ε of Algorithm 1, or its expectation at test time (xi None)."""
    if xi is None:
        return test_mean if half_normal else 0.0
    return np.abs(xi) if half_normal else xi


def np_nan(x, xi, kind, alpha, c, p, half_normal, test_mean=SQRT_2_OVER_PI):
    """Eq 12 / Eq 13 (xi None)."""
    d = -np_sgn(x) * np_sgn(1.0 - alpha)
    eps = np_eps(xi, half_normal, test_mean)
    h, u = np_hard(x, kind), np_linear(x, kind)
    return alpha * h + (1.0 - alpha) * u + d * np_sigma(x, kind, c, p) * eps


def spread_x(shape: tuple[int, ...], kind: str, seed: int) -> np.ndarray:
    """Inputs covering both saturated sides and the linear regime, kept 0.02 from the kinks."""
    rng = np.random.default_rng(seed)
    threshold = act.THRESHOLDS[kind]
    x = rng.normal(size=shape) * 2.5 * threshold
    near_kink = np.abs(np.abs(x) - threshold) < 0.02
    return np.where(near_kink, x + 0.05 * np_sgn(x), x)


def t64(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(array, dtype=np.float64))


def uniform_p(seed: int, size: int = UNITS) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=size)


# ---- h(x), u(x), sgn -----------------------------------------------------------------------


def test_hard_sigmoid_has_slope_one_quarter_and_clips_at_two():
    x = torch.tensor([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0], dtype=torch.float64)
    expected = torch.tensor([0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(act.hard_sigmoid(x), expected, rtol=0, atol=0)
    torch.testing.assert_close(act.hard(x, "sigmoid"), expected, rtol=0, atol=0)


def test_hard_tanh_clips_at_one():
    x = torch.tensor([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0], dtype=torch.float64)
    expected = torch.tensor([-1.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(act.hard_tanh(x), expected, rtol=0, atol=0)
    torch.testing.assert_close(act.hard(x, "tanh"), expected, rtol=0, atol=0)


def test_linearisations_are_first_order_taylor_expansions_at_zero():
    x = torch.tensor([-4.0, 0.0, 6.0], dtype=torch.float64)
    torch.testing.assert_close(act.linear_sigmoid(x), torch.tensor([-0.5, 0.5, 2.0]).double())
    torch.testing.assert_close(act.linear(x, "sigmoid"), torch.tensor([-0.5, 0.5, 2.0]).double())
    torch.testing.assert_close(act.linear_tanh(x), x)
    torch.testing.assert_close(act.linear(x, "tanh"), x)


def test_unknown_kind_is_rejected_with_choices():
    with pytest.raises(ValueError, match="sigmoid"):
        act.hard(torch.zeros(2), "relu")


def test_paper_sign_of_zero_is_plus_one():
    x = torch.tensor([-2.0, -0.0, 0.0, 3.0])
    torch.testing.assert_close(act.paper_sign(x), torch.tensor([-1.0, 1.0, 1.0, 1.0]))


@pytest.mark.parametrize("kind", act.KINDS)
def test_noise_std_matches_eq9_and_vanishes_in_linear_regime(kind):
    x = spread_x((BATCH, UNITS), kind, seed=1)
    p = uniform_p(2)
    got = act.noise_std(t64(x), kind=kind, c=0.7, p=t64(p))
    torch.testing.assert_close(got, t64(np_sigma(x, kind, 0.7, p)), rtol=0, atol=1e-14)
    linear_regime = np.abs(x) <= act.THRESHOLDS[kind]
    assert linear_regime.any() and not linear_regime.all()
    assert torch.all(got[torch.from_numpy(linear_regime)] == 0)


# ---- NAN / NAH (Eq 12, 13) -----------------------------------------------------------------


@pytest.mark.parametrize("half_normal", [False, True])
@pytest.mark.parametrize("alpha", [0.9, 1.0, 1.15])
@pytest.mark.parametrize("kind", act.KINDS)
def test_noisy_output_matches_float64_reference(kind, alpha, half_normal):
    x = spread_x((BATCH, TIME, UNITS), kind, seed=3)
    xi = np.random.default_rng(4).normal(size=x.shape)
    p = uniform_p(5)
    expected = np_nan(x, xi, kind, alpha, 0.7, p, half_normal)
    kwargs = {"kind": kind, "alpha": alpha, "c": 0.7, "half_normal": half_normal}
    got = act.noisy_output(t64(x), t64(xi), p=t64(p), **kwargs)
    torch.testing.assert_close(got, t64(expected), rtol=0, atol=1e-12)
    readable = act.noisy_output_reference(t64(x), t64(xi), p=t64(p), **kwargs)
    torch.testing.assert_close(readable, t64(expected), rtol=0, atol=1e-12)
    got32 = act.noisy_output(t64(x).float(), t64(xi).float(), p=t64(p).float(), **kwargs)
    torch.testing.assert_close(got32.double(), t64(expected), rtol=0, atol=2e-6)


@pytest.mark.parametrize("half_normal", [False, True])
@pytest.mark.parametrize("kind", act.KINDS)
def test_noisy_output_test_time_is_eq13(kind, half_normal):
    x = spread_x((BATCH, UNITS), kind, seed=6)
    p = uniform_p(7)
    got = act.noisy_output(
        t64(x), None, kind=kind, alpha=1.15, c=2.0, p=t64(p), half_normal=half_normal
    )
    expected = np_nan(x, None, kind, 1.15, 2.0, p, half_normal)
    torch.testing.assert_close(got, t64(expected), rtol=0, atol=1e-12)


def test_test_time_half_normal_mean_is_exact_unless_authors_value_asked():
    x, p = t64(np.array([3.0, -4.0])), 0.8
    kwargs = {"kind": "tanh", "alpha": 1.15, "c": 2.0, "p": p, "half_normal": True}
    exact = act.noisy_output(x, None, **kwargs)
    authors = act.noisy_output(x, None, test_mean=act.AUTHORS_HALF_NORMAL_MEAN, **kwargs)
    sigma = np_sigma(np.array([3.0, -4.0]), "tanh", 2.0, p)
    d = np.array([1.0, -1.0])  # −sgn(x)·sgn(1 − 1.15)
    torch.testing.assert_close(
        authors - exact, t64(d * sigma * (0.797 - math.sqrt(2 / math.pi))), rtol=0, atol=1e-14
    )
    assert pytest.approx(0.7978845608, abs=1e-10) == act.HALF_NORMAL_MEAN


# paper.md §1.7: x, hard-tanh NAH output, σ, hard-sigmoid NAH output, σ (p = 1, test time).
# The digest labels E|ξ| as 0.7979; the row x = 3 (0.75785 with 0.7979, a rounding tie) shows it
# was computed with the exact √(2/π) = 0.797885 (0.757849), so the test uses the exact value.
PAPER_TABLE = [
    ("0", "0.0000", "0", "0.5000", "0"),
    ("1", "1.0000", "0", "0.7500", "0"),
    ("1.5", "0.9310", "0.0075", "0.8750", "0"),
    ("2", "0.8713", "0.0267", "1.0000", "0"),
    ("3", "0.7578", "0.0725", "0.9755", "0.00058"),
    ("4", "0.6317", "0.1024", "0.9518", "0.00225"),
    ("6", "0.3471", "0.1217", "0.9064", "0.00801"),
]


def _half_last_digit(text: str) -> float:
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0**-decimals + 1e-12


@pytest.mark.parametrize("row", PAPER_TABLE, ids=[row[0] for row in PAPER_TABLE])
def test_paper_worked_values_of_nah_defaults(row):
    x_text, tanh_out, tanh_sigma, sigmoid_out, sigmoid_sigma = row
    for kind, out_text, sigma_text, alpha, c in [
        ("tanh", tanh_out, tanh_sigma, 1.15, 0.5),
        ("sigmoid", sigmoid_out, sigmoid_sigma, 1.1, 0.15),
    ]:
        x = torch.tensor([float(x_text), -float(x_text)], dtype=torch.float64)
        out = act.noisy_output(x, None, kind=kind, alpha=alpha, c=c, p=1.0, half_normal=True)
        sigma = act.noise_std(x, kind=kind, c=c, p=1.0)
        assert out[0].item() == pytest.approx(float(out_text), abs=_half_last_digit(out_text))
        assert sigma[0].item() == pytest.approx(float(sigma_text), abs=_half_last_digit(sigma_text))
        # odd for tanh, symmetric about 0.5 for sigmoid
        mirrored = -out[1] if kind == "tanh" else 1.0 - out[1]
        torch.testing.assert_close(mirrored, out[0], rtol=0, atol=1e-14)


def _np_grads(x, xi, p, grad_out, **kwargs):
    """Central finite differences of the numpy reference, w.r.t. x and each p_j."""
    step = 1e-6

    def loss(xv, pv):
        return float(np.sum(np_nan(xv, xi, p=pv, **kwargs) * grad_out))

    dx = np_nan(x + step, xi, p=p, **kwargs) - np_nan(x - step, xi, p=p, **kwargs)
    dx = dx * grad_out / (2 * step)
    dp = np.array(
        [
            (loss(x, p + step * np.eye(len(p))[j]) - loss(x, p - step * np.eye(len(p))[j]))
            / (2 * step)
            for j in range(len(p))
        ]
    )
    return dx, dp


@pytest.mark.parametrize("half_normal", [False, True])
@pytest.mark.parametrize("alpha", [0.9, 1.15])
@pytest.mark.parametrize("kind", act.KINDS)
def test_noisy_output_gradients_match_finite_differences_of_reference(kind, alpha, half_normal):
    x = spread_x((TIME, UNITS), kind, seed=8)
    xi = np.random.default_rng(9).normal(size=x.shape)
    p = uniform_p(10)
    grad_out = np.random.default_rng(11).normal(size=x.shape)
    kwargs = {"kind": kind, "alpha": alpha, "c": 0.7, "half_normal": half_normal}
    x_t, p_t = t64(x).requires_grad_(), t64(p).requires_grad_()
    out = act.noisy_output(x_t, t64(xi), p=p_t, **kwargs)
    dx, dp = torch.autograd.grad(out, (x_t, p_t), t64(grad_out))
    expected_dx, expected_dp = _np_grads(x, xi, p, grad_out, **kwargs)
    torch.testing.assert_close(dx, t64(expected_dx), rtol=0, atol=1e-7)
    torch.testing.assert_close(dp, t64(expected_dp), rtol=0, atol=1e-7)


@pytest.mark.parametrize("half_normal", [False, True])
@pytest.mark.parametrize("alpha", [0.9, 1.0, 1.15])
@pytest.mark.parametrize("kind", act.KINDS)
def test_custom_function_passes_gradcheck(kind, alpha, half_normal):
    x = t64(spread_x((BATCH, 4), kind, seed=12)).requires_grad_()
    xi = t64(np.random.default_rng(13).normal(size=(BATCH, 4)))
    p = t64(uniform_p(14, size=4)).requires_grad_()

    def function(x, p):
        return act.noisy_output(x, xi, kind=kind, alpha=alpha, c=0.9, p=p, half_normal=half_normal)

    assert torch.autograd.gradcheck(function, (x, p), eps=1e-6, atol=1e-7)


def test_custom_function_accepts_scalar_p_tensor_and_float_p():
    x = t64(spread_x((BATCH, UNITS), "tanh", seed=15)).requires_grad_()
    xi = t64(np.random.default_rng(16).normal(size=(BATCH, UNITS)))
    p = torch.tensor(0.6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, p: act.noisy_output(x, xi, kind="tanh", alpha=1.15, c=0.5, p=p), (x, p)
    )
    out = act.noisy_output(x, xi, kind="tanh", alpha=1.15, c=0.5, p=0.6)
    expected = np_nan(x.detach().numpy(), xi.numpy(), "tanh", 1.15, 0.5, 0.6, False)
    torch.testing.assert_close(out, t64(expected), rtol=0, atol=1e-12)


@pytest.mark.parametrize("alpha", [1.0, 1.15])
def test_saturated_gradients_are_nonzero_where_hard_tanh_gradient_is_zero(alpha):
    x = torch.tensor([[2.5, -3.0, 4.0]], dtype=torch.float64, requires_grad=True)
    p = torch.tensor([0.7, -0.4, 0.9], dtype=torch.float64, requires_grad=True)
    (hard_grad,) = torch.autograd.grad(act.hard_tanh(x).sum(), x)
    assert torch.all(hard_grad == 0)
    xi = torch.tensor([[0.8, -1.3, 0.5]], dtype=torch.float64)
    out = act.noisy_output(x, xi, kind="tanh", alpha=alpha, c=0.5, p=p)
    dx, dp = torch.autograd.grad(out.sum(), (x, p))
    assert torch.all(dx.abs() > 1e-4) and torch.all(dp.abs() > 1e-4)


def test_p_gets_no_gradient_from_the_linear_regime():
    x = torch.tensor([[0.3, -0.9, 0.0]], dtype=torch.float64, requires_grad=True)
    p = torch.tensor([0.7, -0.4, 0.9], dtype=torch.float64, requires_grad=True)
    xi = torch.tensor([[0.8, -1.3, 0.5]], dtype=torch.float64)
    out = act.noisy_output(x, xi, kind="tanh", alpha=1.15, c=0.5, p=p)
    dx, dp = torch.autograd.grad(out.sum(), (x, p))
    torch.testing.assert_close(dx, torch.ones_like(dx), rtol=0, atol=0)
    torch.testing.assert_close(dp, torch.zeros_like(dp), rtol=0, atol=0)


def test_nan_with_alpha_above_one_slopes_back_toward_linear_regime():
    """α = 1.15: the deterministic part has slope 1 − α = −0.15 past the threshold."""
    x = torch.tensor([2.0, -3.0], dtype=torch.float64, requires_grad=True)
    out = act.noisy_output(x, None, kind="tanh", alpha=1.15, c=0.0, p=1.0)
    (dx,) = torch.autograd.grad(out.sum(), x)
    torch.testing.assert_close(
        dx, torch.tensor([-0.15, -0.15], dtype=torch.float64), rtol=0, atol=1e-12
    )


@pytest.mark.parametrize("half_normal", [False, True])
@pytest.mark.parametrize("kind", act.KINDS)
def test_custom_function_gradcheck_with_batch_dims_and_per_unit_p(kind, half_normal):
    """(batch, time, units) input: the per-unit p gradient sums over two leading dimensions."""
    x = t64(spread_x((2, BATCH, 4), kind, seed=60)).requires_grad_()
    xi = t64(np.random.default_rng(61).normal(size=(2, BATCH, 4)))
    p = t64(uniform_p(62, size=4)).requires_grad_()

    def function(x, p):
        return act.noisy_output(x, xi, kind=kind, alpha=1.15, c=0.9, p=p, half_normal=half_normal)

    assert torch.autograd.gradcheck(function, (x, p), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("half_normal", [False, True])
@pytest.mark.parametrize("kind", act.KINDS)
def test_test_time_gradients_match_plain_autograd_reference(kind, half_normal):
    """xi=None runs the custom Function too; its gradients are those of Eq 13."""
    x = t64(spread_x((BATCH, UNITS), kind, seed=63))
    p = t64(uniform_p(64))
    kwargs = {"kind": kind, "alpha": 1.15, "c": 0.7, "half_normal": half_normal}
    grads = []
    for function in (act.noisy_output, act.noisy_output_reference):
        x_t, p_t = x.clone().requires_grad_(), p.clone().requires_grad_()
        out = function(x_t, None, p=p_t, **kwargs)
        grads.append((out, *torch.autograd.grad(out.sum(), (x_t, p_t))))
    for got, want in zip(*grads, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", act.KINDS)
def test_gradients_at_the_kinks_match_plain_autograd_reference(kind):
    """At |x| = x_t exactly the unit counts as linear, like clamp's gradient in autograd."""
    threshold = act.THRESHOLDS[kind]
    x = torch.tensor([[-threshold, threshold, 0.5 * threshold, 3.0 * threshold]])
    xi = torch.tensor([[0.8, -1.3, 0.5, 1.1]], dtype=torch.float64)
    p = torch.tensor([0.7, -0.4, 0.9, -0.6], dtype=torch.float64)
    grads = []
    for function in (act.noisy_output, act.noisy_output_reference):
        x_t, p_t = x.double().requires_grad_(), p.clone().requires_grad_()
        out = function(x_t, xi, kind=kind, alpha=1.15, c=0.5, p=p_t)
        grads.append(torch.autograd.grad(out.sum(), (x_t, p_t)))
    for got, want in zip(*grads, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_float32_gradients_match_float64_reference():
    x = t64(spread_x((BATCH, TIME, UNITS), "sigmoid", seed=65))
    xi = t64(np.random.default_rng(66).normal(size=x.shape))
    p = t64(uniform_p(67))
    kwargs = {"kind": "sigmoid", "alpha": 1.1, "c": 2.0}
    grads = {}
    for dtype in (torch.float32, torch.float64):
        x_t, p_t = x.to(dtype).requires_grad_(), p.to(dtype).requires_grad_()
        out = act.noisy_output(x_t, xi.to(dtype), p=p_t, **kwargs)
        grads[dtype] = torch.autograd.grad(out.sum(), (x_t, p_t))
    for got, want in zip(grads[torch.float32], grads[torch.float64], strict=True):
        torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-5)


def test_noise_scale_on_another_device_is_not_read():
    """A c buffer off the CPU stays a tensor (reading it would synchronise); meta has no data."""
    unit = act.make_unit("nah", UNITS, kind="tanh").to("meta").train()
    x = torch.empty(BATCH, UNITS, device="meta", requires_grad=True)
    out = unit(x)
    out.sum().backward()
    assert out.shape == x.shape and x.grad.shape == x.shape and unit.p.grad.shape == (UNITS,)
    assert unit.eval()(x).shape == x.shape


def test_unit_noise_draws_are_those_of_randn():
    """The unit fills a fresh tensor with normal_(): the values torch.randn gives for that state."""
    for shape in [(BATCH, UNITS), (40, 1000)]:
        drawn = act.NoisyOutput(shape[-1], "tanh")
        drawn.generator = torch.Generator().manual_seed(68)
        want = torch.randn(shape, generator=torch.Generator().manual_seed(68))
        assert torch.equal(drawn._draw_noise(torch.empty(shape)), want)


# ---- input-noise units (Eqs 14, 15, NANIL) -------------------------------------------------


@pytest.mark.parametrize("kind", act.KINDS)
def test_noisy_input_is_hard_unit_of_shifted_input(kind):
    x = spread_x((BATCH, UNITS), kind, seed=17)
    xi = np.random.default_rng(18).normal(size=x.shape)
    got = act.noisy_input(t64(x), t64(xi), kind=kind, sigma=0.3)
    torch.testing.assert_close(got, t64(np_hard(x + 0.3 * xi, kind)), rtol=0, atol=1e-14)


@pytest.mark.parametrize("kind", act.KINDS)
def test_noisy_input_saturated_adds_noise_only_past_threshold(kind):
    x = spread_x((BATCH, UNITS), kind, seed=19)
    xi = np.random.default_rng(20).normal(size=x.shape)
    saturated = np.abs(x) >= act.THRESHOLDS[kind]
    expected = np_hard(x + saturated * 0.4 * xi, kind)
    got = act.noisy_input_saturated(t64(x), t64(xi), kind=kind, sigma=0.4)
    torch.testing.assert_close(got, t64(expected), rtol=0, atol=1e-14)


@pytest.mark.parametrize("kind", act.KINDS)
def test_noisy_input_learned_uses_eq9_sigma(kind):
    x = spread_x((BATCH, UNITS), kind, seed=21)
    xi = np.random.default_rng(22).normal(size=x.shape)
    p = uniform_p(23)
    expected = np_hard(x + np_sigma(x, kind, 3.0, p) * xi, kind)
    got = act.noisy_input_learned(t64(x), t64(xi), kind=kind, c=3.0, p=t64(p))
    torch.testing.assert_close(got, t64(expected), rtol=0, atol=1e-14)


@pytest.mark.parametrize("kind", act.KINDS)
def test_noisy_input_learned_softplus_option_is_authors_formula(kind):
    x = spread_x((BATCH, UNITS), kind, seed=24)
    xi = np.random.default_rng(25).normal(size=x.shape)
    p = uniform_p(26)
    abs_delta = np.abs(np_hard(x, kind) - np_linear(x, kind))
    sigma = 0.25 * np.log1p(np.exp(p * abs_delta / (np.abs(xi) + 1e-10)))
    got = act.noisy_input_learned(t64(x), t64(xi), kind=kind, c=0.25, p=t64(p), softplus=True)
    torch.testing.assert_close(got, t64(np_hard(x + sigma * xi, kind)), rtol=0, atol=1e-14)


@pytest.mark.parametrize("function", [act.noisy_input, act.noisy_input_saturated])
def test_input_noise_test_time_is_hard_unit(function):
    x = spread_x((BATCH, UNITS), "sigmoid", seed=27)
    torch.testing.assert_close(
        function(t64(x), None, kind="sigmoid", sigma=0.5),
        t64(np_hard(x, "sigmoid")),
        rtol=0,
        atol=0,
    )
    learned = act.noisy_input_learned(t64(x), None, kind="sigmoid", c=0.5, p=0.3)
    torch.testing.assert_close(learned, t64(np_hard(x, "sigmoid")), rtol=0, atol=0)


# ---- modules -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", act.KINDS)
@pytest.mark.parametrize("type_name", NOISY_TYPES)
def test_make_unit_builds_noisy_types_with_paper_defaults(type_name, kind):
    unit = act.make_unit(type_name, UNITS, kind=kind)
    cls, variant = act.UNIT_TYPES[type_name].cls, act.UNIT_TYPES[type_name].variant
    assert type(unit) is cls and unit.kind == kind and unit.num_units == UNITS
    defaults = act.paper_defaults(type_name, kind)
    expected_c = defaults.get("c", defaults.get("sigma"))
    assert unit.c.item() == pytest.approx(expected_c)
    if "alpha" in defaults:
        assert unit.alpha == pytest.approx(defaults["alpha"])
    for key, value in variant.items():
        assert getattr(unit, key) == value


def test_paper_defaults_are_the_authors_code_values():
    assert act.paper_defaults("nah", "tanh") == {"alpha": 1.15, "c": 0.5}
    assert act.paper_defaults("nan", "sigmoid") == {"alpha": 1.1, "c": 0.15}
    assert act.paper_defaults("nani", "tanh") == {"sigma": 0.05}
    assert act.paper_defaults("nanis", "sigmoid") == {"sigma": 0.25}
    assert act.paper_defaults("nanil", "tanh") == {"c": 0.25}
    assert act.paper_defaults("tanh", "tanh") == {}


@pytest.mark.parametrize("type_name", REFERENCE_TYPES)
def test_make_unit_reference_types_ignore_kind_and_match_torch(type_name):
    unit = act.make_unit(type_name, UNITS, kind="sigmoid")
    x = t64(spread_x((BATCH, UNITS), "sigmoid", seed=28))
    expected = {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "hard_sigmoid": act.hard_sigmoid,
        "hard_tanh": act.hard_tanh,
    }[type_name](x)
    torch.testing.assert_close(unit(x), expected, rtol=0, atol=0)
    assert unit.kind == ("sigmoid" if "sigmoid" in type_name else "tanh")


def test_make_unit_rejects_unknown_name_listing_choices():
    with pytest.raises(ValueError, match="nanil"):
        act.make_unit("noisy_relu", UNITS, kind="tanh")


@pytest.mark.parametrize("key", ["c", "sigma"])
def test_make_unit_rejects_negative_noise_scale(key):
    type_name = "nan" if key == "c" else "nani"
    with pytest.raises(ValueError, match=">= 0"):
        act.make_unit(type_name, UNITS, kind="tanh", **{key: -0.1})


def test_make_unit_needs_kind_for_noisy_units():
    with pytest.raises(ValueError, match="kind"):
        act.make_unit("nah", UNITS)


def test_make_unit_rejects_parameters_the_unit_does_not_take():
    with pytest.raises(ValueError, match="alpha"):
        act.make_unit("nani", UNITS, kind="tanh", alpha=1.1)
    with pytest.raises(ValueError, match="takes no parameters"):
        act.make_unit("tanh", UNITS, kind="tanh", c=0.5)


def test_make_unit_drops_none_and_accepts_c_for_sigma():
    unit = act.make_unit("nanis", UNITS, kind="tanh", c=0.7, alpha=None)
    assert unit.c.item() == pytest.approx(0.7)
    nah = act.make_unit("nah", UNITS, kind="sigmoid", alpha=None, c=None)
    assert (nah.alpha, nah.c.item()) == (pytest.approx(1.1), pytest.approx(0.15))


def test_p_is_a_per_unit_parameter_drawn_uniform_from_the_global_rng():
    torch.manual_seed(29)
    first = act.make_unit("nah", 1000, kind="tanh")
    torch.manual_seed(29)
    second = act.make_unit("nah", 1000, kind="tanh")
    assert isinstance(first.p, torch.nn.Parameter) and first.p.shape == (1000,)
    torch.testing.assert_close(first.p, second.p, rtol=0, atol=0)
    assert -1.0 <= first.p.min().item() < -0.9 and 0.9 < first.p.max().item() <= 1.0


def test_nan_with_fixed_p_keeps_p_as_a_buffer():
    unit = act.make_unit("nan_fixed_p", UNITS, kind="tanh")
    assert "p" not in dict(unit.named_parameters())
    assert "p" in unit.state_dict() and unit.p.shape == (UNITS,)


@pytest.mark.parametrize("type_name", NOISY_TYPES)
def test_eval_output_is_deterministic_and_equals_functional_test_time(type_name):
    torch.manual_seed(30)
    unit = act.make_unit(type_name, UNITS, kind="tanh").double().eval()
    x = t64(spread_x((BATCH, TIME, UNITS), "tanh", seed=31))
    first, second = unit(x), unit(x)
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    if isinstance(unit, act.NoisyOutput):
        test_mean = act.LAPLACE_ABS_MEAN if unit.noise == "laplace" else act.HALF_NORMAL_MEAN
        expected = np_nan(
            x.numpy(),
            None,
            "tanh",
            unit.alpha,
            unit.c.item(),
            unit.p.detach().numpy(),
            unit.half_normal,
            test_mean,
        )
    else:
        expected = np_hard(x.numpy(), "tanh")
    torch.testing.assert_close(first, t64(expected), rtol=0, atol=1e-12)


@pytest.mark.parametrize("half_normal", [False, True])
def test_training_output_uses_draws_from_the_unit_generator(half_normal):
    torch.manual_seed(32)
    unit = act.NoisyOutput(UNITS, "sigmoid", half_normal=half_normal).double().train()
    x = t64(spread_x((BATCH, UNITS), "sigmoid", seed=33))
    act.set_noise_generator(unit, torch.Generator().manual_seed(34))
    global_state = torch.get_rng_state()
    out = unit(x)
    assert torch.equal(torch.get_rng_state(), global_state)
    xi = torch.randn(x.shape, generator=torch.Generator().manual_seed(34), dtype=torch.float64)
    c = unit.c.item()  # 0.15 rounded to float32 at construction, then made float64
    expected = np_nan(
        x.numpy(), xi.numpy(), "sigmoid", 1.1, c, unit.p.detach().numpy(), half_normal
    )
    torch.testing.assert_close(out, t64(expected), rtol=0, atol=1e-12)
    act.set_noise_generator(unit, torch.Generator().manual_seed(35))
    assert not torch.equal(unit(x), out)


def _laplace_from_uniform(uniform: torch.Tensor) -> torch.Tensor:
    """Inverse CDF of Laplace(0, 1/√2) written independently: F⁻¹(q) = −b·sgn(q−½)·ln(1−2|q−½|)."""
    q = uniform.double() - 0.5
    return -np.sqrt(0.5) * torch.sign(q) * torch.log(1 - 2 * q.abs())


def test_laplace_unit_draws_inverse_cdf_of_unit_variance_laplace():
    torch.manual_seed(36)
    unit = act.make_unit("laplace", UNITS, kind="tanh").double().train()
    x = t64(spread_x((BATCH, UNITS), "tanh", seed=37))
    act.set_noise_generator(unit, torch.Generator().manual_seed(38))
    uniform = torch.rand(x.shape, generator=torch.Generator().manual_seed(38), dtype=torch.float64)
    xi = _laplace_from_uniform(uniform)
    expected = np_nan(x.numpy(), xi.numpy(), "tanh", 1.15, 0.5, unit.p.detach().numpy(), False)
    torch.testing.assert_close(unit(x), t64(expected), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("type_name", "spread"),
    [
        ("nan", 1.0),
        ("nah", math.sqrt(1 - 2 / math.pi)),
        ("laplace", 1.0),
    ],
)
def test_monte_carlo_mean_of_training_output_converges_to_test_time_value(type_name, spread):
    """Mean over n draws is within 5 standard errors, σ(x)·sd(ε)/√n, of the eval output."""
    num_draws = 40_000
    torch.manual_seed(39)
    unit = act.make_unit(type_name, UNITS, kind="tanh", c=2.0).double()
    act.set_noise_generator(unit, torch.Generator().manual_seed(40))
    x = torch.linspace(-5.0, 5.0, UNITS, dtype=torch.float64)
    with torch.no_grad():
        mean = unit.train()(x.expand(num_draws, UNITS)).mean(0)
        test_value = unit.eval()(x)
    sigma = np_sigma(x.numpy(), "tanh", 2.0, unit.p.detach().numpy())
    tolerance = 5 * sigma * spread / math.sqrt(num_draws) + 1e-12
    assert np.all(np.abs(mean.numpy() - test_value.numpy()) <= tolerance)
    if type_name == "nah":  # the half-normal mean moves the output by d·σ·√(2/π)
        shift = np.abs(
            test_value.numpy()
            - np_nan(x.numpy(), None, "tanh", 1.15, 2.0, unit.p.detach().numpy(), False)
        )
        assert shift.max() > 20 * tolerance.max()


@pytest.mark.parametrize(
    ("type_name", "alpha"),
    [
        ("nani", None),
        ("nanis", None),
        ("nanil", None),
        ("nan", 1.0),
        ("nah", 1.0),
    ],
)
@pytest.mark.parametrize("kind", act.KINDS)
def test_zero_noise_scale_reduces_unit_to_hard_function(type_name, alpha, kind):
    unit = act.make_unit(type_name, UNITS, kind=kind, alpha=alpha).double().train()
    unit.set_noise_scale(0.0)
    x = t64(spread_x((BATCH, UNITS), kind, seed=41))
    torch.testing.assert_close(unit(x), t64(np_hard(x.numpy(), kind)), rtol=0, atol=1e-14)


def test_zero_noise_scale_nan_with_alpha_is_a_mixture_not_h():
    unit = act.make_unit("nan", UNITS, kind="tanh", alpha=1.15, c=0.0).double().train()
    x = t64(spread_x((BATCH, UNITS), "tanh", seed=42))
    expected = 1.15 * np_hard(x.numpy(), "tanh") - 0.15 * x.numpy()
    torch.testing.assert_close(unit(x), t64(expected), rtol=0, atol=1e-14)


def test_nanil_softplus_with_zero_c_is_also_h():
    unit = act.make_unit("nanil", UNITS, kind="tanh", softplus=True, c=0.0).double().train()
    x = t64(spread_x((BATCH, UNITS), "tanh", seed=43))
    torch.testing.assert_close(unit(x), t64(np_hard(x.numpy(), "tanh")), rtol=0, atol=0)


def test_noise_scale_lives_in_state_dict_and_is_restored():
    unit = act.make_unit("nah", UNITS, kind="tanh")
    unit.set_noise_scale(12.25)
    state = unit.state_dict()
    assert state["c"].shape == () and state["c"].item() == pytest.approx(12.25)
    restored = act.make_unit("nah", UNITS, kind="tanh")
    restored.load_state_dict(state)
    assert restored.c.item() == pytest.approx(12.25)
    torch.testing.assert_close(restored.p, unit.p, rtol=0, atol=0)


def test_set_noise_scale_rejects_negative_and_nan():
    unit = act.make_unit("nani", UNITS, kind="tanh")
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="noise scale"):
            unit.set_noise_scale(bad)


def test_unit_rejects_input_whose_last_dimension_is_not_num_units():
    unit = act.make_unit("nah", UNITS, kind="tanh")
    with pytest.raises(ValueError, match="num_units=11"):
        unit(torch.zeros(BATCH, 7))


def test_saturation_stats_report_fraction_past_threshold_per_unit():
    model = torch.nn.Sequential(act.HardTanh(3), act.make_unit("nah", 3, kind="sigmoid"))
    assert act.track_saturation(model) == 2
    x = torch.tensor([[0.5, 1.0, 3.0], [-1.5, 0.0, -2.0], [0.2, 0.3, 1.1], [0.1, 0.1, 9.0]])
    model.eval()(x)
    torch.testing.assert_close(model[0].last_saturation, torch.tensor([0.25, 0.25, 1.0]))
    stats = act.saturation_stats(model)
    assert stats["0"] == pytest.approx(0.5)
    # the hard-sigmoid unit saw hard_tanh's output, all |·| ≤ 1 < 2
    assert stats["1"] == pytest.approx(0.0)
    assert not model[0].last_saturation.requires_grad


def test_saturation_is_not_recorded_while_tracking_is_off():
    model = torch.nn.Sequential(act.Tanh(UNITS), act.Sigmoid(UNITS))
    model(torch.full((BATCH, UNITS), 5.0))
    assert act.saturation_stats(model) == {}
    act.track_saturation(model)
    model(torch.full((BATCH, UNITS), 5.0))
    assert act.saturation_stats(model) == {"0": 1.0, "1": 0.0}
    act.track_saturation(model, enabled=False)
    assert act.saturation_stats(model) == {}


def test_noise_generator_and_noisy_modules_reach_nested_units():
    inner = torch.nn.Sequential(
        torch.nn.Linear(7, UNITS), act.make_unit("nani", UNITS, kind="tanh")
    )
    model = torch.nn.ModuleDict(
        {"a": inner, "b": act.make_unit("nah", UNITS, kind="sigmoid"), "c": act.Tanh(UNITS)}
    )
    assert len(act.noisy_modules(model)) == 2
    generator = torch.Generator()
    assert act.set_noise_generator(model, generator) == 2
    assert inner[1].generator is generator and model["b"].generator is generator


@pytest.mark.slow
def test_compiled_kernel_matches_eager_kernel():
    x = t64(spread_x((BATCH, TIME, UNITS), "tanh", seed=44)).float().requires_grad_()
    xi = t64(np.random.default_rng(45).normal(size=x.shape)).float()
    p = t64(uniform_p(46)).float().requires_grad_()
    kwargs = {"kind": "tanh", "alpha": 1.15, "c": 0.5, "half_normal": True}
    eager = act.noisy_output(x, xi, p=p, **kwargs)
    eager_grads = torch.autograd.grad(eager.sum(), (x, p))
    act.use_compiled_kernel(True)
    try:
        compiled = act.noisy_output(x, xi, p=p, **kwargs)
        compiled_grads = torch.autograd.grad(compiled.sum(), (x, p))
    except Exception as error:  # no C++ compiler, unsupported platform
        pytest.skip(f"torch.compile unavailable: {error}")
    finally:
        act.use_compiled_kernel(False)
    torch.testing.assert_close(compiled, eager, rtol=1e-6, atol=1e-6)
    for got, want in zip(compiled_grads, eager_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


# ---- module hygiene ------------------------------------------------------------------------


_LIBRARY = sorted(Path(act.__file__).parent.glob("*.py"))


@pytest.mark.parametrize("path", _LIBRARY, ids=lambda p: p.stem)
def test_library_imports_only_torch_the_standard_library_and_itself(path):
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:  # relative: the library
            roots.add(node.module.split(".")[0])
    assert roots - set(sys.stdlib_module_names) <= {"torch"}, roots


def test_the_library_folder_works_when_copied_under_another_name(tmp_path):
    shutil.copytree(Path(act.__file__).parent, tmp_path / "my_units")
    code = (
        "import torch, my_units as u; unit = u.make_unit('nah', 4, kind='tanh'); unit.eval();"
        "x = torch.tensor([[-3.0, -0.5, 0.5, 3.0]]);"
        "print(*unit(x)[0, 1:3].tolist(), u.schedules.Anneal()(0))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    # in the linear regime every unit is the identity (tanh-like: u(x) = x); c_0 = 30 (§6.6)
    assert result.stdout.split() == ["-0.5", "0.5", "30.0"]


def test_all_names_exist_and_are_unique():
    assert len(act.__all__) == len(set(act.__all__))
    for name in act.__all__:
        assert hasattr(act, name), name


@pytest.mark.parametrize("kind,low,high", [("tanh", -1.0, 1.0), ("sigmoid", 0.0, 1.0)])
def test_clip_output_keeps_a_huge_noise_inside_the_hard_range(kind, low, high):
    torch.manual_seed(0)
    x = torch.linspace(-8.0, 8.0, 33).repeat(4, 1)  # (4, 33)
    clipped = act.NoisyOutput(33, kind, c=30.0, clip_output=True)
    free = act.NoisyOutput(33, kind, c=30.0)
    free.load_state_dict(clipped.state_dict())
    generator = torch.Generator().manual_seed(3)
    clipped.generator = generator
    out = clipped(x)
    assert out.min() >= low and out.max() <= high
    generator.manual_seed(3)
    free.generator = generator
    unclipped = free(x)
    assert unclipped.min() < low or unclipped.max() > high  # the clip did something
    torch.testing.assert_close(out, unclipped.clamp(low, high), rtol=0, atol=0)


# ---- registry ------------------------------------------------------------------------------


@pytest.mark.parametrize("type_name", NOISY_TYPES)
def test_class_defaults_agree_with_the_registry(type_name):
    """A unit built straight from its class has the registry's paper defaults (no drift)."""
    spec = act.UNIT_TYPES[type_name]
    for kind in act.KINDS:
        direct = spec.cls(4, kind, **spec.variant)
        built = act.make_unit(type_name, 4, kind=kind)
        assert float(direct.c) == float(built.c)
        assert getattr(direct, "alpha", None) == getattr(built, "alpha", None)


def test_registry_knobs_come_from_the_class_signature():
    assert act.UNIT_TYPES["nah"].knobs == (
        "alpha",
        "c",
        "noise",
        "learn_p",
        "test_mean",
        "clip_output",
    )
    assert act.UNIT_TYPES["nani"].scale_knob == "sigma"
    assert act.UNIT_TYPES["nan"].scale_knob == "c"
    assert act.UNIT_TYPES["tanh"].knobs == () and act.UNIT_TYPES["tanh"].scale_knob is None


def test_registry_rejects_duplicates_unknown_knobs_and_unknown_names():
    with pytest.raises(ValueError, match="already registered"):
        act.register_unit("nan", act.NoisyOutput)
    with pytest.raises(ValueError, match="unknown knobs"):
        act.register_unit("broken", act.NoisyInput, defaults={"tanh": {"alpha": 1.0}})
    assert "broken" not in act.UNIT_TYPES
    with pytest.raises(ValueError, match="unknown unit type 'nam'; choose one of: sigmoid"):
        act.make_unit("nam", 3, kind="tanh")
    with pytest.raises(ValueError, match="does not take"):
        act.make_unit("nah", 3, kind="tanh", half_normal=False)  # the variant is not a knob
