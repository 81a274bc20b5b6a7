"""The outcome figure (Table 5: every run's test error and steps to solve) from fabricated runs:
each run's value read as the table reads it, runs that never got there counted, rows that did not
run said so, the solved threshold drawn, and malformed declarations refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _png import png_size

from noisyexp.core.errors import ConfigError
from noisyexp.paper import paper_tables
from noisyexp.reports import figures
from noisyexp.reports.figures import outcome_specs
from noisyexp.reports.figures.outcome_data import budget_steps, budget_text
from noisyexp.reports.records import collect_runs, group_runs

pytest.importorskip("matplotlib")


def _write(
    root: Path,
    experiment: str,
    seed: int,
    test_error: float,
    solved_at: int | None,
    *,
    profile: str = "full",
    max_steps: int = 12000,
    overrides: tuple[str, ...] = (),
) -> None:
    """A Table 5 run: valid error 59.7 until ``solved_at`` (None: never), 0.2 from there."""
    run_dir = root / profile / "_".join([experiment, *overrides, str(seed)])
    run_dir.mkdir(parents=True)
    summary = {
        "schema": 1,
        "status": "completed",
        "task": "unique_count",
        "experiment": experiment,
        "profile": profile,
        "seed": seed,
        "overrides": [f"experiment={experiment}", f"seed={seed}", *overrides],
        "config": {"trainer": {"max_steps": max_steps, "max_epochs": None}},
        "test": {"test/error": test_error},
    }
    (run_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    curve = [
        {"step": step, "valid/error": 0.2 if solved_at is not None and step >= solved_at else 59.7}
        for step in range(1000, max_steps + 1, 1000)
    ]
    lines = "".join(json.dumps(row) + "\n" for row in curve)
    (run_dir / "metrics.jsonl").write_text(lines, encoding="utf-8")


def _runs(root: Path) -> Path:
    """full: NAN 3 seeds solved; the reference split (1 solved, 2 on the plateau), written out of
    seed order; a changed-lr NAN run (not a seed of the row); long: the reference, 2 seeds."""
    for seed, step in ((1, 7000), (2, 8000), (3, 9000)):
        _write(root, "unique_f_nan", seed, 0.1 * seed, step)
    _write(root, "unique_f_reference", 3, 59.7, None)
    _write(root, "unique_f_reference", 1, 1.5, 11000)
    _write(root, "unique_f_reference", 2, 45.0, None)
    _write(root, "unique_f_nan", 1, 59.7, None, overrides=("optim.lr=0.1",))
    for seed, step in ((1, 21000), (2, 19000)):
        _write(root, "unique_f_reference", seed, 0.0, step, profile="long", max_steps=50000)
    return root


def _groups(root: Path) -> list:
    runs, _ = collect_runs(root)
    grouped, _ = group_runs(runs, paper_tables())
    return grouped["table5_unique_faithful"]


def _spec() -> figures.OutcomeFigure:
    (spec,) = [s for s in figures.outcome_figures() if s.name == "unique_f_outcomes"]
    return spec


def test_the_table5_declaration_draws_test_error_and_steps_to_solve() -> None:
    spec = _spec()
    assert spec.table_id == "table5_unique_faithful"
    assert spec.metrics == ("test/error", "valid/error_solved_step")
    assert spec.experiments[0] == "unique_f_reference" and spec.missing_label


def test_rows_hold_each_runs_value_in_seed_order_and_count_the_missing(tmp_path: Path) -> None:
    rows = figures.outcome_rows(_spec(), _groups(_runs(tmp_path)))
    got = [(r.profile, r.experiment, r.metric, r.values) for r in rows]
    assert got == [
        ("full", "unique_f_reference", "test/error", (1.5, 45.0, 59.7)),
        ("full", "unique_f_reference", "valid/error_solved_step", (11000.0, None, None)),
        ("full", "unique_f_nan", "test/error", (0.1, 0.2, pytest.approx(0.3))),
        ("full", "unique_f_nan", "valid/error_solved_step", (7000.0, 8000.0, 9000.0)),
        ("long", "unique_f_reference", "test/error", (0.0, 0.0)),
        ("long", "unique_f_reference", "valid/error_solved_step", (21000.0, 19000.0)),
    ]  # the changed-lr run is no seed of NAN's row
    steps = rows[1]
    assert steps.missing == 2 and steps.present == [11000.0] and steps.median == 11000.0
    assert rows[0].median == 45.0 and rows[5].median == 20000.0


def test_the_budget_is_read_from_the_runs_configs(tmp_path: Path) -> None:
    groups = _groups(_runs(tmp_path))
    assert budget_text(groups, _spec(), "full") == "12,000 steps"
    assert budget_text(groups, _spec(), "long") == "50,000 steps"
    assert budget_steps(groups, _spec(), "long") == 50000
    _write(tmp_path, "unique_f_nan", 9, 0.0, 1000, max_steps=3000)
    assert budget_text(_groups(tmp_path), _spec(), "full") == ""  # two budgets: not one to name
    assert budget_steps(_groups(tmp_path), _spec(), "full") is None


def test_the_figure_has_a_panel_per_metric_and_profile_with_every_run(tmp_path: Path) -> None:
    spec = _spec()
    figure = figures.draw_outcomes(spec, _groups(_runs(tmp_path)))
    error_full, error_long, steps_full, steps_long = figure.axes
    assert error_full.get_title() == "Test error %: profile full, 12,000 steps"
    assert steps_long.get_title().endswith("profile long, 50,000 steps")
    dots = [line for line in steps_full.get_lines() if line.get_marker() == "o"]
    assert sorted(float(line.get_xdata()[0]) for line in dots) == [7000, 8000, 9000, 11000]
    crosses = [line for line in steps_full.get_lines() if line.get_marker() == "x"]
    assert len(crosses) == 1  # the reference's two runs that never got there, one mark
    assert crosses[0].get_xdata()[0] > 11000  # right of every value
    assert "2/3" in [t.get_text() for t in steps_full.texts]
    threshold = [line for line in error_full.get_lines() if line.get_linestyle() == ":"]
    assert [list(line.get_xdata()) for line in threshold] == [[5.0, 5.0]]
    assert not [line for line in steps_full.get_lines() if line.get_linestyle() == ":"]
    # on a steps axis the end of training is dashed, at each profile's max_steps
    for axes, budget in ((steps_full, 12000), (steps_long, 50000)):
        dashed = [line for line in axes.get_lines() if line.get_linestyle() == "--"]
        assert [list(line.get_xdata()) for line in dashed] == [[budget, budget]]
        assert axes.get_xlim()[1] > budget
    assert not [line for line in error_full.get_lines() if line.get_linestyle() == "--"]
    assert crosses[0].get_xdata()[0] > 12000  # past the end of training: never got there
    not_run = [t for t in error_long.texts if t.get_text().strip() == "not run"]
    assert len(not_run) == len(spec.experiments) - 1  # only the reference ran long
    labels = [t.get_text() for t in error_full.get_yticklabels()]
    assert labels[0] == "LSTM+MLP (Reference)" and len(labels) == len(spec.experiments)
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert f"x: runs {spec.missing_label} (how many beside it)" in legend


def test_main_writes_the_outcome_figure_at_its_size(tmp_path: Path) -> None:
    written = figures.main(_runs(tmp_path / "runs"), tmp_path / "fig", echo=None)
    (path,) = [p for p in written if p.name == "unique_f_outcomes.png"]
    width, height = figures.outcome_figure_size(_spec(), 2)
    assert png_size(path) == (int(width * figures.DPI), int(height * figures.DPI))


def test_no_runs_means_no_figure(tmp_path: Path) -> None:
    _write(tmp_path, "unique_f_nan", 1, 0.0, 1000, overrides=("optim.lr=0.1",))
    lines: list[str] = []
    figures.main(tmp_path, tmp_path / "fig", echo=lines.append)
    assert not (tmp_path / "fig" / "unique_f_outcomes.png").exists()
    assert "figures: skipped unique_f_outcomes.png: no completed runs for it" in lines


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"legend_loc": "best"}, "unknown key"),
        ({"metrics": ["valid/bpc"]}, "not the table's"),
        ({"metrics": "test/error"}, "non-empty list"),
        ({"experiments": []}, "non-empty list"),
        ({"experiments": ["mnist_nan"]}, "not rows of the table"),
        ({"missing_label": 5}, "missing_label is a string"),
        ({"name": ""}, "no other figure"),
        ({"title": None}, "title"),
    ],
)
def test_bad_outcome_figure_declarations_are_config_errors(
    monkeypatch: pytest.MonkeyPatch, change: dict, message: str
) -> None:
    table = next(t for t in paper_tables() if t["id"] == "table5_unique_faithful")
    entry = {**table["outcome_figures"][0], **change}
    table["outcome_figures"] = [{k: v for k, v in entry.items() if v is not None}]
    monkeypatch.setattr(outcome_specs, "paper_tables", lambda: [table])
    with pytest.raises(
        ConfigError, match=rf"table table5_unique_faithful, outcome figure .*{message}"
    ):
        figures.outcome_figures()
