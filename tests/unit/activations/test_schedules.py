"""Tests of noisyexp.activations.schedules: values worked by hand from paper.md §1.9."""

from __future__ import annotations

import pytest
import torch

from noisyexp import activations as act
from noisyexp.activations import schedules


@pytest.mark.parametrize(
    ("step", "expected"),
    [(0, 30.0), (199, 30.0), (200, 21.21), (1000, 12.25), (8000, 4.69)],
)
def test_anneal_matches_the_papers_values(step, expected):
    assert schedules.Anneal()(step) == pytest.approx(expected, abs=0.005)


def test_anneal_reaches_its_floor_at_step_719800_and_stays():
    # 30/√(t+1) = 0.5 at t + 1 = 3600, i.e. step 3599 · 200 = 719,800
    anneal = schedules.Anneal()
    assert anneal(719_799) == pytest.approx(30 / 3599**0.5, abs=1e-12)
    assert anneal(719_799) > 0.5
    assert anneal(719_800) == 0.5
    assert anneal(10_000_000) == 0.5


def test_anneal_holds_value_within_each_block_of_every_steps():
    anneal = schedules.Anneal(c0=8.0, every=150)
    assert anneal(450) == pytest.approx(8.0 / 2.0, abs=1e-12)
    assert anneal(599) == pytest.approx(8.0 / 2.0, abs=1e-12)


def test_constant_leaves_the_units_their_own_c():
    assert schedules.Constant()(0) is None
    assert schedules.Constant()(123_456) is None


def test_linear_interpolates_then_holds():
    linear = schedules.Linear(c0=30.0, c_min=0.5, decay_steps=1000)
    assert linear(0) == pytest.approx(30.0)
    assert linear(250) == pytest.approx(22.625)
    assert linear(1000) == pytest.approx(0.5)
    assert linear(5000) == pytest.approx(0.5)


def test_exponential_decays_per_block_down_to_its_floor():
    exponential = schedules.Exponential(c0=16.0, rate=0.5, every=10, c_min=0.0)
    assert exponential(0) == pytest.approx(16.0)
    assert exponential(9) == pytest.approx(16.0)
    assert exponential(30) == pytest.approx(2.0)
    assert schedules.Exponential(c0=16.0, rate=0.5, every=10, c_min=1.5)(70) == 1.5


def test_defaults_are_the_yaml_options_values():
    # conf/noise/*.yaml state only what differs from these, so they pin each option's behaviour
    assert schedules.Anneal() == schedules.Anneal(c0=30.0, c_min=0.5, every=200)
    assert schedules.Linear() == schedules.Linear(c0=5.0, c_min=0.5, decay_steps=10_000)
    assert schedules.Exponential() == schedules.Exponential(c0=5.0, c_min=0.5, rate=0.9, every=200)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: schedules.Anneal()(-1), "step"),
        (lambda: schedules.Anneal(every=0), "every"),
        (lambda: schedules.Anneal(c0=-1.0), "c0"),
        (lambda: schedules.Linear(decay_steps=0), "decay_steps"),
        (lambda: schedules.Exponential(rate=1.5), "rate"),
        (lambda: schedules.Exponential(c_min=float("nan")), "c_min"),
    ],
)
def test_schedules_reject_invalid_arguments(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_schedule_registry_names_the_four_schedules():
    assert set(schedules.SCHEDULES) == {"constant", "anneal", "linear", "exponential"}
    assert schedules.make_schedule("anneal", every=7) == schedules.Anneal(every=7)


def test_make_schedule_rejects_an_unknown_name_or_knob_listing_the_choices():
    with pytest.raises(ValueError, match="choose one of: constant, anneal, linear, exponential"):
        schedules.make_schedule("cosine")
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.make_schedule("anneal", decay_steps=10)


def test_schedules_are_frozen():
    with pytest.raises(AttributeError):
        schedules.Anneal().c0 = 1.0  # type: ignore[misc]


class _DuckUnit(torch.nn.Module):
    """A unit from elsewhere: only the method name is shared."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = None

    def set_noise_scale(self, c: float) -> None:
        self.scale = c


def test_set_noise_scale_reaches_nested_units_and_duck_typed_ones():
    nested = torch.nn.Sequential(
        torch.nn.Linear(7, 11),
        torch.nn.Sequential(act.make_unit("nah", 11, kind="tanh"), act.Tanh(11)),
    )
    model = torch.nn.ModuleDict(
        {"deep": nested, "gate": act.make_unit("nanis", 11, kind="sigmoid"), "duck": _DuckUnit()}
    )
    assert schedules.set_noise_scale(model, 4.69) == 3
    assert nested[1][0].c.item() == pytest.approx(4.69)
    assert model["gate"].c.item() == pytest.approx(4.69)
    assert model["duck"].scale == 4.69


def test_set_noise_scale_on_a_model_without_noisy_units_sets_nothing():
    assert schedules.set_noise_scale(torch.nn.Sequential(torch.nn.Linear(3, 5), act.Tanh()), 1) == 0


def test_all_names_exist_and_are_unique():
    assert len(schedules.__all__) == len(set(schedules.__all__))
    for name in schedules.__all__:
        assert hasattr(schedules, name), name
