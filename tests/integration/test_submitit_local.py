"""A sweep through submitit's own local executor: pickled jobs, real subprocesses, result files.

The same path a SLURM sweep takes (hydra/launcher=slurm), short of the cluster.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("hydra_plugins.hydra_submitit_launcher")


@pytest.mark.slow  # two job processes start torch: ~45 s on a busy 2-core machine
def test_two_jobs_run_in_their_own_processes_and_say_their_swept_value(tmp_path):
    sweep = tmp_path / "sweep"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "noisyexp",
            "train",
            "-m",
            "hydra/launcher=local_submitit",
            f"hydra.sweep.dir={sweep}",
            f"paths.results_dir={tmp_path / 'results'}",
            f"paths.data_dir={tmp_path / 'data'}",
            "task=gaussians",
            "act=nah",
            "act.c=0.25,0.75",
            "trainer.max_steps=6",
            "trainer.eval_every=3",
            "trainer.num_threads=1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summaries = {p.parent.name: json.loads(p.read_text()) for p in sweep.glob("*/summary.json")}
    assert len(summaries) == 2
    for name, summary in summaries.items():
        assert summary["status"] == "completed" and summary["steps"] == 6
        assert name.split(",")[0].endswith(f"act.c={summary['config']['act']['c']}")
    assert sorted(s["config"]["act"]["c"] for s in summaries.values()) == [0.25, 0.75]

    results = sorted(sweep.glob(".submitit/*/*_result.pkl"))  # submitit's own records
    assert len(results) == 2
    outcomes = []
    for path in results:
        with open(path, "rb") as handle:
            state, job_return = pickle.load(handle)  # trusted: written by this test's jobs
        assert state == "success"
        outcomes.append(job_return.return_value)
    assert sorted(o["run_dir"] for o in outcomes) == sorted(str(sweep / n) for n in summaries)
    assert {o["status"] for o in outcomes} == {"completed"}
    assert len({path.parent.name for path in results}) == 2  # one submitit job (process) each
