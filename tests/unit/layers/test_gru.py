"""The GRU with pluggable units: nn.GRU equivalence, unit placement, fused path."""

from __future__ import annotations

import pytest
import torch
from _recurrent_checks import TOL, assert_outputs_and_grads_close
from torch import nn

from noisyexp import activations
from noisyexp.layers import gru as gru_module
from noisyexp.layers.gru import GRU
from noisyexp.layers.lstm import lstm_weights

BATCH, TIME, INPUT, HIDDEN = 3, 5, 7, 11


def _sigmoid(n: int) -> nn.Module:
    return nn.Sigmoid()


def _tanh(n: int) -> nn.Module:
    return nn.Tanh()


def _inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(TIME, BATCH, INPUT, generator=generator, dtype=torch.float64)
    h0 = torch.randn(2, BATCH, HIDDEN, generator=generator, dtype=torch.float64)
    return x, h0


def _outputs_and_grads(module: nn.Module, x: torch.Tensor, h0: torch.Tensor) -> list[torch.Tensor]:
    x = x.clone().requires_grad_(True)
    h0 = h0.clone().requires_grad_(True)
    output, h = module(x, h0)
    generator = torch.Generator().manual_seed(99)
    loss = (torch.randn(output.shape, generator=generator, dtype=output.dtype) * output).sum()
    loss = loss + (torch.randn(h.shape, generator=generator, dtype=h.dtype) * h).sum()
    params = [p for name, p in module.named_parameters() if name.startswith(("weight", "bias"))]
    return [output, h, *torch.autograd.grad(loss, [x, h0, *params])]


def test_all_names_exist_once() -> None:
    assert len(set(gru_module.__all__)) == len(gru_module.__all__)
    for name in gru_module.__all__:
        assert hasattr(gru_module, name)


def test_custom_gru_matches_nn_gru_with_weights_copied_from_custom() -> None:
    custom = GRU(INPUT, HIDDEN, 2, gate_unit=_sigmoid, cell_unit=_tanh, fused=False).double()
    reference = nn.GRU(INPUT, HIDDEN, 2).double()
    reference.load_state_dict(lstm_weights(custom))  # strict: same names and shapes
    x, h0 = _inputs()
    assert_outputs_and_grads_close(_outputs_and_grads, custom, reference, x, h0)


def test_custom_gru_matches_nn_gru_with_weights_copied_from_nn_gru() -> None:
    reference = nn.GRU(INPUT, HIDDEN, 2).double()
    custom = GRU(INPUT, HIDDEN, 2, gate_unit=_sigmoid, cell_unit=_tanh, fused=False).double()
    result = custom.load_state_dict(reference.state_dict(), strict=False)
    assert result.unexpected_keys == [] and result.missing_keys == []
    x, h0 = _inputs(1)
    assert_outputs_and_grads_close(_outputs_and_grads, custom, reference, x, h0)


def test_fused_and_loop_paths_agree() -> None:
    loop = GRU(INPUT, HIDDEN, 2, gate_unit=_sigmoid, cell_unit=_tanh, fused=False).double()
    fused = GRU(INPUT, HIDDEN, 2, gate_unit=activations.Sigmoid, cell_unit=activations.Tanh)
    fused = fused.double()
    fused.load_state_dict(loop.state_dict())
    assert fused.fused and not loop.fused
    x, h0 = _inputs(2)
    assert_outputs_and_grads_close(_outputs_and_grads, loop, fused, x, h0)


def test_noisy_units_are_not_fused_and_fused_true_is_refused() -> None:
    assert not GRU(INPUT, HIDDEN, gate_unit=activations.HardSigmoid, cell_unit=_tanh).fused
    with pytest.raises(ValueError, match="fused=True"):
        GRU(INPUT, HIDDEN, gate_unit=_sigmoid, cell_unit=activations.HardTanh, fused=True)


class _ScaledHardSigmoid(nn.Module):
    """clamp(0.25·s·x + 0.5, 0, 1) with a different slope s per unit: shows the r, z order."""

    def __init__(self, num_units: int) -> None:
        super().__init__()
        self.register_buffer("scale", torch.linspace(0.5, 2.0, num_units, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(0.25 * self.scale * x + 0.5, 0.0, 1.0)


class _HardTanh(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, -1.0, 1.0)


def test_gates_and_candidate_use_their_units_with_nn_gru_equations() -> None:
    custom = GRU(INPUT, HIDDEN, 1, gate_unit=_ScaledHardSigmoid, cell_unit=lambda n: _HardTanh())
    custom = custom.double()
    x, h0 = _inputs(3)
    x = 3.0 * x
    output, _ = custom(x, h0[:1])
    weight_ih, weight_hh, bias_ih, bias_hh = (
        getattr(custom, f"{k}_l0").detach()
        for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    )
    scale = torch.linspace(0.5, 2.0, 2 * HIDDEN, dtype=torch.float64)
    h = h0[0]
    expected = []
    for step in range(TIME):
        gi = x[step] @ weight_ih.T + bias_ih
        gh = h @ weight_hh.T + bias_hh
        r = torch.clamp(0.25 * scale[:HIDDEN] * (gi[:, :HIDDEN] + gh[:, :HIDDEN]) + 0.5, 0, 1)
        z = torch.clamp(
            0.25 * scale[HIDDEN:] * (gi[:, HIDDEN : 2 * HIDDEN] + gh[:, HIDDEN : 2 * HIDDEN]) + 0.5,
            0,
            1,
        )
        n = torch.clamp(gi[:, 2 * HIDDEN :] + r * gh[:, 2 * HIDDEN :], -1, 1)
        h = (1 - z) * n + z * h
        expected.append(h)
    torch.testing.assert_close(output.detach(), torch.stack(expected), **TOL)


def test_each_layer_builds_a_gate_unit_of_2h_and_one_cell_unit_of_h() -> None:
    sizes: list[tuple[str, int]] = []

    def gate(n: int) -> nn.Module:
        sizes.append(("gate", n))
        return nn.Sigmoid()

    def cell(n: int) -> nn.Module:
        sizes.append(("cell", n))
        return nn.Tanh()

    GRU(INPUT, HIDDEN, 2, gate_unit=gate, cell_unit=cell)
    assert sizes == [("gate", 2 * HIDDEN), ("cell", HIDDEN)] * 2


def test_gradient_reaches_the_noisy_units_p() -> None:
    torch.manual_seed(0)
    model = GRU(
        INPUT,
        HIDDEN,
        1,
        gate_unit=lambda n: activations.make_unit("nan", n, kind="sigmoid"),
        cell_unit=lambda n: activations.make_unit("nan", n, kind="tanh"),
    ).double()
    activations.set_noise_generator(model, torch.Generator().manual_seed(1))
    output, _ = model(6.0 * _inputs()[0])
    output.sum().backward()
    for name in ("units.0.gate.p", "units.0.candidate.p"):
        assert model.get_parameter(name).grad.abs().sum() > 0, name
