"""The generated sections of README.md and docs/ are what the committed records give, byte for byte.

``make readme`` runs ``noisyexp tables`` and ``noisyexp claims`` on the committed run records
(the Makefile's ``README_RECORDS``) and ``scripts/bench_table.py`` on the benchmark records
(``README_BENCH``), and pastes the results between the markers that
``scripts/sync_readme.py``'s ``generated_blocks`` names: the claims summary in README.md, one
block per paper table in docs/results.md (the registry's order), the benchmark tables in
docs/speed.md. These tests redo that into a temporary folder and fail when a file differs, when
a document has a block nothing fills or lacks one, when a record under ``results/paper/`` could
not be committed (wrong place, or its files missing), or when ``.gitignore`` would let
checkpoints, event files or logs in. The table output must not depend on the machine: the same
records under another path give the same bytes.
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

from noisyexp.paper import paper_tables
from noisyexp.reports import claims, tables

ROOT = Path(__file__).resolve().parents[2]
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
#: the documents that may hold generated blocks
DOCUMENTS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))


def _make_variable(name: str) -> str:
    match = re.search(rf"^{name}\s*:?=\s*(.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert match, f"the Makefile defines no {name}"
    return match.group(1).strip()


def _readme_recipe() -> str:
    recipe = (ROOT / "Makefile").read_text(encoding="utf-8").split("\nreadme:", 1)[1]
    return recipe.split("\n\n", 1)[0]


def _plan(out: Path) -> dict[Path, dict[str, list[Path]]]:
    """What ``make readme`` pastes where, built from the committed records into ``out``."""
    records = ROOT / _make_variable("README_RECORDS")
    tables.main(records, out / "tables", echo=None)
    claims.main(records, out)
    bench = out / "bench.md"
    bench.write_text(bench_table.render(ROOT / _make_variable("README_BENCH")), encoding="utf-8")
    return sync_readme.generated_blocks(out / "tables", out / "claims_summary.md", bench)


def test_the_generated_sections_are_what_the_committed_records_give(tmp_path: Path) -> None:
    expected = sync_readme.sync(_plan(tmp_path))
    assert {path.name for path in expected} == {"README.md", "results.md", "speed.md"}
    for path, text in expected.items():
        actual = path.read_text(encoding="utf-8")
        if actual != text:
            name = str(path.relative_to(ROOT))
            diff = "".join(
                difflib.unified_diff(
                    actual.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    name,
                    "generated from the records",
                    n=1,
                )
            )
            pytest.fail(
                f"{name}'s generated sections differ from what the committed records give; "
                "run `make readme` (and commit the records it used):\n" + diff[:6000]
            )


def test_every_block_in_the_documents_is_generated_and_in_order(tmp_path: Path) -> None:
    plan = sync_readme.generated_blocks(tmp_path / "t", tmp_path / "c.md", tmp_path / "b.md")
    for document in DOCUMENTS:
        names = sync_readme.block_names(document.read_text(encoding="utf-8"))
        assert names == list(plan.get(document, {})), document.relative_to(ROOT)
    # docs/results.md: one block per paper table of the registry, in its order
    ordered = sorted(paper_tables(), key=lambda table: (table.get("order", 1_000), table["id"]))
    assert list(plan[ROOT / "docs" / "results.md"]) == [table["id"] for table in ordered]
    assert len(ordered) >= 11


def test_make_readme_builds_and_pastes_what_the_tests_check() -> None:
    recipe = _readme_recipe()
    records, bench = _make_variable("README_RECORDS"), _make_variable("README_BENCH")
    assert "noisyexp tables --results $(README_RECORDS) --out results/tables" in recipe
    assert "noisyexp claims --results $(README_RECORDS) --out results" in recipe
    assert "bench_table.py $(README_BENCH) --out $(README_BENCH)/bench.md" in recipe
    assert "sync_readme.py --generated --tables results/tables" in recipe
    assert "--claims results/claims_summary.md --bench $(README_BENCH)/bench.md" in recipe
    assert (ROOT / records).is_dir() and (ROOT / bench / "commands.txt").is_file()


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
    for name in ("claims.md", "claims.json", "claims_summary.md"):  # make readme's outputs
        assert not _ignored(f"results/{name}"), name


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
