"""Solved counts, steps to solve, Fisher's exact test, and Welch's test refusing zero spread.

Fisher's p-values are checked against tables worked by hand from the hypergeometric distribution
(and against scipy's independent implementation); the Table 5 columns against hand-chosen runs.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from scipy import stats as scipy_stats

from noisyexp.reports import tables
from noisyexp.reports.intervals import Stat, aggregate, welch
from noisyexp.reports.records import Run
from noisyexp.reports.stats import (
    SOLVED_BELOW,
    fisher_exact,
    is_solved,
    solved_count,
    steps_to_solve,
)

ERROR = {"key": "test/error", "label": "Test error %", "decimals": 2}


def _run(test_error: float | None, valid: list[tuple[int, float]] = ()) -> Run:
    summary: dict[str, Any] = {"status": "completed", "task": "unique_count", "seed": 1}
    if test_error is not None:
        summary["test"] = {"test/error": test_error}
    metrics = tuple({"step": step, "valid/error": error} for step, error in valid)
    return Run(Path("/nowhere"), summary, metrics)


# ----------------------------------------------------------------------------------------------
# Fisher's exact test


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # 3/4 against 1/4 (K = 4 solved of N = 8, rows of 4): C(4,x)C(4,4-x) for x = 0..4 is
        # 1, 16, 36, 16, 1 (sum 70); x = 3 has 16, so p = (1 + 16 + 16 + 1) / 70
        ((3, 4, 1, 4), Fraction(34, 70)),
        # 5/5 against 0/5: only x = 5 and x = 0 are as unlikely (1 each of C(10,5) = 252)
        ((5, 5, 0, 5), Fraction(2, 252)),
        # 4/5 against 0/5 (K = 4): weights C(4,x)C(6,5-x) = 6, 60, 120, 60, 6 for x = 0..4
        ((4, 5, 0, 5), Fraction(12, 252)),
        # 3/3 against 0/3: 1, 9, 9, 1 of C(6,3) = 20
        ((3, 3, 0, 3), Fraction(2, 20)),
        # 1/2 against 5/6 (K = 6, N = 8): x = 0, 1, 2 weigh 1, 12, 15 of C(8,2) = 28; x = 1
        # observed, so p = (1 + 12) / 28
        ((1, 2, 5, 6), Fraction(13, 28)),
        # nothing solved anywhere: one possible table, p = 1
        ((0, 5, 0, 5), Fraction(1)),
        # an empty row: nothing to compare, p = 1
        ((2, 3, 0, 0), Fraction(1)),
    ],
)
def test_fisher_matches_hand_worked_hypergeometric_tables(counts, expected) -> None:
    assert fisher_exact(*counts) == pytest.approx(float(expected), rel=1e-12)


def test_fisher_is_symmetric_in_the_rows_and_in_solved_against_unsolved() -> None:
    for k1, n1, k2, n2 in [(3, 4, 1, 4), (1, 2, 5, 6), (4, 7, 0, 3)]:
        p = fisher_exact(k1, n1, k2, n2)
        assert fisher_exact(k2, n2, k1, n1) == pytest.approx(p, rel=1e-12)
        assert fisher_exact(n1 - k1, n1, n2 - k2, n2) == pytest.approx(p, rel=1e-12)


def test_fisher_agrees_with_scipy_on_every_small_table() -> None:
    for n1, n2 in [(3, 3), (5, 5), (2, 7), (6, 4)]:
        for k1, k2 in itertools.product(range(n1 + 1), range(n2 + 1)):
            table = [[k1, n1 - k1], [k2, n2 - k2]]
            expected = scipy_stats.fisher_exact(table, alternative="two-sided").pvalue
            assert fisher_exact(k1, n1, k2, n2) == pytest.approx(expected, rel=1e-9), table


@pytest.mark.parametrize("counts", [(4, 3, 0, 3), (-1, 3, 0, 3), (1.0, 3, 0, 3), (True, 3, 0, 3)])
def test_fisher_refuses_counts_that_are_not_k_of_n(counts) -> None:
    with pytest.raises(ValueError, match="fisher_exact"):
        fisher_exact(*counts)


# ----------------------------------------------------------------------------------------------
# solved counts and steps to solve


def test_a_run_is_solved_below_the_threshold_only() -> None:
    assert SOLVED_BELOW == 5.0
    assert is_solved(4.99) is True
    assert is_solved(5.0) is False  # "below": the threshold itself is not solved
    assert is_solved(59.7) is False
    assert is_solved(None) is None


def test_steps_to_solve_is_the_first_evaluation_below_the_threshold() -> None:
    run = _run(0.2, [(500, 100.0), (1000, 7.0), (1500, 4.9), (2000, 8.0), (2500, 0.1)])
    assert steps_to_solve(run) == 1500.0  # the first one, even though it rose again after
    assert steps_to_solve(_run(59.7, [(500, 59.7), (1000, 60.0)])) is None
    assert steps_to_solve(_run(0.0)) is None  # no curve logged


def test_solved_count_over_a_row_with_runs_that_never_solve() -> None:
    runs = [
        _run(0.1, [(500, 50.0), (1000, 3.0)]),
        _run(0.3, [(500, 4.0)]),
        _run(2.0, [(500, 40.0), (1000, 20.0), (1500, 4.5)]),
        _run(59.7, [(500, 59.7)]),
        _run(None, [(500, 59.7)]),  # the metric not recorded: not in n
    ]
    count = solved_count(runs, ERROR)
    assert (count.solved, count.total, count.runs) == (3, 4, 5)
    assert count.steps == (500.0, 1000.0, 1500.0)
    assert count.steps_median == 1000.0
    nobody = solved_count([_run(59.7, [(500, 59.7)])] * 2, ERROR)
    assert (nobody.solved, nobody.total, nobody.steps, nobody.steps_median) == (0, 2, (), None)
    even = solved_count([_run(0.0, [(500, 1.0)]), _run(0.0, [(2000, 1.0)])], ERROR)
    assert even.steps_median == 1250.0  # the median of an even count: the mean of the middle two


# ----------------------------------------------------------------------------------------------
# Welch's test and zero spread


def _stat(*values: float) -> Stat:
    return aggregate(list(values))


def test_welch_gives_no_p_when_one_row_has_zero_spread() -> None:
    plateau, spread = _stat(59.7, 59.7, 59.7, 59.7, 59.7), _stat(31.0, 42.2, 58.0, 50.0, 43.7)
    for a, b in [(plateau, spread), (spread, plateau)]:
        comparison = welch(a, b)
        assert comparison.p is None and comparison.low is None and comparison.high is None
        assert comparison.why == "std 0"
        assert comparison.diff == pytest.approx(a.mean - b.mean)


def test_welch_gives_no_p_when_both_rows_have_zero_spread() -> None:
    comparison = welch(_stat(96.4, 96.4, 96.4), _stat(59.7, 59.7, 59.7))
    assert (comparison.p, comparison.why) == (None, "std 0")
    assert comparison.diff == pytest.approx(36.7)


def test_float_noise_of_identical_outcomes_counts_as_zero_spread() -> None:
    noisy = _stat(59.7, 59.699999999999996, 59.7)
    assert noisy.std > 0  # rounding, not a spread of outcomes
    assert welch(noisy, _stat(10.0, 20.0, 30.0)).why == "std 0"


def test_welch_still_tests_rows_with_a_small_real_spread() -> None:
    a, b = _stat(0.0009, 0.00091, 0.00089), _stat(0.0060, 0.0062, 0.0058)
    comparison = welch(a, b)
    expected = scipy_stats.ttest_ind(
        [0.0009, 0.00091, 0.00089], [0.0060, 0.0062, 0.0058], equal_var=False
    ).pvalue
    assert comparison.p == pytest.approx(expected, rel=1e-9)


# ----------------------------------------------------------------------------------------------
# the Table 5 columns


def _write(root: Path, experiment: str, seed: int, error: float, curve: list[tuple[int, float]]):
    job = root / "paper" / "full" / "table5_unique_faithful" / f"experiment={experiment},{seed=}"
    job.mkdir(parents=True)
    summary = {
        "status": "completed",
        "task": "unique_count",
        "experiment": experiment,
        "profile": "full",
        "seed": seed,
        "overrides": [f"experiment={experiment}", f"seed={seed}"],
        "config": {"trainer": {"max_steps": 12000, "max_epochs": None}},
        "test": {"test/error": error},
    }
    (job / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    rows = [json.dumps({"step": step, "valid/error": value}) for step, value in curve]
    (job / "metrics.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")


def _table5(tmp_path: Path) -> Path:
    """Reference: all three on the plateau; NAN: three solved, at 1000, 1500 and 3000 steps;
    the NANIL row: 1 of 3 solved; the softplus row: all three at 59.7 (zero spread)."""
    for seed, (error, solved_at) in enumerate([(0.2, 1000), (0.0, 1500), (0.4, 3000)], 1):
        curve = [(500, 59.7), (solved_at, 3.0), (12000, error)]
        _write(tmp_path, "unique_f_nan", seed, error, curve)
    for seed, error in enumerate([40.0, 59.7, 50.1], 1):
        _write(tmp_path, "unique_f_reference", seed, error, [(500, 59.7), (12000, error)])
    for seed, error in enumerate([0.5, 59.7, 55.0], 1):
        curve = [(500, 59.7), (4000 if error < 5 else 12000, error)]
        _write(tmp_path, "unique_f_nanil_annealed", seed, error, curve)
    for seed in (1, 2, 3):
        _write(tmp_path, "unique_f_nanil_softplus_annealed", seed, 59.7, [(12000, 59.7)])
    out = tmp_path / "tables"
    tables.main(tmp_path, out, echo=None)
    return out


def _markdown_rows(path: Path) -> dict[str, dict[str, str]]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = dict(
            zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True)
        )
        rows[cells["Row"]] = cells
    return rows


def test_table5_shows_solved_counts_steps_and_fisher_against_the_reference(tmp_path: Path) -> None:
    rows = _markdown_rows(_table5(tmp_path) / "table5_unique_faithful.md")
    solved, steps = (
        "Solved k/n (test error < 5 %)",
        next(k for k in rows["unique_f_nan"] if "Steps" in k),
    )
    fisher = "Solved vs ref., Fisher p"
    assert rows["unique_f_reference"][solved] == "0/3"
    assert rows["unique_f_reference"][steps] == "– (0/3)"
    assert rows["unique_f_reference"][fisher] == "ref."
    assert rows["unique_f_nan"][solved] == "3/3"
    assert rows["unique_f_nan"][steps] == "1500 (3/3)"  # the median of 1000, 1500, 3000
    assert rows["unique_f_nan"][fisher] == "p = 0.100"  # 3/3 against 0/3: 2 of C(6,3) = 20
    assert rows["unique_f_nanil_annealed"][solved] == "1/3"
    assert rows["unique_f_nanil_annealed"][steps] == "4000 (1/3)"
    assert rows["unique_f_nanil_annealed"][fisher] == "p = 1.000"
    assert rows["unique_f_nan_c0"][solved] == "–"  # no runs: missing, nothing to count
    # the plateau row: Welch refuses (std 0) and says so, the counts still compare
    welch_column = next(k for k in rows["unique_f_nan"] if "Welch p" in k)
    assert rows["unique_f_nanil_softplus_annealed"][welch_column].endswith("(std 0)")
    assert "nan" not in rows["unique_f_nanil_softplus_annealed"][welch_column]
    assert rows["unique_f_nanil_softplus_annealed"][fisher] == "p = 1.000"


def test_table5_csv_has_the_raw_solved_numbers(tmp_path: Path) -> None:
    out = _table5(tmp_path)
    text = (out / "table5_unique_faithful.csv").read_text(encoding="utf-8")
    rows = {row["row"]: row for row in csv.DictReader(io.StringIO(text))}
    nan = rows["unique_f_nan"]
    assert (nan["solved:k"], nan["solved:n"], nan["solved:steps_n"]) == ("3", "3", "3")
    assert float(nan["solved:steps_median"]) == 1500.0
    assert float(nan["solved:fisher_p"]) == pytest.approx(0.1)
    assert rows["unique_f_reference"]["solved:fisher_p"] == ""  # the reference itself
    softplus = rows["unique_f_nanil_softplus_annealed"]
    assert softplus["test/error:p"] == ""  # std 0: no Welch p, not a nan


def test_only_tables_that_ask_for_them_get_the_solved_columns(tmp_path: Path) -> None:
    out = _table5(tmp_path)
    for name in ("table2_ptb", "mnist", "ntm_recall", "table1_lte"):
        assert "Solved" not in (out / f"{name}.md").read_text(encoding="utf-8"), name
        assert "solved:" not in (out / f"{name}.csv").read_text(encoding="utf-8"), name
    for name in ("table5_unique", "table5_unique_faithful", "table5_unique_scalar"):
        assert "Solved k/n" in (out / f"{name}.md").read_text(encoding="utf-8"), name
        assert "Fisher" in (out / f"{name}.tex").read_text(encoding="utf-8"), name
