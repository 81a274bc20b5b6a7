"""The README's tables are what the committed run records generate, byte for byte.

``make readme`` runs ``noisyexp tables --results results/paper`` and pastes the tables named in the
Makefile's ``README_TABLES`` between the README's ``<!-- BEGIN results -->`` markers (and the
benchmark tables of ``README_BENCH`` between ``<!-- BEGIN bench -->``); these tests
redo that into a temporary folder and fail when the README differs, when a record under
``results/paper/`` could not be committed (wrong place, or its files missing), or when
``.gitignore`` would let checkpoints, event files or logs in. The table output must not depend on
the machine: the same records under another path give the same bytes.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from noisyexp.reports import tables

ROOT = Path(__file__).resolve().parent.parent
_SPEC = importlib.util.spec_from_file_location("sync_readme", ROOT / "scripts" / "sync_readme.py")
sync_readme = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(sync_readme)
_BENCH_SPEC = importlib.util.spec_from_file_location(
    "bench_table", ROOT / "scripts" / "bench_table.py"
)
bench_table = importlib.util.module_from_spec(_BENCH_SPEC)
_BENCH_SPEC.loader.exec_module(bench_table)

#: what a run directory of ``make paper`` may commit (the rest is ignored by .gitignore)
RECORD_FILES = (
    "summary.json",
    "metrics.jsonl",
    ".hydra/config.yaml",
    ".hydra/overrides.yaml",
    ".hydra/hydra.yaml",
)


def _make_variable(name: str) -> str:
    match = re.search(rf"^{name}\s*:?=\s*(.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert match, f"the Makefile defines no {name}"
    return match.group(1).strip()


def _generated_readme(out: Path) -> str:
    """README.md as ``make readme`` would leave it, built from the records into ``out``."""
    records = ROOT / _make_variable("README_RECORDS")
    tables.main(records, out, echo=None)
    paths = [out / f"{name}.md" for name in _make_variable("README_TABLES").split()]
    body = "\n".join(p.read_text(encoding="utf-8").rstrip("\n") + "\n" for p in paths)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    readme = sync_readme.replace_block(readme, "results", body)
    bench = bench_table.render(ROOT / _make_variable("README_BENCH"))
    return sync_readme.replace_block(readme, "bench", bench)


def test_the_readme_tables_are_generated_from_the_committed_records(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    expected = _generated_readme(tmp_path / "tables")
    if expected != readme:
        diff = "".join(
            difflib.unified_diff(
                readme.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                "README.md",
                "generated from results/paper",
                n=1,
            )
        )
        pytest.fail(
            "README.md's tables differ from what the run records under results/paper/ generate; "
            "run `make readme` (and commit the records it used):\n" + diff[:6000]
        )


def test_every_record_is_in_the_committed_layout_with_its_files() -> None:
    records = ROOT / _make_variable("README_RECORDS")
    for summary in sorted(records.rglob("summary.json")) if records.is_dir() else []:
        relative = summary.relative_to(records)
        # <profile>/<sweep>/<job>/summary.json: anywhere else .gitignore keeps it out of git, so
        # a fresh clone would not have the run the README shows
        assert len(relative.parts) == 4, f"{relative}: not <profile>/<sweep>/<job>/summary.json"
        for name in RECORD_FILES:
            assert (summary.parent / name).is_file(), f"{relative.parent}: {name} missing"


def _ignored(path: str) -> bool:
    result = subprocess.run(
        ["git", "-C", str(ROOT), "check-ignore", "-q", "--no-index", path],
        capture_output=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0


@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout"
)
def test_gitignore_lets_in_the_run_records_and_nothing_else() -> None:
    job = "results/paper/cpu/table2_ptb/experiment=ptb_small_nan,seed=1"
    for name in RECORD_FILES:
        assert not _ignored(f"{job}/{name}"), name
    for name in (
        "checkpoints/last.pt",
        "checkpoints/best.pt",
        "events.out.tfevents.1764000000.host.123.0",
        "train.log",
        "main.log",
        ".hydra/other.yaml",
        "notes.txt",
    ):
        assert _ignored(f"{job}/{name}"), name
    assert _ignored("results/paper/cpu/paper.json")
    assert _ignored("results/paper/cpu/table2_ptb/summary.json")  # not a job directory
    assert _ignored("results/runs/ptb/nan/2026-11-27_19-28-34_841038/summary.json")
    assert not _ignored("results/tables/table2_ptb.md")


def _fabricate(root: Path) -> None:
    """A few run records, one failed and one torn, as ``make paper`` lays them out."""
    runs = [
        ("table2_ptb", "ptb_small_nan", "ptb", 1, "completed", 112.0),
        ("table2_ptb", "ptb_small_nan", "ptb", 2, "completed", 113.5),
        ("table2_ptb", "ptb_small_reference", "ptb", 1, "completed", 120.0),
        ("table2_ptb", "ptb_small_reference", "ptb", 2, "failed", None),
        ("gaussians", "gaussians_nan", "gaussians", 1, "completed", None),
    ]
    for sweep, experiment, task, seed, status, ppl in runs:
        job = root / "paper" / "cpu" / sweep / f"experiment={experiment},seed={seed}"
        (job / ".hydra").mkdir(parents=True)
        summary = {
            "status": status,
            "error": None if status == "completed" else "NaN loss",
            "task": task,
            "experiment": experiment,
            "profile": "cpu",
            "seed": seed,
            "overrides": [f"experiment={experiment}", f"seed={seed}"],
            "config": {"trainer": {"max_steps": 600, "max_epochs": None}},
            "code_version": "git:1a2b3c4",
            "dataset": {"name": task, "checksum": "md5:feed"},
            "device": "cpu",
            "wall_time_s": 12.5,
            "final": {"valid/ppl": ppl} if ppl else {"valid/accuracy": 0.98},
            "test": {"test/ppl": ppl - 4} if ppl else {"test/accuracy": 0.97},
        }
        (job / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
        (job / "metrics.jsonl").write_text('{"step": 600, "train/loss": 5.0}\n', encoding="utf-8")
    torn = root / "paper" / "cpu" / "mnist" / "experiment=mnist_nan,seed=1"
    torn.mkdir(parents=True)
    (torn / "summary.json").write_text('{"status": "compl', encoding="utf-8")


def test_tables_do_not_depend_on_where_the_records_lie(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "elsewhere" / "deeper" / "two"
    _fabricate(first)
    _fabricate(second)
    written_one = tables.main(first, tmp_path / "out1", echo=None)
    written_two = tables.main(second, tmp_path / "out2", echo=None)
    assert [p.name for p in written_one] == [p.name for p in written_two]
    for one, two in zip(written_one, written_two, strict=True):
        text = one.read_text(encoding="utf-8")
        assert one.read_bytes() == two.read_bytes(), one.name
        assert str(tmp_path) not in text and "/tmp" not in text, one.name
    skipped = (tmp_path / "out1" / "skipped.md").read_text(encoding="utf-8")
    assert "paper/cpu/mnist/experiment=mnist_nan,seed=1/summary.json" in skipped
