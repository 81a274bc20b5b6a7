"""Tests of noisyexp.schedules: values worked by hand from paper.md §1.9."""

from __future__ import annotations

import pytest
import torch

from noisyexp import activations as act
from noisyexp import schedules


@pytest.mark.parametrize(
    ("step", "expected"),
    [(0, 30.0), (199, 30.0), (200, 21.21), (1000, 12.25), (8000, 4.69)],
)
def test_anneal_c_matches_the_papers_values(step, expected):
    assert schedules.anneal_c(step) == pytest.approx(expected, abs=0.005)


def test_anneal_c_reaches_its_floor_at_step_719800_and_stays():
    # 30/√(t+1) = 0.5 at t + 1 = 3600, i.e. step 3599 · 200 = 719,800
    assert schedules.anneal_c(719_799) == pytest.approx(30 / 3599**0.5, abs=1e-12)
    assert schedules.anneal_c(719_799) > 0.5
    assert schedules.anneal_c(719_800) == 0.5
    assert schedules.anneal_c(10_000_000) == 0.5


def test_anneal_c_holds_value_within_each_block_of_every_steps():
    assert schedules.anneal_c(450, c0=8.0, every=150) == pytest.approx(8.0 / 2.0, abs=1e-12)
    assert schedules.anneal_c(599, c0=8.0, every=150) == pytest.approx(8.0 / 2.0, abs=1e-12)


def test_constant_c_ignores_the_step():
    assert schedules.constant_c(0, c0=0.5) == 0.5
    assert schedules.constant_c(123_456, c0=0.5) == 0.5


def test_linear_c_interpolates_then_holds():
    assert schedules.linear_c(0, c0=30.0, c_min=0.5, total_steps=1000) == pytest.approx(30.0)
    assert schedules.linear_c(250, c0=30.0, c_min=0.5, total_steps=1000) == pytest.approx(22.625)
    assert schedules.linear_c(1000, c0=30.0, c_min=0.5, total_steps=1000) == pytest.approx(0.5)
    assert schedules.linear_c(5000, c0=30.0, c_min=0.5, total_steps=1000) == pytest.approx(0.5)


def test_exponential_c_decays_per_block_down_to_its_floor():
    assert schedules.exponential_c(0, c0=16.0, decay=0.5, every=10) == pytest.approx(16.0)
    assert schedules.exponential_c(9, c0=16.0, decay=0.5, every=10) == pytest.approx(16.0)
    assert schedules.exponential_c(30, c0=16.0, decay=0.5, every=10) == pytest.approx(2.0)
    assert schedules.exponential_c(70, c0=16.0, decay=0.5, every=10, c_min=1.5) == 1.5


@pytest.mark.parametrize(
    ("function", "kwargs", "match"),
    [
        (schedules.anneal_c, {"step": -1}, "step"),
        (schedules.anneal_c, {"step": 0, "every": 0}, "every"),
        (schedules.linear_c, {"step": 0, "total_steps": 0}, "total_steps"),
        (schedules.exponential_c, {"step": 0, "decay": 1.5}, "decay"),
    ],
)
def test_schedules_reject_invalid_arguments(function, kwargs, match):
    with pytest.raises(ValueError, match=match):
        function(**kwargs)


def test_schedule_registry_names_the_four_schedules():
    assert set(schedules.SCHEDULES) == {"constant", "anneal", "linear", "exponential"}
    assert schedules.SCHEDULES["anneal"](200) == schedules.anneal_c(200)


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
