"""A multirun's job folders name their swept values (override_dirname), not ``0_ptb_nan``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from noisyexp.cli.app import main
from noisyexp.paper.reproduce import job_dirname

TINY = ["trainer.eval_every=3", "trainer.max_steps=3", "trainer.progress=False"]


def _jobs(sweep_dir: Path) -> dict[str, dict]:
    """Job folder name -> its summary."""
    return {
        path.parent.name: json.loads(path.read_text())
        for path in sorted(sweep_dir.glob("*/summary.json"))
    }


@pytest.mark.slow  # two Hydra jobs: ~6 s on a busy machine
def test_each_job_folder_says_its_swept_value(tmp_path):
    results = tmp_path / "results"
    sweep = tmp_path / "sweep"
    args = ["train", "-m", "hydra/launcher=basic", f"paths.results_dir={results}"]
    args += [f"paths.data_dir={tmp_path / 'data'}", f"hydra.sweep.dir={sweep}", *TINY]
    assert main([*args, "task=gaussians", "act=nah", "act.c=0.25,0.75"]) == 0
    jobs = _jobs(sweep)
    fixed = ",".join(["act=nah", "task=gaussians", *sorted(TINY)])  # sorted, as Hydra does
    assert set(jobs) == {"0_act.c=0.25," + fixed, "1_act.c=0.75," + fixed}
    for name, summary in jobs.items():  # each folder holds the run of the value it names
        assert name.split(",")[0].endswith(f"act.c={summary['config']['act']['c']}")
        assert "paths." not in name and "results" not in name  # bookkeeping keys left out


def test_paper_sweeps_keep_their_own_folder_names(tmp_path):
    """``noisyexp paper`` passes its own subdir and exclusions: record folders stay
    ``experiment=...,seed=...`` (see noisyexp.paper.reproduce.sweep_command)."""
    sweep = tmp_path / "paper" / "cpu" / "gaussians"
    code = main(
        [
            "train",
            "-m",
            "hydra/launcher=basic",
            "experiment=gaussians_nan",
            "seed=1,2",
            *TINY,
            "profile=cpu",
            "resume=auto",
            f"paths.results_dir={tmp_path}",
            f"paths.data_dir={tmp_path / 'data'}",
            f"hydra.sweep.dir={sweep}",
            "hydra.sweep.subdir=${hydra.job.override_dirname}",
            "hydra.job.config.override_dirname.exclude_keys=[paths.data_dir,paths.results_dir,"
            "profile,resume,trainer.eval_every,trainer.max_steps,trainer.progress]",
        ]
    )
    assert code == 0
    points = [{"experiment": "gaussians_nan", "seed": s} for s in (1, 2)]
    assert set(_jobs(sweep)) == {job_dirname(p) for p in points}
