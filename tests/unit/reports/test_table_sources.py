"""Which runs the paper tables read: only ``<results>/paper/`` when there is one; every other run
gets tables of its own under ``<out>/runs/``, which never overwrite the paper tables."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from noisyexp.reports import tables


def _run(job: Path, experiment: str, seed: int, ppl: float, profile: str | None = "full") -> None:
    job.mkdir(parents=True)
    summary = {
        "status": "completed",
        "task": "ptb",
        "experiment": experiment,
        "profile": profile,
        "seed": seed,
        "overrides": [f"experiment={experiment}", f"seed={seed}"],
        "config": {"trainer": {"max_steps": None, "max_epochs": 13}},
        "test": {"test/ppl": ppl},
    }
    (job / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (job / "metrics.jsonl").write_text("", encoding="utf-8")


def _checkout(root: Path) -> None:
    """A checkout's results/: three committed seeds, and a user's three reruns of seed 0."""
    for seed, ppl in ((1, 108.0), (2, 109.0), (3, 110.0)):
        job = root / "paper" / "full" / "table2_ptb" / f"experiment=ptb_small_nan,seed={seed}"
        _run(job, "ptb_small_nan", seed, ppl)
    for i, ppl in enumerate((90.0, 91.0, 92.0)):
        _run(root / "runs" / "ptb" / "nan" / f"2026-12-0{i + 1}", "ptb_small_nan", 0, ppl)


def _row(path: Path, name: str) -> dict[str, str]:
    rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
    return next(row for row in rows if row["row"] == name and row["status"] == "paper")


def test_paper_tables_read_only_the_paper_records(tmp_path: Path) -> None:
    results = tmp_path / "results"
    _checkout(results)
    tables.main(results, results / "tables", echo=None)
    nan = _row(results / "tables" / "table2_ptb.csv", "ptb_small_nan")
    assert nan["n"] == "3" and nan["seeds"] == "1,2,3"  # not 6, and no seed 0
    assert float(nan["test/ppl:mean"]) == 109.0
    markdown = (results / "tables" / "table2_ptb.md").read_text(encoding="utf-8")
    assert "seeds: 1, 2, 3; runs: 3" in markdown


def test_the_other_runs_get_their_own_tables_under_runs(tmp_path: Path) -> None:
    results = tmp_path / "results"
    _checkout(results)
    written = tables.main(results, results / "tables", echo=None)
    adhoc = results / "tables" / tables.RUNS_DIR
    assert adhoc / "table2_ptb.md" in written
    nan = _row(adhoc / "table2_ptb.csv", "ptb_small_nan")
    assert nan["n"] == "3" and nan["seeds"] == "0"  # three reruns of one seed, shown as such
    assert float(nan["test/ppl:mean"]) == 91.0
    title = (adhoc / "tables.md").read_text(encoding="utf-8").splitlines()[0]
    assert title == "# Ad-hoc runs: the runs outside paper/"
    # the paper tables are what the records alone give: byte for byte
    alone = tmp_path / "alone"
    tables.main(results / "paper", alone, echo=None)
    for path in alone.iterdir():
        assert path.read_bytes() == (results / "tables" / path.name).read_bytes(), path.name


def test_no_runs_folder_without_runs_outside_paper(tmp_path: Path) -> None:
    results = tmp_path / "results"
    _checkout(results)
    for job in sorted((results / "runs").rglob("summary.json")):
        job.unlink()
    written = tables.main(results, results / "tables", echo=None)
    assert not (results / "tables" / tables.RUNS_DIR).exists()
    assert all(tables.RUNS_DIR not in path.relative_to(results).parts[:2] for path in written)


def test_a_folder_of_plain_runs_is_read_whole(tmp_path: Path) -> None:
    demo = tmp_path / "demo"  # like `make demo`'s results/demo: runs, no paper/
    for seed, ppl in ((1, 100.0), (2, 102.0)):
        _run(demo / "ptb" / f"s{seed}", "ptb_small_nan", seed, ppl, profile=None)
    tables.main(demo, demo / "tables", echo=None)
    rows = csv.DictReader(io.StringIO((demo / "tables" / "table2_ptb.csv").read_text()))
    nan = next(row for row in rows if row["row"] == "ptb_small_nan")
    assert nan["n"] == "2" and float(nan["test/ppl:mean"]) == 101.0
    assert not (demo / "tables" / tables.RUNS_DIR).exists()


def test_paper_records_is_the_paper_folder_when_there_is_one(tmp_path: Path) -> None:
    assert tables.paper_records(tmp_path) == tmp_path
    (tmp_path / "paper").mkdir()
    assert tables.paper_records(tmp_path) == tmp_path / "paper"
    assert tables.paper_records(tmp_path / "paper") == tmp_path / "paper"


def test_echo_says_which_runs_went_where(tmp_path: Path) -> None:
    results = tmp_path / "results"
    _checkout(results)
    lines: list[str] = []
    tables.main(results, results / "tables", echo=lines.append)
    assert lines[0] == "tables: 3 completed run(s) under paper/, 0 skipped"
    assert lines[1].startswith("tables: 3 completed run(s) outside paper/, 0 skipped")
