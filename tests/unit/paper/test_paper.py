"""``noisyexp paper``: profiles, the sweep commands, and a real run that skips and resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from noisyexp.cli.app import CONF_DIR, main
from noisyexp.core.errors import ConfigError
from noisyexp.paper import paper_tables
from noisyexp.paper.reproduce import (
    SweepPlan,
    available_profiles,
    job_dirname,
    load_profile,
    pending_plans,
    sweep_command,
)
from noisyexp.training.trainer import previous_status, structural_changes

PRESETS = {p.stem for p in (CONF_DIR / "experiment").glob("*.yaml")}


def _write_profile(path: Path, max_steps: int) -> Path:
    profile = {
        "name": "tiny",
        "overrides": [f"trainer.max_steps={max_steps}", "trainer.eval_every=2"],
        "sweeps": {"g": {"experiments": ["gaussians_nan"], "seeds": [1, 2]}},
    }
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    return path


def test_the_cpu_and_full_profiles_are_shipped():
    assert {"cpu", "full"} <= set(available_profiles())


@pytest.mark.parametrize("name", ["cpu", "full"])
def test_a_profile_runs_every_table_row_that_has_a_preset(name):
    profile = load_profile(name)
    planned = {e for plan in profile.sweeps.values() for e in plan.experiments}
    assert planned <= PRESETS, planned - PRESETS
    rows = {row["experiment"] for table in paper_tables() for row in table["rows"]}
    assert rows & PRESETS <= planned, (rows & PRESETS) - planned
    noise_sweep = [plan for plan in profile.sweeps.values() if "act.c" in plan.sweep]
    assert noise_sweep and noise_sweep[0].seeds == [1, 2, 3]


def test_the_cpu_profile_changes_budgets_only():
    """Budgets are trainer.* keys (and task.* sizes), which do not split a profile's table rows."""
    from noisyexp.reports.records import PROFILE_BUDGET_PREFIXES

    profile = load_profile("cpu")
    overrides = [*profile.overrides]
    for plan in profile.sweeps.values():
        overrides += plan.overrides
    assert all(o.split("=")[0].startswith(PROFILE_BUDGET_PREFIXES) for o in overrides), overrides


@pytest.mark.parametrize("name", available_profiles())
def test_no_two_sweeps_of_a_profile_fill_one_table_row(name):
    """A profile's budgets do not split table rows (the profile names them), so two sweeps of one
    profile that run a preset at different budgets but no other difference would mix budgets in
    one row's seeds: such a sweep needs a profile of its own (as ``long`` for Table 5 at 50k)."""
    from noisyexp.reports.records import override_key

    profile = load_profile(name)
    rows: dict[tuple, str] = {}
    for sweep, plan in profile.sweeps.items():
        if plan.pick:  # its rows are the grid's, at the picked values (test_picks.py)
            continue
        for point in plan.points():
            swept = [f"{k}={v}" for k, v in point.items() if k not in ("experiment", "seed")]
            overrides = [*profile.overrides, *plan.overrides, *swept]
            row = (point["experiment"], override_key(overrides, profiled=True))
            assert rows.setdefault(row, sweep) == sweep, (name, row, rows[row], sweep)


def test_a_typo_in_a_profile_fails_loudly(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsweeps:\n  g:\n    experiment: [gaussians_nan]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="experiment"):
        load_profile(str(bad))
    with pytest.raises(ConfigError, match="unknown profile"):
        load_profile("gpu_cluster")


def test_an_unknown_profile_is_one_line_and_exit_2(capsys):
    assert main(["paper", "--profile", "nope", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("noisyexp: error: unknown profile")


def test_only_the_swept_keys_name_a_jobs_directory(tmp_path):
    profile = load_profile("cpu")
    command = sweep_command(
        profile, "noise_scale_ptb", results_dir=tmp_path, data_dir=tmp_path / "d", jobs=2
    )
    args = command[command.index("-m") + 1 :]
    assert "experiment=ptb_small_nan" in args and "seed=1,2,3" in args
    assert "act.c=0.1,0.5,1,2" in args
    assert {"profile=cpu", "resume=auto", "hydra/launcher=local"} <= set(args)
    assert f"hydra.sweep.dir={tmp_path}/paper/cpu/noise_scale_ptb" in args
    (excluded,) = [a for a in args if a.startswith("hydra.job.config.override_dirname")]
    for key in ("trainer.max_steps", "profile", "resume", "paths.data_dir"):
        assert key in excluded
    for key in ("act.c", "seed", "experiment"):
        assert f"{key}," not in excluded and f"{key}]" not in excluded


def test_previous_status_tells_final_resumable_and_new_runs(tmp_path):
    assert previous_status(tmp_path) is None
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.pt").write_bytes(b"x")
    assert previous_status(tmp_path) == "resumable"  # killed before it wrote a summary
    (tmp_path / "summary.json").write_text('{"status": "interrupted"}')
    assert previous_status(tmp_path) == "resumable"
    (tmp_path / "summary.json").write_text("{torn")
    assert previous_status(tmp_path) == "resumable"
    for final in ("completed", "failed"):
        (tmp_path / "summary.json").write_text(json.dumps({"status": final}))
        assert previous_status(tmp_path) == final


def test_an_option_added_since_a_run_started_does_not_block_its_resume():
    saved = {"act": {"gate": {"type": "nan"}}, "trainer": {"max_steps": 5}}
    off = {"act": {"gate": {"type": "nan", "clip": False}}, "trainer": {"max_steps": 9}}
    on = {"act": {"gate": {"type": "nan", "clip": True}}, "trainer": {"max_steps": 9}}
    assert structural_changes(saved, off) == []
    assert structural_changes(saved, on) == ["act.gate.clip"]


@pytest.mark.slow  # a real end-to-end run
def test_paper_runs_skips_completed_runs_and_resumes_stopped_ones(tmp_path, capsys):
    results = tmp_path / "results"
    common = ["--results", str(results), "--launcher", "basic"]
    assert main(["paper", "--profile", str(_write_profile(tmp_path / "p.yaml", 4)), *common]) == 0
    sweep_dir = results / "paper" / "tiny" / "g"
    first, second = (sweep_dir / f"experiment=gaussians_nan,seed={s}" for s in (1, 2))
    summaries = [json.loads((d / "summary.json").read_text()) for d in (first, second)]
    assert [(s["status"], s["steps"], s["profile"]) for s in summaries] == [
        ("completed", 4, "tiny")
    ] * 2
    record = json.loads((results / "paper" / "tiny" / "paper.json").read_text())
    assert [s["status"] for s in record["sweeps"]] == ["completed"]
    assert (results / "tables" / "gaussians.md").is_file()

    # seed 2 was "stopped": its summary says so, its checkpoint is at step 4
    stopped = dict(summaries[1], status="interrupted")
    (second / "summary.json").write_text(json.dumps(stopped))
    completed_bytes = (first / "summary.json").read_bytes()
    hydra_record = (first / ".hydra" / "hydra.yaml").read_bytes()
    assert main(["paper", "--profile", str(_write_profile(tmp_path / "p.yaml", 6)), *common]) == 0
    assert (first / "summary.json").read_bytes() == completed_bytes  # not run again
    assert (first / ".hydra" / "hydra.yaml").read_bytes() == hydra_record  # nor relaunched
    resumed = json.loads((second / "summary.json").read_text())
    assert (resumed["status"], resumed["steps"]) == ("completed", 6)
    steps = [json.loads(line).get("step") for line in (second / "metrics.jsonl").open()]
    assert steps == sorted(steps) and len(steps) == len(set(steps))  # continued, not redone
    table = (results / "tables" / "gaussians.md").read_text()
    assert "| gaussians_nan | Noisy tanh (NAN) | – | tiny | 2 |" in table


@pytest.mark.slow  # a real end-to-end run
def test_a_sweep_over_experiments_may_set_keys_of_their_own_task(tmp_path):
    """Hydra composes a multirun's primary config with the default task, which lacks the
    experiments' keys (table4_nmt's task.hidden_size); they run as one-value sweeps per job."""
    profile = {
        "name": "sizes",
        "overrides": ["trainer.max_steps=2", "trainer.eval_every=2", "task.train_size=256"],
        "sweeps": {
            "u": {
                "experiments": ["unique_reference", "unique_nan"],
                "seeds": [1],
                "overrides": ["task.hidden_size=8"],
            }
        },
    }
    path = tmp_path / "sizes.yaml"
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    command = sweep_command(load_profile(str(path)), "u", results_dir=tmp_path, data_dir=tmp_path)
    assert "task.hidden_size=choice(8)" in command and "trainer.max_steps=2" in command
    results = tmp_path / "results"
    assert (
        main(["paper", "--profile", str(path), "--results", str(results), "--launcher", "basic"])
        == 0
    )
    for experiment in ("unique_reference", "unique_nan"):
        job = results / "paper" / "sizes" / "u" / f"experiment={experiment},seed=1"
        summary = json.loads((job / "summary.json").read_text())
        assert summary["status"] == "completed"
        assert summary["config"]["task"]["hidden_size"] == 8
        assert "task.hidden_size=8" in (job / ".hydra" / "overrides.yaml").read_text()


def test_pending_plans_leave_out_completed_jobs_in_as_few_grids_as_cover_the_rest(tmp_path):
    plan = SweepPlan(
        experiments=["a", "b"], seeds=[1, 2, 3], overrides=["x=1"], sweep={"act.c": [0.1, 1]}
    )
    assert pending_plans(plan, tmp_path) == [plan]  # nothing ran yet: the plan itself
    for point in plan.points():
        if point["seed"] < 3 or (point["experiment"] == "b" and point["act.c"] == 1):
            run = tmp_path / job_dirname(point)
            run.mkdir()
            (run / "summary.json").write_text(json.dumps({"status": "completed"}))
    assert job_dirname({"seed": 3, "experiment": "a", "act.c": 0.1}) == (
        "act.c=0.1,experiment=a,seed=3"
    )
    parts = pending_plans(plan, tmp_path)
    assert [(p.experiments, p.seeds, p.sweep, p.overrides) for p in parts] == [
        (["a", "b"], [3], {"act.c": [0.1]}, ["x=1"]),
        (["a"], [3], {"act.c": [1]}, ["x=1"]),
    ]
