"""An act config becomes the gate and cell unit factories with the right knobs."""

from __future__ import annotations

import pytest

from noisyexp import activations
from noisyexp.config import ActConfig, UnitConfig
from noisyexp.units import build_units


def _nan_act(**kwargs) -> ActConfig:
    return ActConfig(
        name="noisy_tanh",
        gate=UnitConfig(type="nan", alpha=1.1, c=0.15),
        cell=UnitConfig(type="nan", alpha=1.15, c=0.5),
        **kwargs,
    )


def test_each_role_gets_its_kind_and_its_own_defaults():
    units = build_units(_nan_act())
    gate, cell = units.gate(7), units.cell(11)
    assert (gate.kind, gate.alpha, float(gate.c)) == ("sigmoid", 1.1, pytest.approx(0.15))
    assert (cell.kind, cell.alpha, float(cell.c)) == ("tanh", 1.15, pytest.approx(0.5))
    assert gate.p.shape == (7,) and cell.p.shape == (11,)
    assert not gate.clip_output


def test_act_level_knobs_override_both_units():
    units = build_units(_nan_act(c=0.3, alpha=1.0, clip=True))
    for unit in (units.gate(3), units.cell(3)):
        assert float(unit.c) == pytest.approx(0.3) and unit.alpha == 1.0 and unit.clip_output


def test_input_noise_scale_is_sigma():
    act = ActConfig(name="nani", gate=UnitConfig(type="nani", c=0.2), cell=UnitConfig(type="nani"))
    units = build_units(act)
    assert isinstance(units.gate(5), activations.NoisyInput)
    assert float(units.gate(5).c) == pytest.approx(0.2)
    assert float(units.cell(5).c) == pytest.approx(0.05)  # the paper's default σ


def test_reference_units_ignore_the_noise_knobs():
    act = ActConfig(name="tanh", c=0.5, alpha=1.2, clip=True)
    units = build_units(act)
    assert isinstance(units.gate(4), activations.Sigmoid)
    assert isinstance(units.cell(4), activations.Tanh)
