"""Tables from fabricated summaries: grouping, aggregation, skipped and missing rows, formats."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

from noisyexp.paper import digitized_curves, paper_tables, reference
from noisyexp.reports import tables
from noisyexp.reports.records import (
    Run,
    budget_label,
    collect_runs,
    group_runs,
    metric_value,
    override_key,
)


def _write_run(
    root: Path,
    name: str,
    *,
    experiment: str | None = "ptb_small_nan",
    task: str = "ptb",
    seed: int = 1,
    status: str = "completed",
    overrides: tuple[str, ...] = (),
    final: dict[str, float] | None = None,
    test: dict[str, float] | None = None,
    metrics: list[dict[str, Any]] | None = None,
    profile: str | None = "cpu",
    **extra: Any,
) -> Path:
    """A run directory as the trainer writes it (summary.json and metrics.jsonl)."""
    run_dir = root / name
    run_dir.mkdir(parents=True)
    summary = {
        "schema": 1,
        "status": status,
        "error": None if status == "completed" else "NaN loss",
        "task": task,
        "act": "noisy_tanh",
        "noise": "constant",
        "optim": "sgd",
        "experiment": experiment,
        "profile": profile,
        "seed": seed,
        "overrides": [f"experiment={experiment}", *overrides, f"seed={seed}"],
        "config": {"trainer": {"max_steps": None, "max_epochs": 2}, "seed": seed},
        "code_version": "git:1a2b3c4",
        "dataset": {"name": task, "checksum": "md5:feed"},
        "device": "cpu",
        "steps": 200,
        "epochs": 2.0,
        "wall_time_s": 30.0,
        "final": final if final is not None else {},
        "test": test if test is not None else {},
        **extra,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    lines = [json.dumps(row) for row in (metrics or [])]
    (run_dir / "metrics.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return run_dir


def _ptb_seeds(root: Path) -> None:
    """Three seeds of ptb_small_nan with hand-chosen numbers: valid 1, 2, 4 (+110)."""
    for seed, valid, test in ((1, 111.0, 107.0), (2, 112.0, 108.0), (3, 114.0, 109.0)):
        _write_run(
            root, f"nan_s{seed}", seed=seed, final={"valid/ppl": valid}, test={"test/ppl": test}
        )


def _csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_all_names_exist_and_are_unique() -> None:
    assert len(tables.__all__) == len(set(tables.__all__))
    for name in tables.__all__:
        assert hasattr(tables, name), name


def test_reference_numbers_match_the_paper_digest() -> None:
    by_id = {table["id"]: table for table in paper_tables()}
    ptb = {row["experiment"]: row["paper"] for row in by_id["table2_ptb"]["rows"]}
    assert ptb["ptb_small_nan"] == {"valid/ppl": 111.7, "test/ppl": 108.0}
    assert ptb["ptb_small_nah"] == {"valid/ppl": 112.6, "test/ppl": 108.7}
    assert ptb["ptb_small_reference"] == {"valid/ppl": 119.4, "test/ppl": 115.6}
    unique = {r["experiment"]: r["paper"]["test/error"] for r in by_id["table5_unique"]["rows"]}
    assert unique == {
        "unique_reference": 33.28,
        "unique_nan": 31.12,
        "unique_curriculum": 14.83,
        "unique_nan_annealed": 9.53,
        "unique_nanil_annealed": 20.94,
    }
    lte = {row["experiment"]: row["paper"]["test/accuracy"] for row in by_id["table1_lte"]["rows"]}
    assert lte == {"lte_reference": 46.45, "lte_nah": 48.09}
    assert reference()["schema"] == 2 and reference()["tables"] == paper_tables()


def test_figure_derived_reference_values_agree_with_the_digitised_curves() -> None:
    curves = digitized_curves()
    by_id = {table["id"]: table for table in paper_tables()}
    mnist_rows = by_id["mnist"]["rows"]
    ablations = [row for row in mnist_rows if "paper_series" not in row]
    assert [row["experiment"] for row in ablations] == ["mnist_nan_c0", "mnist_nan_alpha1"]
    assert all(value is None for row in ablations for value in row["paper"].values())
    paper_rows = [row for row in mnist_rows if "paper_series" in row]
    for row in paper_rows:
        xs, ys = curves["mnist"][row["paper_series"]]
        assert row["paper"]["train/nll"] == pytest.approx(ys[-1], abs=1e-5)
        # the plot's x = 0 is the first epoch, so epoch e is the point at x = e - 1
        at = {round(x): y for x, y in zip(xs, ys, strict=True)}
        assert len(at) == 100 and min(at) == 0
        assert row["paper"]["train/nll@10"] == pytest.approx(at[9], abs=1e-5)
        assert row["paper"]["train/nll@25"] == pytest.approx(at[24], abs=1e-5)
    for row in by_id["char_gru"]["rows"]:  # the plot's y is log10 BPC
        _, ys = curves["gru_bpc"][row["paper_series"]]
        assert row["paper"]["train/bpc"] == pytest.approx(10.0 ** ys[-1], abs=1e-3)
    xs, ys = curves["ntm"]["Noisy NTM Controller"]  # x in thousands of updates
    first_solved = next(x for x, y in zip(xs, ys, strict=True) if y < 0.05)
    noisy = next(r for r in by_id["ntm_recall"]["rows"] if r["experiment"].endswith("annealed"))
    assert noisy["paper"]["valid/nll_solved_step"] == first_solved * 1000


def test_collect_runs_keeps_completed_and_lists_the_others_with_reasons(tmp_path: Path) -> None:
    _write_run(tmp_path, "ok", final={"valid/ppl": 111.0})
    _write_run(tmp_path, "failed", status="failed")
    _write_run(tmp_path, "interrupted", status="interrupted")
    (tmp_path / "torn").mkdir()
    (tmp_path / "torn" / "summary.json").write_text('{"status": "compl', encoding="utf-8")
    (tmp_path / "nokeys").mkdir()
    (tmp_path / "nokeys" / "summary.json").write_text('{"status": "completed"}', encoding="utf-8")
    runs, skipped = collect_runs(tmp_path)
    assert [run.path.name for run in runs] == ["ok"]
    reasons = {item.path.parent.name: item.reason for item in skipped}
    assert reasons["failed"] == "status failed: NaN loss"
    assert reasons["interrupted"].startswith("status interrupted")
    assert "unreadable" in reasons["torn"]
    assert "task" in reasons["nokeys"] and "seed" in reasons["nokeys"]


def test_override_key_drops_seed_experiment_profile_and_hydra_keys() -> None:
    key = override_key(
        [
            "experiment=ptb_small_nan",
            "act.c=0.1",
            "seed=3",
            "hydra.launcher.n_jobs=2",
            "+profile=cpu",
            "paths.results_dir=/x",
            "++optim.lr=2",
            "trainer.num_threads=1",
            "trainer.progress=False",
            "trainer.max_steps=50",
        ]
    )
    assert key == ("act.c=0.1", "optim.lr=2", "trainer.max_steps=50")


def test_a_profiles_budgets_do_not_split_its_rows() -> None:
    overrides = ["act.c=0.1", "trainer.max_steps=50", "trainer.eval_every=10"]
    assert override_key(overrides, profiled=True) == ("act.c=0.1",)
    assert override_key(overrides) == ("act.c=0.1", "trainer.eval_every=10", "trainer.max_steps=50")


def test_profile_runs_with_budget_overrides_fill_the_paper_row(tmp_path: Path) -> None:
    for seed in (1, 2):
        _write_run(
            tmp_path,
            f"s{seed}",
            seed=seed,
            overrides=("trainer.max_steps=600",),
            final={"valid/ppl": 200.0 + seed},
        )
    grouped, _ = group_runs(collect_runs(tmp_path)[0], paper_tables())
    (nan_row,) = [g for g in grouped["table2_ptb"] if g.experiment == "ptb_small_nan"]
    assert nan_row.paper_row is not None and len(nan_row.runs) == 2


def test_seeds_are_aggregated_with_mean_and_sample_std(tmp_path: Path) -> None:
    _ptb_seeds(tmp_path)
    tables.main(tmp_path, tmp_path / "out", echo=None)
    rows = _csv_rows(tmp_path / "out" / "table2_ptb.csv")
    nan = next(r for r in rows if r["row"] == "ptb_small_nan" and r["status"] == "paper")
    # valid 111, 112, 114: mean 112.333..., sample variance ((4/3)^2 + (1/3)^2 + (5/3)^2) / 2
    assert float(nan["valid/ppl:mean"]) == pytest.approx(337.0 / 3.0, abs=1e-9)
    assert float(nan["valid/ppl:std"]) == pytest.approx(math.sqrt(7.0 / 3.0), abs=1e-9)
    assert float(nan["valid/ppl:median"]) == 112.0
    assert nan["n"] == "3" and nan["seeds"] == "1,2,3"
    assert float(nan["valid/ppl:paper"]) == 111.7
    assert float(nan["valid/ppl:paper_diff"]) == pytest.approx(337.0 / 3.0 - 111.7, abs=1e-9)
    assert float(nan["test/ppl:mean"]) == pytest.approx(108.0, abs=1e-9)


def test_table5_shows_the_median_beside_the_mean(tmp_path: Path) -> None:
    """Runs that solve the task or not: 0, 0, 0, 40, 50 % error has mean 18, median 0."""
    for seed, error in enumerate((0.0, 40.0, 0.0, 50.0, 0.0), 1):
        _write_run(
            tmp_path,
            f"u{seed}",
            experiment="unique_nan_annealed",
            task="unique_count",
            seed=seed,
            test={"test/error": error},
        )
    tables.main(tmp_path, tmp_path / "out", echo=None)
    markdown = (tmp_path / "out" / "table5_unique.md").read_text(encoding="utf-8")
    header = next(line for line in markdown.splitlines() if line.startswith("| Row |"))
    assert "| Test error % (ours) | Test error % median | Test error % 95% CI |" in header
    row = next(line for line in markdown.splitlines() if line.startswith("| unique_nan_annealed"))
    assert "| 18.00 ± 24.90 | 0.00 |" in row
    ptb = (tmp_path / "out" / "table2_ptb.md").read_text(encoding="utf-8")
    assert "median" not in ptb  # only tables that ask for it


def test_a_sweep_gives_one_row_per_override_value(tmp_path: Path) -> None:
    for c in ("0.1", "1"):
        for seed in (1, 2):
            _write_run(
                tmp_path,
                f"c{c}_s{seed}",
                seed=seed,
                overrides=(f"act.c={c}",),
                final={"valid/ppl": 100.0 + float(c) * 10 + seed},
            )
    tables.main(tmp_path, tmp_path / "out", echo=None)
    rows = _csv_rows(tmp_path / "out" / "table2_ptb.csv")
    swept = {r["overrides"]: r for r in rows if r["overrides"]}
    assert sorted(swept) == ["act.c=0.1", "act.c=1"]
    assert float(swept["act.c=1"]["valid/ppl:mean"]) == pytest.approx(111.5, abs=1e-9)
    assert swept["act.c=1"]["n"] == "2"
    assert swept["act.c=1"]["valid/ppl:paper"] == ""  # a sweep row is not the paper's setting
    sweeps = (tmp_path / "out" / "sweeps.md").read_text(encoding="utf-8")
    assert "act.c=0.1" in sweeps and "act.c=1" in sweeps


def test_paper_rows_without_runs_are_shown_missing(tmp_path: Path) -> None:
    _ptb_seeds(tmp_path)
    tables.main(tmp_path, tmp_path / "out", echo=None)
    markdown = (tmp_path / "out" / "table2_ptb.md").read_text(encoding="utf-8")
    missing = "| ptb_small_reference | LSTM (Reference) | – | – | 0 | missing | – | 119.4 |"
    assert missing in markdown
    lte = _csv_rows(tmp_path / "out" / "table1_lte.csv")
    assert [(r["row"], r["status"]) for r in lte] == [
        ("lte_reference", "missing"),
        ("lte_nah", "missing"),
    ]


def test_extra_presets_appear_with_a_dash_for_the_paper(tmp_path: Path) -> None:
    _write_run(tmp_path, "hard", experiment="ptb_small_hard_tanh", final={"valid/ppl": 125.0})
    _write_run(
        tmp_path, "copy", experiment="ntm_copy_reference", task="copy", final={"valid/nll": 3.5}
    )
    tables.main(tmp_path, tmp_path / "out", echo=None)
    markdown = (tmp_path / "out" / "table2_ptb.md").read_text(encoding="utf-8")
    assert "| ptb_small_hard_tanh | – | – | cpu | 1 | 125.0 (n = 1) | – | – | – | – |" in markdown
    ntm = _csv_rows(tmp_path / "out" / "ntm_recall.csv")
    assert ("ntm_copy_reference", "extra") in [(r["row"], r["status"]) for r in ntm]


def test_skipped_runs_are_listed_in_skipped_md_and_under_their_table(tmp_path: Path) -> None:
    _write_run(tmp_path, "failed", experiment="unique_nan", task="unique_count", status="failed")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "summary.json").write_bytes(b"\xff\xfe not json")
    lines: list[str] = []
    tables.main(tmp_path, tmp_path / "out", echo=lines.append)
    skipped = (tmp_path / "out" / "skipped.md").read_text(encoding="utf-8")
    assert "| failed/summary.json | status failed: NaN loss |" in skipped
    assert "junk/summary.json" in skipped
    unique = (tmp_path / "out" / "table5_unique.md").read_text(encoding="utf-8")
    assert "Skipped runs for this table: 1" in unique
    assert "Skipped" not in (tmp_path / "out" / "table2_ptb.md").read_text(encoding="utf-8")
    assert any("junk/summary.json" in line for line in lines)


def test_every_table_is_written_in_three_formats(tmp_path: Path) -> None:
    _ptb_seeds(tmp_path)
    written = tables.main(tmp_path, tmp_path / "out", echo=None)
    for table in paper_tables():
        for suffix in (".md", ".csv", ".tex"):
            path = tmp_path / "out" / f"{table['id']}{suffix}"
            assert path in written and path.stat().st_size > 0
    tex = (tmp_path / "out" / "table2_ptb.tex").read_text(encoding="utf-8")
    assert r"ptb\_small\_nan & Noisy LSTM + NAN" in tex
    assert r"112.3 $\pm$ 1.5 & [108.5, 116.1] & 111.7 & +0.6" in tex
    rows = len(next(t for t in paper_tables() if t["id"] == "table2_ptb")["rows"])
    assert rows == 6  # the paper's three rows and the three ablations
    assert tex.count(r"\\") == 1 + rows  # the header and every row (those without runs too)
    assert not list((tmp_path / "out").glob(".*.tmp"))  # atomic writes leave no temp files


def test_header_gives_the_total_and_the_range_of_run_times(tmp_path: Path) -> None:
    for seed, wall in ((1, 30.0), (2, 150.0), (3, None)):  # None: a run that did not time itself
        _write_run(tmp_path, f"s{seed}", seed=seed, wall_time_s=wall, final={"ppl": 110.0})
    tables.main(tmp_path, tmp_path / "out", echo=None)
    markdown = (tmp_path / "out" / "table2_ptb.md").read_text(encoding="utf-8")
    assert "runs: 3; total wall time: 3.0 min (a run: 0.5–2.5 min)\n" in markdown


def test_header_states_the_budget_seeds_code_and_data(tmp_path: Path) -> None:
    _ptb_seeds(tmp_path)
    tables.main(tmp_path, tmp_path / "out", echo=None)
    markdown = (tmp_path / "out" / "table2_ptb.md").read_text(encoding="utf-8")
    assert "- Budget: max_steps=null, max_epochs=2 (ptb_small_nan)" in markdown
    wall = "total wall time: 1.5 min (a run: 0.5–0.5 min)"
    assert f"- Profile: cpu; seeds: 1, 2, 3; runs: 3; {wall}" in markdown
    assert "- Code: git:1a2b3c4; device: cpu" in markdown
    assert "- Data: ptb:md5:feed" in markdown


def test_metric_is_read_from_test_then_final_then_the_last_logged_line(tmp_path: Path) -> None:
    run_dir = _write_run(
        tmp_path,
        "m",
        experiment="mnist_nan",
        task="mnist",
        final={"valid/nll": 0.5},
        test={"test/error": 1.5},
    )
    # a torn last line (a run killed mid-write) and a non-object line are ignored
    (run_dir / "metrics.jsonl").write_text(
        '{"step": 1, "train/nll": 0.3}\n{"step": 2, "train/nll": 0.2}\n[1]\n{"torn": ',
        encoding="utf-8",
    )
    (run,), _ = collect_runs(tmp_path)
    assert metric_value(run, {"key": "train/nll"}) == 0.2
    assert metric_value(run, {"key": "test/error"}) == 1.5
    assert metric_value(run, {"key": "valid/nll"}) == 0.5
    assert metric_value(run, {"key": "valid/bpc"}) is None
    ln2_loss = {
        "key": "train/bpc",
        "sources": [{"key": "train/bpc"}, {"key": "train/nll", "factor": 1 / math.log(2)}],
    }
    assert metric_value(run, ln2_loss) == pytest.approx(0.2 / math.log(2), abs=1e-12)


def test_a_metric_can_read_a_point_on_the_curve(tmp_path: Path) -> None:
    run_dir = _write_run(tmp_path, "m", experiment="mnist_nan", task="mnist")
    lines = [{"step": 5 * e, "epoch": float(e), "train/loss": 1.0 / e} for e in range(1, 5)]
    lines.insert(2, {"step": 11, "epoch": 2.2, "valid/error": 3.0})  # a line between epochs
    lines.insert(1, {"step": 10, "epoch": 2.0, "valid/error": 4.0})  # epoch 2 without the key
    (run_dir / "metrics.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8"
    )
    (run,), _ = collect_runs(tmp_path)
    at_2 = {
        "key": "x",
        "sources": [
            {"key": "train/nll", "at": {"epoch": 2}},
            {"key": "train/loss", "at": {"epoch": 2}},
        ],
    }
    assert metric_value(run, at_2) == 0.5  # train/nll is never logged: the second source
    assert metric_value(run, {"key": "x", "sources": [{"key": "train/loss"}]}) == 0.25
    missing = {"key": "x", "sources": [{"key": "train/loss", "at": {"epoch": 9}}]}
    assert metric_value(run, missing) is None  # a run that stopped before epoch 9


def test_a_metric_can_read_the_runs_own_fields_and_turn_steps_into_epochs(tmp_path: Path) -> None:
    table4 = next(t for t in paper_tables() if t["id"] == "table4_nmt")
    metrics = {m["key"]: m for m in table4["metrics"]}
    # early stopping at 3,000 of 1,200 steps an epoch (2.5 epochs), the best checkpoint at 1,800
    _write_run(
        tmp_path,
        "m",
        experiment="nmt_nah",
        task="nmt",
        steps=3000,
        epochs=2.5,
        best={"valid/nll": 40.0, "step": 1800},
    )
    # a summary without epochs (as an early schema's): no value, not a crash
    old_dir = _write_run(
        tmp_path, "old", experiment="nmt_nah", task="nmt", seed=2, best={"step": 100}
    )
    summary = json.loads((old_dir / "summary.json").read_text(encoding="utf-8"))
    del summary["epochs"]
    (old_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    run, old = sorted(collect_runs(tmp_path)[0], key=lambda r: r.summary["seed"])
    assert metric_value(run, metrics["best/epoch"]) == pytest.approx(1.5, abs=1e-12)
    assert metric_value(run, metrics["epochs"]) == 2.5
    assert metric_value(run, metrics["valid/nll"]) == 40.0
    assert metric_value(old, metrics["best/epoch"]) is None
    assert metric_value(old, metrics["epochs"]) is None
    assert metric_value(run, {"key": "x", "sources": [{"key": "steps", "section": "run"}]}) == 3000


def test_updates_to_solve_is_the_first_step_below_the_threshold(tmp_path: Path) -> None:
    curve = [
        {"step": 1000, "valid/nll_paper": 2.0},
        {"step": 2000, "valid/nll_paper": 0.04},
        {"step": 3000, "valid/nll_paper": 1.8},
        {"step": 4000, "valid/nll_paper": 0.0},
    ]
    for seed, rows in (
        (1, curve),
        (2, [{"step": 1000, "valid/nll_paper": 0.01}]),
        (3, [{"step": 1000, "valid/nll_paper": 1.9}]),
    ):
        _write_run(
            tmp_path,
            f"s{seed}",
            experiment="ntm_recall_noisy_annealed",
            task="assoc_recall",
            seed=seed,
            metrics=rows,
        )
    tables.main(tmp_path, tmp_path / "out", echo=None)
    (row,) = [r for r in _csv_rows(tmp_path / "out" / "ntm_recall.csv") if r["n"] == "3"]
    assert float(row["valid/nll_solved_step:mean"]) == pytest.approx(1500.0, abs=1e-9)
    assert row["valid/nll_solved_step:n"] == "2"  # seed 3 never got there
    markdown = (tmp_path / "out" / "ntm_recall.md").read_text(encoding="utf-8")
    assert "1500 ± 707 (2/3)" in markdown and "not within 100k" in markdown


def test_output_is_deterministic_and_independent_of_creation_order(tmp_path: Path) -> None:
    _ptb_seeds(tmp_path / "a")
    for seed, valid, test in ((3, 114.0, 109.0), (1, 111.0, 107.0), (2, 112.0, 108.0)):
        # the same runs as in "a", created in another order under other names
        _write_run(
            tmp_path / "b",
            f"z{4 - seed}",
            seed=seed,
            final={"valid/ppl": valid},
            test={"test/ppl": test},
        )
    first = tables.main(tmp_path / "a", tmp_path / "out1", echo=None)
    again = tables.main(tmp_path / "a", tmp_path / "out2", echo=None)
    for one, two in zip(first, again, strict=True):
        assert one.read_bytes() == two.read_bytes()
    other = tables.main(tmp_path / "b", tmp_path / "out3", echo=None)
    assert (tmp_path / "out1" / "table2_ptb.md").read_bytes() == (
        tmp_path / "out3" / "table2_ptb.md"
    ).read_bytes()
    assert len(other) == len(first)


def test_empty_results_folder_still_writes_every_table(tmp_path: Path) -> None:
    written = tables.main(tmp_path / "nothing", tmp_path / "out", echo=None)
    assert {p.name for p in written} >= {"table2_ptb.md", "skipped.md", "sweeps.md", "tables.md"}
    assert "Ours: no completed runs yet." in (tmp_path / "out" / "mnist.md").read_text("utf-8")


def test_old_act_names_fall_into_the_renamed_rows() -> None:
    assert override_key(["act=noisy_tanh", "seed=1"]) == override_key(["act=nan", "seed=2"])
    assert override_key(["act=tanh"]) == ("act=sigmoid_tanh",)
    assert override_key(["act=nani"]) == ("act=nani",)


# ----------------------------------------------------------------------------------------------
# statistics: expected values computed here from explicit formulas, not by the code under test

#: the 0.975 quantile of Student's t with 2 degrees of freedom, from its closed-form CDF
#: F(t) = 1/2 + t / (2 sqrt(2 + t^2)): F(t) = 0.975 <=> t^2 = 2 * 0.95^2 / (1 - 0.95^2)
T975_DF2 = math.sqrt(2.0 * 0.95**2 / (1.0 - 0.95**2))


def _two_sided_p_df2(t: float) -> float:
    """2 (1 - F(|t|)) for Student's t with 2 degrees of freedom."""
    return 1.0 - abs(t) / math.sqrt(2.0 + t * t)


def _row(rows: list[dict[str, str]], name: str) -> dict[str, str]:
    (row,) = [r for r in rows if r["row"] == name and not r["overrides"]]
    return row


def test_every_table_names_one_of_its_paper_rows_as_its_reference() -> None:
    for table in paper_tables():
        assert table["reference"] in [row["experiment"] for row in table["rows"]], table["id"]


def test_confidence_interval_is_the_t_interval_of_the_mean(tmp_path: Path) -> None:
    _ptb_seeds(tmp_path)  # valid 111, 112, 114
    tables.main(tmp_path, tmp_path / "out", echo=None)
    nan = _row(_csv_rows(tmp_path / "out" / "table2_ptb.csv"), "ptb_small_nan")
    mean, std = 337.0 / 3.0, math.sqrt(7.0 / 3.0)
    half = T975_DF2 * std / math.sqrt(3.0)
    assert abs(T975_DF2 - 4.302652729911275) < 1e-9  # the printed t tables' 4.303
    assert nan["valid/ppl:n"] == "3"
    assert float(nan["valid/ppl:ci_low"]) == pytest.approx(mean - half, abs=1e-8)
    assert float(nan["valid/ppl:ci_high"]) == pytest.approx(mean + half, abs=1e-8)
    markdown = (tmp_path / "out" / "table2_ptb.md").read_text(encoding="utf-8")
    assert f"| 112.3 ± 1.5 | [{mean - half:.1f}, {mean + half:.1f}] | 111.7 | +0.6 |" in markdown


def _ptb_pair(root: Path, nan: tuple[float, ...], ref: tuple[float, ...]) -> None:
    for seed, value in enumerate(nan, start=1):
        _write_run(root, f"nan_s{seed}", seed=seed, final={"valid/ppl": value})
    for seed, value in enumerate(ref, start=1):
        _write_run(
            root,
            f"ref_s{seed}",
            experiment="ptb_small_reference",
            seed=seed,
            final={"valid/ppl": value},
        )


def test_noisy_row_is_compared_to_the_reference_with_welch(tmp_path: Path) -> None:
    # nan 111, 113 and reference 119, 121: diff -8, both variances 2, se = sqrt(2/2 + 2/2) =
    # sqrt(2), Welch df = (1 + 1)^2 / (1/1 + 1/1) = 2, t = -8 / sqrt(2)
    _ptb_pair(tmp_path, (111.0, 113.0), (119.0, 121.0))
    tables.main(tmp_path, tmp_path / "out", echo=None)
    rows = _csv_rows(tmp_path / "out" / "table2_ptb.csv")
    nan, ref = _row(rows, "ptb_small_nan"), _row(rows, "ptb_small_reference")
    se, diff = math.sqrt(2.0), -8.0
    low, high, p = diff - T975_DF2 * se, diff + T975_DF2 * se, _two_sided_p_df2(diff / se)
    assert nan["compared_to"] == "ptb_small_reference" and ref["compared_to"] == ""
    assert float(nan["valid/ppl:diff"]) == pytest.approx(diff, abs=1e-9)
    assert float(nan["valid/ppl:diff_low"]) == pytest.approx(low, abs=1e-8)
    assert float(nan["valid/ppl:diff_high"]) == pytest.approx(high, abs=1e-8)
    assert float(nan["valid/ppl:p"]) == pytest.approx(p, abs=1e-9)
    assert ref["valid/ppl:diff"] == "" and ref["valid/ppl:p"] == ""
    markdown = (tmp_path / "out" / "table2_ptb.md").read_text(encoding="utf-8")
    assert f"| -8.0 [{low:.1f}, {high:.1f}], p = {p:.3f} |" in markdown
    assert "| 120.0 ± 1.4 |" in markdown and "| ref. |" in markdown
    assert "Welch's two-sided t-test" in markdown  # the header says which test


def test_welch_with_unequal_sizes_and_spreads(tmp_path: Path) -> None:
    from scipy import stats

    nan, ref = (110.0, 111.0, 115.0), (118.0, 124.0)
    _ptb_pair(tmp_path, nan, ref)
    tables.main(tmp_path, tmp_path / "out", echo=None)
    row = _row(_csv_rows(tmp_path / "out" / "table2_ptb.csv"), "ptb_small_nan")

    def mean_var(xs: tuple[float, ...]) -> tuple[float, float]:
        m = sum(xs) / len(xs)
        return m, sum((x - m) ** 2 for x in xs) / (len(xs) - 1)

    (ma, va), (mb, vb) = mean_var(nan), mean_var(ref)  # 112, 7 and 121, 18
    qa, qb = va / 3, vb / 2
    df = (qa + qb) ** 2 / (qa**2 / 2 + qb**2 / 1)
    half = stats.t.ppf(0.975, df) * math.sqrt(qa + qb)
    assert float(row["valid/ppl:diff"]) == pytest.approx(ma - mb, abs=1e-9)
    assert float(row["valid/ppl:diff_low"]) == pytest.approx(ma - mb - half, abs=1e-8)
    assert float(row["valid/ppl:diff_high"]) == pytest.approx(ma - mb + half, abs=1e-8)
    # Welch's test on the raw values (scipy), not on the aggregated statistics
    expected_p = stats.ttest_ind(nan, ref, equal_var=False).pvalue
    assert float(row["valid/ppl:p"]) == pytest.approx(expected_p, abs=1e-9)


def test_a_single_run_says_n_1_and_gets_no_interval_or_test(tmp_path: Path) -> None:
    _ptb_pair(tmp_path, (113.0,), (119.0, 121.0))
    tables.main(tmp_path, tmp_path / "out", echo=None)
    markdown = (tmp_path / "out" / "table2_ptb.md").read_text(encoding="utf-8")
    single = "| ptb_small_nan | Noisy LSTM + NAN | – | cpu | 1 | 113.0 (n = 1) | – | 111.7 |"
    assert single in markdown
    assert "-7.0 (n < 2)" in markdown
    assert "± –" not in markdown
    nan = _row(_csv_rows(tmp_path / "out" / "table2_ptb.csv"), "ptb_small_nan")
    assert nan["valid/ppl:n"] == "1" and float(nan["valid/ppl:mean"]) == 113.0
    for part in ("std", "ci_low", "ci_high", "diff_low", "diff_high", "p"):
        assert nan[f"valid/ppl:{part}"] == "", part
    assert float(nan["valid/ppl:diff"]) == pytest.approx(-7.0, abs=1e-9)


def test_n_0_rows_are_missing_and_not_compared(tmp_path: Path) -> None:
    # the reference has no runs (n = 0): the noisy row is not compared; nah has a run without
    # the metric (0 of 1 values)
    _ptb_pair(tmp_path, (111.0, 113.0), ())
    _write_run(tmp_path, "nah", experiment="ptb_small_nah", final={"other": 1.0})
    tables.main(tmp_path, tmp_path / "out", echo=None)
    markdown = (tmp_path / "out" / "table2_ptb.md").read_text(encoding="utf-8")
    missing = "| ptb_small_reference | LSTM (Reference) | – | – | 0 | missing | – | 119.4 | – | – |"
    assert missing in markdown
    no_value = "| ptb_small_nah | Noisy LSTM + NAH | – | cpu | 1 | n/a (0/1) | – | 112.6 | – | – |"
    assert no_value in markdown
    rows = _csv_rows(tmp_path / "out" / "table2_ptb.csv")
    ref, nan = _row(rows, "ptb_small_reference"), _row(rows, "ptb_small_nan")
    assert ref["valid/ppl:n"] == "0" and ref["valid/ppl:mean"] == "" and ref["status"] == "missing"
    assert nan["compared_to"] == "" and nan["valid/ppl:diff"] == "" and nan["valid/ppl:p"] == ""


def test_no_test_when_both_rows_have_zero_spread(tmp_path: Path) -> None:
    _ptb_pair(tmp_path, (59.7, 59.7), (60.0, 60.0))
    tables.main(tmp_path, tmp_path / "out", echo=None)
    markdown = (tmp_path / "out" / "table2_ptb.md").read_text(encoding="utf-8")
    assert "| -0.3 (std 0) |" in markdown
    nan = _row(_csv_rows(tmp_path / "out" / "table2_ptb.csv"), "ptb_small_nan")
    assert nan["valid/ppl:p"] == "" and float(nan["valid/ppl:diff"]) == pytest.approx(-0.3)


def test_sweep_rows_are_compared_only_to_a_reference_with_the_same_overrides(
    tmp_path: Path,
) -> None:
    for seed in (1, 2):
        for experiment, value in (("ptb_small_nan", 110.0), ("ptb_small_reference", 120.0)):
            _write_run(
                tmp_path,
                f"{experiment}_{seed}",
                experiment=experiment,
                seed=seed,
                overrides=("optim.lr=2",),
                final={"valid/ppl": value + seed},
            )
        _write_run(tmp_path, f"c_{seed}", seed=seed, overrides=("act.c=0.5",), final={"x": 1.0})
    tables.main(tmp_path, tmp_path / "out", echo=None)
    rows = {r["overrides"]: r for r in _csv_rows(tmp_path / "out" / "table2_ptb.csv")}
    lr = [
        r
        for r in _csv_rows(tmp_path / "out" / "table2_ptb.csv")
        if r["overrides"] == "optim.lr=2" and r["row"] == "ptb_small_nan"
    ]
    assert lr[0]["compared_to"] == "ptb_small_reference"
    assert float(lr[0]["valid/ppl:diff"]) == pytest.approx(-10.0, abs=1e-9)
    assert rows["act.c=0.5"]["compared_to"] == ""


def test_faithful_rows_get_their_own_table_and_are_compared_with_its_reference(
    tmp_path: Path,
) -> None:
    errors = {"unique_reference": (40.0, 42.0), "unique_f_reference": (30.0, 32.0)}
    errors |= {"unique_f_nan_c0": (20.0, 22.0), "unique_f_scalar_reference": (33.0, 35.0)}
    for experiment, values in errors.items():
        for seed, error in enumerate(values, start=1):
            _write_run(
                tmp_path,
                f"{experiment}-{seed}",
                experiment=experiment,
                task="unique_count",
                seed=seed,
                test={"test/error": error},
            )
    tables.main(tmp_path, tmp_path / "out", echo=None)

    def rows(table: str) -> dict[str, dict[str, str]]:
        found = _csv_rows(tmp_path / "out" / f"{table}.csv")
        return {row["row"]: row for row in found if row["n"] == "2"}

    assert set(rows("table5_unique")) == {"unique_reference"}  # no faithful run leaks in
    assert set(rows("table5_unique_scalar")) == {"unique_f_scalar_reference"}
    faithful = rows("table5_unique_faithful")
    assert set(faithful) == {"unique_f_reference", "unique_f_nan_c0"}
    # the ablation is compared with the faithful reference (31), not the first setup's (41)
    assert float(faithful["unique_f_nan_c0"]["test/error:diff"]) == pytest.approx(-10.0)


def test_a_describe_metric_shows_only_ours_and_is_never_compared(tmp_path: Path) -> None:
    for experiment, length in (("unique_f_reference", 26.0), ("unique_f_curriculum", 14.0)):
        for seed in (1, 2):
            _write_run(
                tmp_path,
                f"{experiment}-{seed}",
                experiment=experiment,
                task="unique_count",
                seed=seed,
                test={"test/error": 30.0 + seed},
                final={"valid/curriculum_len": length + 4 * seed},
            )
    _write_run(  # a row that never records it (no curriculum)
        tmp_path, "nan", experiment="unique_f_nan", task="unique_count", test={"test/error": 1.0}
    )
    tables.main(tmp_path, tmp_path / "out", echo=None)
    (row,) = [
        r
        for r in _csv_rows(tmp_path / "out" / "table5_unique_faithful.csv")
        if r["row"] == "unique_f_curriculum"
    ]
    assert float(row["valid/curriculum_len:mean"]) == pytest.approx(20.0)
    assert row["valid/curriculum_len:diff"] == "" and row["test/error:diff"] != ""
    markdown = (tmp_path / "out" / "table5_unique_faithful.md").read_text(encoding="utf-8")
    header = next(line for line in markdown.splitlines() if line.startswith("| Row"))
    assert "Train length at the end (ours)" in header
    assert "Train length at the end 95% CI" not in header
    assert "Train length at the end Δ" not in header
    line = next(x for x in markdown.splitlines() if x.startswith("| unique_f_curriculum"))
    assert line.count("|") == header.count("|") and "20 ± 3" in line
    column = header.split(" | ").index("Train length at the end (ours)")
    nan_line = next(x for x in markdown.splitlines() if x.startswith("| unique_f_nan "))
    assert nan_line.split(" | ")[column] == "–"  # not "n/a": the row has nothing to say


@pytest.mark.parametrize(
    ("trainer", "expected"),
    [
        ({"max_steps": 12000, "max_epochs": None}, "12,000 steps"),
        ({"max_steps": 50000, "max_epochs": 13}, "50,000 steps"),  # steps win: both are caps
        ({"max_steps": None, "max_epochs": 13}, "13 epochs"),
        ({"max_steps": None, "max_epochs": 1.5}, "1.5 epochs"),
        ({"max_steps": 0, "max_epochs": None}, None),
        ({"max_steps": True, "max_epochs": None}, None),  # JSON true is no budget
        ({}, None),
    ],
)
def test_budget_label_names_the_configured_budget(tmp_path, trainer, expected):
    run = Run(tmp_path, {"config": {"trainer": trainer}}, ())
    assert budget_label(run) == expected
