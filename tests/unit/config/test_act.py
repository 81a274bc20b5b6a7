"""An act config becomes the gate and cell unit factories with the right knobs."""

from __future__ import annotations

import dataclasses

import pytest

from noisyexp import activations
from noisyexp.config.act import build_units, effective_act
from noisyexp.config.schema import ActConfig, UnitConfig
from noisyexp.core.errors import ConfigError


def _nan_act(**kwargs) -> ActConfig:
    return ActConfig(
        name="nan",
        gate=UnitConfig(type="nan"),
        cell=UnitConfig(type="nan"),
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


def test_act_level_knobs_no_unit_takes_are_an_error():
    with pytest.raises(ConfigError, match=r"act.c=0.5: no unit of act=sigmoid_tanh"):
        build_units(ActConfig(name="sigmoid_tanh", c=0.5))
    with pytest.raises(ConfigError, match=r"act\.alpha"):
        build_units(ActConfig(name="nani", gate=UnitConfig(type="nani"), alpha=1.2))


def test_act_level_knobs_reach_only_the_units_that_take_them():
    act = ActConfig(name="mixed", gate=UnitConfig(type="sigmoid"), cell=UnitConfig(type="nan"))
    units = build_units(dataclasses.replace(act, alpha=1.3, clip=True))
    assert isinstance(units.gate(4), activations.Sigmoid)
    assert units.cell(4).alpha == 1.3 and units.cell(4).clip_output


def test_a_unit_knob_its_type_does_not_take_is_an_error():
    act = ActConfig(name="nani", cell=UnitConfig(type="nani", alpha=1.3))
    with pytest.raises(ConfigError, match=r"act.cell: unit 'nani' does not take \['alpha'\]"):
        build_units(act)
    with pytest.raises(ConfigError, match=r"act\.gate"):
        build_units(ActConfig(name="x", gate=UnitConfig(type="sigmoid", c=0.2)))


@pytest.fixture
def registered_variant():
    """A unit variant added through the registry alone (removed again afterwards)."""
    activations.register_unit(
        "nan_test_variant",
        activations.NoisyOutput,
        variant={"noise": "laplace"},
        defaults={"tanh": {"alpha": 1.2, "c": 0.4}, "sigmoid": {"alpha": 1.05, "c": 0.1}},
    )
    yield "nan_test_variant"
    del activations.UNIT_TYPES["nan_test_variant"]


def test_a_registered_variant_takes_every_knob_of_its_class(registered_variant):
    act = ActConfig(
        name="v",
        gate=UnitConfig(type=registered_variant),
        cell=UnitConfig(type=registered_variant, alpha=1.3, test_mean=0.5),
        clip=True,
    )
    units = build_units(act)
    cell, gate = units.cell(5), units.gate(5)
    assert (cell.alpha, cell.test_mean, cell.noise) == (1.3, 0.5, "laplace")
    assert float(cell.c) == pytest.approx(0.4)
    assert (gate.alpha, gate.kind) == (1.05, "sigmoid") and cell.clip_output and gate.clip_output


def test_effective_act_equates_old_explicit_configs_with_registry_defaults():
    old = {  # a run saved before the rename: its act wrote the paper defaults out
        "name": "noisy_tanh",
        "gate": {"type": "nan", "alpha": 1.1, "c": 0.15, "softplus": False, "clip": False},
        "cell": {"type": "nan", "alpha": 1.15, "c": 0.5, "test_mean": None},
        "c": None,
        "alpha": None,
        "clip": None,
    }
    new = dataclasses.asdict(ActConfig(name="nan", gate=UnitConfig("nan"), cell=UnitConfig("nan")))
    assert effective_act(old) == effective_act(new)
    assert effective_act(new)["cell"] == {"type": "nan", "alpha": 1.15, "c": 0.5}
    assert effective_act({**new, "c": 0.3}) != effective_act(new)
    nani = dataclasses.asdict(ActConfig(name="nani", gate=UnitConfig("nani", c=0.05)))
    assert effective_act(nani)["gate"] == {"type": "nani", "sigma": 0.05}
