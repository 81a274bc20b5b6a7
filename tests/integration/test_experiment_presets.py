"""Every experiment preset runs two shrunk steps end to end (data-backed ones on tiny files)."""

from __future__ import annotations

import json

import pytest
from _presets import ALL_EXPERIMENTS, FAMILY_BASES, PRESETS, SHRINK, TASK_SHRINK

from noisyexp.training.trainer import RunInfo, train

pytestmark = pytest.mark.slow  # every preset end to end: about 2 minutes


def test_family_bases_are_experiments():
    assert FAMILY_BASES and FAMILY_BASES.issubset(ALL_EXPERIMENTS)


@pytest.mark.parametrize("preset", PRESETS)
def test_every_experiment_preset_runs_two_steps(
    compose_config, tmp_path, tiny_ptb, tiny_mnist, tiny_multi30k, preset
):
    task = compose_config(f"experiment={preset}").task.name  # the preset's, or its base's
    cfg = compose_config(f"experiment={preset}", *SHRINK, *TASK_SHRINK.get(task, []))
    result = train(cfg, tmp_path / "run", RunInfo(experiment=preset))
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 2
    assert summary["task"] == task and summary["experiment"] == preset
    assert summary["final"] and summary["test"]
