"""Tests of the NTM (models.ntm, .ntm_addressing): hand-worked addressing, shapes, learning."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from noisyexp.data.ntm_sequences import make_copy_batch
from noisyexp.models import ntm, ntm_addressing
from noisyexp.models.ntm import NTM
from noisyexp.models.ntm_addressing import (
    content_weights,
    interpolate,
    memory_read,
    memory_write,
    sharpen,
    shift,
)
from noisyexp.tasks.ntm_tasks import sequence_bit_errors, sequence_nll

TOL = {"rtol": 1e-6, "atol": 1e-9}


def _sigmoid(num_units: int) -> nn.Module:
    return nn.Sigmoid()


def _tanh(num_units: int) -> nn.Module:
    return nn.Tanh()


def _t(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


@pytest.mark.parametrize("module", [ntm, ntm_addressing])
def test_all_names_exist_once(module):
    assert len(module.__all__) == len(set(module.__all__))
    for name in module.__all__:
        assert hasattr(module, name)


def test_content_lookup_matches_hand_softmax_of_cosines():
    memory = _t([[[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]]])  # (1, 4, 3)
    key = _t([[[0, 2, 0]]])  # (1, 1, 3): cosines 0, 1, 0, 1/sqrt(2)
    beta = _t([[[2.0]]])
    logits = [0.0, 2.0, 0.0, 2.0 / math.sqrt(2.0)]
    total = sum(math.exp(v) for v in logits)
    expected = _t([[[math.exp(v) / total for v in logits]]])
    torch.testing.assert_close(content_weights(memory, key, beta), expected, **TOL)


def test_content_lookup_with_strong_key_picks_the_matching_row():
    generator = torch.Generator().manual_seed(0)
    memory = torch.randn(3, 13, 6, generator=generator, dtype=torch.float64)
    rows = torch.tensor([4, 0, 12])
    key = (2.5 * memory[torch.arange(3), rows]).unsqueeze(1)  # scaled copies of rows 4, 0, 12
    weights = content_weights(memory, key, torch.full((3, 1, 1), 200.0, dtype=torch.float64))
    assert weights.shape == (3, 1, 13)
    expected = torch.nn.functional.one_hot(rows, 13).to(torch.float64).unsqueeze(1)
    torch.testing.assert_close(weights, expected, rtol=0, atol=1e-6)


def test_interpolate_blends_by_the_gate():
    content = _t([[[1.0, 0.0, 0.0]]])
    previous = _t([[[0.0, 0.0, 1.0]]])
    out = interpolate(content, previous, _t([[[0.25]]]))
    torch.testing.assert_close(out, _t([[[0.25, 0.0, 0.75]]]), **TOL)


def test_shift_by_plus_one_moves_a_one_hot_forward_circularly():
    weights = torch.eye(5, dtype=torch.float64)  # row b is one-hot at slot b
    plus_one = _t([0.0, 0.0, 1.0]).expand(5, 3)  # offsets -1, 0, +1
    expected = torch.roll(torch.eye(5, dtype=torch.float64), 1, dims=1)  # slot b -> b + 1 mod 5
    torch.testing.assert_close(shift(weights, plus_one), expected, **TOL)
    assert shift(weights, plus_one)[4, 0] == 1.0  # the last slot wraps to the first


def test_shift_by_minus_one_moves_a_one_hot_backward():
    weights = _t([[0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]])
    out = shift(weights, _t([[1.0, 0.0, 0.0]]))
    torch.testing.assert_close(out, _t([[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]]), **TOL)


def test_shift_spreads_mass_by_the_shift_distribution():
    # one-hot at slot 0; P(-1) = 0.2, P(0) = 0.5, P(+1) = 0.3 -> slots 6 (wrapped), 0, 1
    weights = _t([[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    out = shift(weights, _t([[0.2, 0.5, 0.3]]))
    torch.testing.assert_close(out, _t([[0.5, 0.3, 0.0, 0.0, 0.0, 0.0, 0.2]]), **TOL)


def test_shift_over_five_offsets_moves_by_two():
    weights = _t([[0.0, 1.0, 0.0, 0.0, 0.0, 0.0]])
    out = shift(weights, _t([[0.0, 0.0, 0.0, 0.0, 1.0]]))  # offsets -2..+2, all mass on +2
    torch.testing.assert_close(out, _t([[0.0, 0.0, 0.0, 1.0, 0.0, 0.0]]), **TOL)


def test_sharpen_matches_hand_powers():
    weights = _t([[0.2, 0.3, 0.5]])
    total = 0.04 + 0.09 + 0.25
    expected = _t([[0.04 / total, 0.09 / total, 0.25 / total]])
    torch.testing.assert_close(sharpen(weights, _t([[2.0]])), expected, **TOL)


def test_sharpen_with_large_gamma_approaches_one_hot():
    weights = _t([[0.2, 0.3, 0.5, 0.0]])
    out = sharpen(weights, _t([[60.0]]))
    torch.testing.assert_close(out, _t([[0.0, 0.0, 1.0, 0.0]]), rtol=0, atol=1e-9)


def test_sharpen_with_huge_gamma_in_float32_stays_a_distribution():
    weights = torch.tensor([[0.3, 0.3, 0.4]])  # 0.4 ** 1000 underflows in float32
    out = sharpen(weights, torch.tensor([[1000.0]]))
    torch.testing.assert_close(out, torch.tensor([[0.0, 0.0, 1.0]]), rtol=0, atol=1e-6)


def test_sharpen_gradient_is_finite_at_zero_weights():
    weights = _t([[0.0, 0.4, 0.6]])
    gamma = _t([[1.5]]).requires_grad_()
    sharpen(weights, gamma)[0, 1].backward()
    assert torch.isfinite(gamma.grad).all()


def test_memory_write_erases_then_adds_on_a_hand_case():
    memory = _t([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])  # (1, 3, 2)
    weights = _t([[0.5, 0.0, 1.0]])
    erase = _t([[1.0, 0.5]])
    add = _t([[10.0, -2.0]])
    # row 0: [1*(1-0.5), 2*(1-0.25)] + 0.5*[10, -2] = [5.5, 0.5]; row 1 untouched;
    # row 2: [5*0, 6*0.5] + [10, -2] = [10, 1]
    expected = _t([[[5.5, 0.5], [3.0, 4.0], [10.0, 1.0]]])
    torch.testing.assert_close(memory_write(memory, weights, erase, add), expected, **TOL)
    torch.testing.assert_close(memory, _t([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]]), **TOL)


def test_memory_read_is_the_weighted_sum_of_rows():
    memory = _t([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])
    weights = _t([[[0.5, 0.25, 0.25], [0.0, 0.0, 1.0]]])  # two heads
    expected = _t([[[0.5 + 0.75 + 1.25, 1.0 + 1.0 + 1.5], [5.0, 6.0]]])
    torch.testing.assert_close(memory_read(memory, weights), expected, **TOL)


@pytest.mark.parametrize("controller", ["feedforward", "lstm"])
def test_ntm_forward_gives_one_output_per_step(controller):
    torch.manual_seed(0)
    model = NTM(
        7,
        4,
        gate_unit=_sigmoid,
        cell_unit=_tanh,
        controller=controller,
        controller_size=11,
        memory_size=13,
        memory_width=6,
        num_read_heads=2,
    )
    x = torch.randn(5, 3, 7)  # (T, B, I)
    out = model(x)
    assert out.shape == (5, 3, 4)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_feedforward_controller_hidden_layer_is_a_cell_unit():
    calls: dict[str, list[int]] = {"gate": [], "cell": []}

    def gate(num_units: int) -> nn.Module:
        calls["gate"].append(num_units)
        return nn.Sigmoid()

    def cell(num_units: int) -> nn.Module:
        calls["cell"].append(num_units)
        return nn.Tanh()

    NTM(7, 4, gate_unit=gate, cell_unit=cell, controller_size=11, memory_size=13, memory_width=6)
    assert calls == {"gate": [], "cell": [11]}


def _train_copy(steps: int, max_len: int, seed: int) -> tuple[NTM, list[float]]:
    """A tiny NTM trained with Adam on copy of lengths 1..max_len (8-bit vectors)."""
    torch.manual_seed(seed)
    model = NTM(
        9, 8, gate_unit=_sigmoid, cell_unit=_tanh, controller_size=32, memory_size=8, memory_width=8
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(seed + 1)
    losses = []
    for _ in range(steps):
        length = int(torch.randint(1, max_len + 1, (1,), generator=generator))
        inputs, targets = make_copy_batch(16, length, 8, generator)
        loss = sequence_nll(model(inputs)[-length:], targets).mean() / length
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optimizer.step()
        losses.append(loss.item())
    return model, losses


def test_tiny_ntm_copy_loss_falls():
    _, losses = _train_copy(steps=80, max_len=2, seed=0)
    chance = 8 * math.log(2.0)  # nats per copied vector with logits at 0
    assert sum(losses[:5]) / 5 > 0.9 * chance
    assert sum(losses[-10:]) / 10 < 0.7 * chance


@pytest.mark.slow
def test_tiny_ntm_learns_copy_of_lengths_one_to_three():
    model, _ = _train_copy(steps=500, max_len=3, seed=1)
    wrong, total = 0.0, 0
    with torch.no_grad():
        for length in (1, 2, 3):
            inputs, targets = make_copy_batch(
                64, length, 8, torch.Generator().manual_seed(100 + length)
            )
            wrong += sequence_bit_errors(model(inputs)[-length:], targets).sum().item()
            total += targets.numel()
    assert wrong / total < 0.05  # chance is 0.5
