"""The LSTM with pluggable units: nn.LSTM equivalence, unit placement, noise, speed paths."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from _recurrent_checks import TOL, assert_outputs_and_grads_close
from torch import nn

from noisyexp import activations
from noisyexp.layers import lstm as lstm_module
from noisyexp.layers.gru import GRU
from noisyexp.layers.lstm import LSTM, is_reference_unit, lstm_weights

BATCH, TIME, INPUT, HIDDEN = 3, 5, 7, 11


def _sigmoid(n: int) -> nn.Module:
    return nn.Sigmoid()


def _tanh(n: int) -> nn.Module:
    return nn.Tanh()


def _inputs(seed: int = 0) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(TIME, BATCH, INPUT, generator=generator, dtype=torch.float64)
    h0 = torch.randn(2, BATCH, HIDDEN, generator=generator, dtype=torch.float64)
    c0 = torch.randn(2, BATCH, HIDDEN, generator=generator, dtype=torch.float64)
    return x, (h0, c0)


def _outputs_and_grads(
    module: nn.Module, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
) -> list[torch.Tensor]:
    """Output, final h and c, and the gradients of a fixed random loss w.r.t. x, state, weights."""
    x = x.clone().requires_grad_(True)
    state = tuple(s.clone().requires_grad_(True) for s in state)
    output, (h, c) = module(x, state)
    generator = torch.Generator().manual_seed(99)
    weights = [torch.randn(t.shape, generator=generator, dtype=t.dtype) for t in (output, h, c)]
    loss = sum((w * t).sum() for w, t in zip(weights, (output, h, c), strict=True))
    params = [p for name, p in module.named_parameters() if name.startswith(("weight", "bias"))]
    grads = torch.autograd.grad(loss, [x, *state, *params])
    return [output, h, c, *grads]


def test_all_names_exist_once() -> None:
    assert len(set(lstm_module.__all__)) == len(lstm_module.__all__)
    for name in lstm_module.__all__:
        assert hasattr(lstm_module, name)


def test_parameters_have_nn_lstm_names_and_shapes() -> None:
    custom = LSTM(INPUT, HIDDEN, 2, gate_unit=_sigmoid, cell_unit=_tanh)
    reference = nn.LSTM(INPUT, HIDDEN, 2)
    shapes = {name: tuple(p.shape) for name, p in lstm_weights(custom).items()}
    assert shapes == {name: tuple(p.shape) for name, p in reference.state_dict().items()}


def test_custom_lstm_matches_nn_lstm_with_weights_copied_from_custom() -> None:
    custom = LSTM(INPUT, HIDDEN, 2, gate_unit=_sigmoid, cell_unit=_tanh, fused=False).double()
    reference = nn.LSTM(INPUT, HIDDEN, 2).double()
    reference.load_state_dict(lstm_weights(custom))  # strict
    x, state = _inputs()
    assert_outputs_and_grads_close(_outputs_and_grads, custom, reference, x, state)


def test_custom_lstm_matches_nn_lstm_with_weights_copied_from_nn_lstm() -> None:
    reference = nn.LSTM(INPUT, HIDDEN, 2).double()
    custom = LSTM(INPUT, HIDDEN, 2, gate_unit=_sigmoid, cell_unit=_tanh, fused=False).double()
    result = custom.load_state_dict(reference.state_dict(), strict=False)
    assert result.unexpected_keys == [] and result.missing_keys == []
    x, state = _inputs(1)
    assert_outputs_and_grads_close(_outputs_and_grads, custom, reference, x, state)


def test_zero_state_is_the_default() -> None:
    custom = LSTM(INPUT, HIDDEN, 2, gate_unit=_sigmoid, cell_unit=_tanh).double()
    x, _ = _inputs()
    zeros = torch.zeros(2, BATCH, HIDDEN, dtype=torch.float64)
    output, state = custom(x)
    expected, expected_state = custom(x, (zeros, zeros))
    for got, want in zip((output, *state), (expected, *expected_state), strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("gate", "cell", "fused"),
    [
        (_sigmoid, _tanh, True),
        (activations.Sigmoid, activations.Tanh, True),
        (activations.HardSigmoid, activations.HardTanh, False),
    ],
)
def test_fused_kernel_is_chosen_only_for_plain_sigmoid_and_tanh(
    gate: Callable[[int], nn.Module], cell: Callable[[int], nn.Module], fused: bool
) -> None:
    assert LSTM(INPUT, HIDDEN, gate_unit=gate, cell_unit=cell).fused is fused


def test_fused_true_with_noisy_units_is_refused() -> None:
    with pytest.raises(ValueError, match="fused=True"):
        LSTM(INPUT, HIDDEN, gate_unit=activations.HardSigmoid, cell_unit=_tanh, fused=True)


def test_is_reference_unit_rejects_lookalikes() -> None:
    assert is_reference_unit(activations.Sigmoid(4), "sigmoid")
    assert not is_reference_unit(nn.Tanh(), "sigmoid")
    assert not is_reference_unit(activations.HardTanh(4), "tanh")


def test_fused_and_loop_paths_agree_in_training_mode() -> None:
    loop = LSTM(INPUT, HIDDEN, 2, gate_unit=_sigmoid, cell_unit=_tanh, fused=False).double()
    fused = LSTM(INPUT, HIDDEN, 2, gate_unit=_sigmoid, cell_unit=_tanh).double()
    fused.load_state_dict(loop.state_dict())
    assert fused.fused and not loop.fused
    x, state = _inputs(2)
    assert_outputs_and_grads_close(_outputs_and_grads, loop, fused, x, state)


class _ScaledHardSigmoid(nn.Module):
    """clamp(0.25·s·x + 0.5, 0, 1) with a different slope s for every unit: shows unit order."""

    def __init__(self, num_units: int) -> None:
        super().__init__()
        self.register_buffer("scale", torch.linspace(0.5, 2.0, num_units, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(0.25 * self.scale * x + 0.5, 0.0, 1.0)


class _HardTanh(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, -1.0, 1.0)


class _TwiceTanh(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2.0 * torch.tanh(x)


def _manual_lstm_layer(
    x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, weights: list[torch.Tensor]
) -> torch.Tensor:
    """One layer written from the equations, nn.LSTM row layout (i, f, g, o); gates scaled per
    unit i→[0,H), f→[H,2H), o→[2H,3H) of one 3H linspace; g hard-tanh; 2·tanh on the cell."""
    weight_ih, weight_hh, bias_ih, bias_hh = weights
    scale = torch.linspace(0.5, 2.0, 3 * HIDDEN, dtype=torch.float64)
    scale_i, scale_f, scale_o = scale[:HIDDEN], scale[HIDDEN : 2 * HIDDEN], scale[2 * HIDDEN :]
    outputs = []
    for step in range(x.size(0)):
        pre = x[step] @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
        pre_i, pre_f, pre_g, pre_o = pre.split(HIDDEN, dim=1)
        i = torch.clamp(0.25 * scale_i * pre_i + 0.5, 0, 1)
        f = torch.clamp(0.25 * scale_f * pre_f + 0.5, 0, 1)
        o = torch.clamp(0.25 * scale_o * pre_o + 0.5, 0, 1)
        g = torch.clamp(pre_g, -1, 1)
        c = f * c + i * g
        h = o * 2.0 * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs)


def test_every_nonlinearity_is_the_unit_in_its_place() -> None:
    custom = LSTM(
        INPUT, HIDDEN, 2, gate_unit=_ScaledHardSigmoid, cell_unit=lambda n: _HardTanh()
    ).double()
    for layer in custom.units:
        layer.cell_output = _TwiceTanh()  # tanh(c) is its own module, distinct from g's
    x, (h0, c0) = _inputs(3)
    x = 3.0 * x  # reach the hard units' saturated regions too
    output, _ = custom(x, (h0, c0))
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    weights = [[getattr(custom, f"{k}_l{layer}").detach() for k in names] for layer in range(2)]
    hidden = _manual_lstm_layer(x, h0[0], c0[0], weights[0])
    expected = _manual_lstm_layer(hidden, h0[1], c0[1], weights[1])
    torch.testing.assert_close(output.detach(), expected, **TOL)


def test_each_layer_builds_a_gate_unit_of_3h_and_two_cell_units_of_h() -> None:
    sizes: list[tuple[str, int]] = []

    def gate(n: int) -> nn.Module:
        sizes.append(("gate", n))
        return nn.Sigmoid()

    def cell(n: int) -> nn.Module:
        sizes.append(("cell", n))
        return nn.Tanh()

    LSTM(INPUT, HIDDEN, 2, gate_unit=gate, cell_unit=cell)
    assert sizes == [("gate", 3 * HIDDEN), ("cell", HIDDEN), ("cell", HIDDEN)] * 2


def _noisy_lstm() -> LSTM:
    torch.manual_seed(0)
    return LSTM(
        INPUT,
        HIDDEN,
        2,
        gate_unit=lambda n: activations.make_unit("nan", n, kind="sigmoid"),
        cell_unit=lambda n: activations.make_unit("nan", n, kind="tanh"),
    ).double()


def test_noisy_units_draw_noise_in_training_and_not_in_eval() -> None:
    model = _noisy_lstm()
    assert not model.fused
    x = 4.0 * _inputs()[0]  # saturate, where NAN adds noise
    outputs = []
    for seed in (1, 2):
        activations.set_noise_generator(model, torch.Generator().manual_seed(seed))
        outputs.append(model(x)[0])
    assert (outputs[0] - outputs[1]).abs().max() > 1e-6
    model.eval()
    torch.testing.assert_close(model(x)[0], model(x)[0], rtol=0, atol=0)


def test_gradient_reaches_every_units_p() -> None:
    model = _noisy_lstm()
    with torch.no_grad():  # large weights: every layer's units saturate, where p matters
        for weight in model.parameters(recurse=False):
            weight.mul_(8.0)
    activations.set_noise_generator(model, torch.Generator().manual_seed(1))
    output, (_, c) = model(_inputs()[0])
    (output.sum() + c.sum()).backward()
    p_grads = {name: p.grad for name, p in model.named_parameters() if name.endswith(".p")}
    assert len(p_grads) == 6  # 2 layers x (gate, candidate, cell_output)
    for name, grad in p_grads.items():
        assert grad is not None and grad.abs().sum() > 0, name


def test_dropout_acts_between_layers_in_training_only() -> None:
    torch.manual_seed(0)
    model = LSTM(INPUT, HIDDEN, 2, gate_unit=_sigmoid, cell_unit=_tanh, dropout=0.5).double()
    x = _inputs()[0]
    training_output = model(x)[0]
    model.eval()
    eval_output = model(x)[0]
    assert (training_output - eval_output).abs().max() > 1e-6
    single = LSTM(INPUT, HIDDEN, 1, gate_unit=_sigmoid, cell_unit=_tanh, dropout=0.5).double()
    torch.testing.assert_close(single(x)[0], single.eval()(x)[0], rtol=0, atol=0)


def test_no_grad_forward_matches_grad_forward() -> None:
    model = _noisy_lstm().eval()
    x = _inputs()[0]
    with torch.no_grad():
        expected = model(x)[0]
    torch.testing.assert_close(model(x)[0].detach(), expected, rtol=0, atol=0)


@pytest.mark.parametrize("layer_class", [LSTM, GRU])
@pytest.mark.parametrize("shape", [(5, 7), (5, 3, 6), (2, 5, 3, 7)])
def test_an_input_that_is_not_time_batch_features_is_refused(layer_class, shape):
    layer = layer_class(7, 11, gate_unit=lambda n: nn.Sigmoid(), cell_unit=lambda n: nn.Tanh())
    with pytest.raises(ValueError, match=r"time-major input \(T, B, 7\), got shape"):
        layer(torch.zeros(shape))
    assert layer(torch.zeros(5, 3, 7))[0].shape == (5, 3, 11)
