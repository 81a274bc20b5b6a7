"""The ``quick`` profile (issue 26): every experiment of the paper, one seed, tiny budgets.

It is a smoke test of the pipeline (``make paper PROFILE=quick``), so what matters is that it
leaves nothing of the ``full`` profile out and that every sweep stays a few dozen steps long.
"""

from __future__ import annotations

import json

import pytest

from noisyexp.cli.app import CONF_DIR, main
from noisyexp.paper import paper_tables
from noisyexp.paper.reproduce import available_profiles, load_profile
from noisyexp.reports.records import PROFILE_BUDGET_PREFIXES

PRESETS = {p.stem for p in (CONF_DIR / "experiment").glob("*.yaml")}
#: the most training steps one quick job may take ("a few dozen")
MAX_STEPS = 50


def _value(overrides: list[str], key: str) -> str | None:
    """The value the last of ``overrides`` gives ``key`` (later ones win, as in Hydra)."""
    values = [o.split("=", 1)[1] for o in overrides if o.split("=", 1)[0] == key]
    return values[-1] if values else None


def test_quick_runs_every_sweep_and_preset_of_the_full_profile():
    assert "quick" in available_profiles()
    quick, full = load_profile("quick"), load_profile("full")
    assert list(quick.sweeps) == list(full.sweeps)
    for name, plan in full.sweeps.items():
        mine = quick.sweeps[name]
        assert len(set(mine.experiments)) == len(mine.experiments), name
        assert set(mine.experiments) == set(plan.experiments), name
        assert mine.sweep == plan.sweep, name  # the same sweep points: the same table rows
    planned = {e for plan in quick.sweeps.values() for e in plan.experiments}
    rows = {row["experiment"] for table in paper_tables() for row in table["rows"]}
    assert rows & PRESETS <= planned, (rows & PRESETS) - planned


def test_quick_is_one_seed_of_tiny_budgets_evaluated_once_at_the_end():
    profile = load_profile("quick")
    assert "smoke test" in profile.description  # the tables name it: not a result
    assert {"trainer.num_threads=1", "trainer.progress=false"} <= set(profile.overrides)
    for name, plan in profile.sweeps.items():
        # one seed; a pick sweep's is one the grid it picks from did not run
        assert plan.seeds == ([2] if plan.pick else [1]), name
        overrides = [*profile.overrides, *plan.overrides]
        # budgets only: within the profile they do not split table rows
        assert all(o.split("=")[0].startswith(PROFILE_BUDGET_PREFIXES) for o in overrides), name
        # explicit in every sweep, so it beats each preset's own budget (steps or epochs: the
        # trainer stops at whichever comes first)
        max_steps = int(_value(overrides, "trainer.max_steps") or MAX_STEPS + 1)
        assert max_steps <= MAX_STEPS, (name, max_steps)
        # the trainer always evaluates at max_steps; no evaluation before it, and a test
        assert int(_value(overrides, "trainer.eval_every") or 0) >= max_steps, name
        assert _value(overrides, "trainer.eval_test") in (None, "true"), name


@pytest.mark.slow
@pytest.mark.parametrize("sweep", list(load_profile("quick").sweeps))  # spread over the workers
def test_every_quick_job_composes_with_its_budget(compose_config, sweep):
    """Composing checks that each task.* key exists in the experiment's own task (a typo would
    otherwise surface only when ``make paper PROFILE=quick`` reaches that sweep)."""
    profile = load_profile("quick")
    for plan in [profile.sweeps[sweep]]:
        overrides = [*profile.overrides, *plan.overrides]
        swept = [f"{key}={values[0]}" for key, values in plan.sweep.items()]
        for experiment in plan.experiments:
            cfg = compose_config(f"experiment={experiment}", *overrides, *swept)
            assert cfg.trainer.max_steps == int(_value(overrides, "trainer.max_steps"))
            assert (cfg.trainer.num_threads, cfg.trainer.progress) == (1, False)


@pytest.mark.slow
def test_a_quick_sweep_trains_tests_and_fills_its_table_rows(tmp_path, capsys):
    plan = load_profile("quick").sweeps["table5_unique"]  # synthetic data, seconds a run
    results = tmp_path / "results"
    args = ["--only", "table5_unique", "--results", str(results), "--launcher", "basic"]
    assert main(["paper", "--profile", "quick", "--data-dir", str(tmp_path / "data"), *args]) == 0
    assert "1/1 sweeps completed" in capsys.readouterr().out
    max_steps = int(_value(plan.overrides, "trainer.max_steps"))
    sweep_dir = results / "paper" / "quick" / "table5_unique"
    table = (results / "tables" / "table5_unique.md").read_text(encoding="utf-8")
    labels = {row["experiment"]: row["label"] for t in paper_tables() for row in t["rows"]}
    for experiment in plan.experiments:
        summary = json.loads(
            (sweep_dir / f"experiment={experiment},seed=1" / "summary.json").read_text()
        )
        assert (summary["status"], summary["steps"], summary["profile"], summary["seed"]) == (
            "completed",
            max_steps,
            "quick",
            1,
        )
        assert set(summary["final"]) >= {"valid/error"}  # evaluated at the end
        assert 0 <= summary["test"]["test/error"] <= 100  # and tested
        assert f"| {experiment} | {labels[experiment]} | – | quick | 1 |" in table
    record = json.loads((sweep_dir.parent / "paper.json").read_text())
    assert [(s["name"], s["status"]) for s in record["sweeps"]] == [("table5_unique", "completed")]
