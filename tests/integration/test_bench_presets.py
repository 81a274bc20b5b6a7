"""scripts/bench_presets.py: every family base is timed, and its cost line lands in the YAML."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "bench_presets", ROOT / "scripts" / "bench_presets.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_presets"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules["bench_presets"]


def test_every_family_base_and_its_noisy_member_exist(bench):
    experiments = ROOT / "conf" / "experiment"
    for family, noisy in bench.FAMILIES.items():
        assert (experiments / f"{family}.yaml").is_file(), family
        assert (experiments / f"{noisy}.yaml").is_file(), noisy
        assert noisy.startswith(family)


def test_every_family_base_states_its_cpu_cost_once(bench):
    for family in bench.FAMILIES:
        text = (ROOT / "conf" / "experiment" / f"{family}.yaml").read_text(encoding="utf-8")
        lines = [line for line in text.splitlines() if line.startswith("# CPU cost: ~")]
        assert len(lines) == 1, family
        header = text.split("\ndefaults:")[0]
        assert lines[0] in header and "scripts/bench_presets.py" in lines[0]


def test_a_cost_line_is_worked_from_seconds_and_budget(bench):
    base = bench.Timing(
        "ptb_small", "ptb_small", "sigmoid_tanh", 0.25, 0.5, 2323, 30199, "13 epochs"
    )
    noisy = bench.Timing("ptb_small", "ptb_small_nan", "nan", 0.5, 0.5, 2323, 30199, "13 epochs")
    assert base.hours == pytest.approx(0.25 * 30199 / 3600)  # 2.097 h
    line = bench.cost_line([base, noisy], 1, "2026-12")
    assert line == (
        "# CPU cost: ~0.25 s/step (nan 0.5) on 1 core (2026-12, scripts/bench_presets.py), "
        "13 epochs ≈ 2.1 h (nan 4.2 h)"
    )
    missing = bench.Timing("nmt", "nmt", "sigmoid_tanh", None, None, None, None, "", "no data")
    assert bench.cost_line([missing], 1, "2026-12") is None


def test_annotate_replaces_an_earlier_line_at_the_end_of_the_header(bench, tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("# @package _global_\n# CPU cost: old\n# about x\ndefaults:\n  - a\n# tail\n")
    bench.annotate(path, "# CPU cost: new")
    assert path.read_text() == (
        "# @package _global_\n# about x\n# CPU cost: new\ndefaults:\n  - a\n# tail\n"
    )


def test_a_tiny_family_is_timed_for_real(bench, tmp_path):
    timing = bench.time_preset("gaussians", "gaussians_nan", tmp_path, threads=1, steps=2)
    assert timing.act == "nan" and timing.budget == "1000 steps" and timing.budget_steps == 1000
    assert timing.steps_per_epoch == 3000 // 64  # whole batches of the 3000 training points
    assert 0 < timing.seconds_per_step < 5
    row = bench.render([timing], 1).splitlines()[2]
    assert re.match(r"^\| gaussians \| gaussians_nan \| nan \| [\d.e-]+ \| ", row)
