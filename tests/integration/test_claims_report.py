"""``results/claims.md`` and ``results/claims.json`` are what the committed records give.

``make readme`` writes them with :func:`noisyexp.reports.claims.main` from ``results/paper/``
(the Makefile's ``README_RECORDS``); this test redoes that into a temporary folder and fails when
the committed report differs, as ``tests/test_readme_tables.py`` does for the tables.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest

from noisyexp.reports import claims

ROOT = Path(__file__).resolve().parents[2]


def _records() -> Path:
    match = re.search(r"^README_RECORDS\s*:?=\s*(.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert match, "the Makefile defines no README_RECORDS"
    return ROOT / match.group(1).strip()


def test_the_makefile_builds_the_claims_report() -> None:
    recipe = (ROOT / "Makefile").read_text(encoding="utf-8").split("\nreadme:", 1)[1]
    recipe = recipe.split("\n\n", 1)[0]
    assert "noisyexp.reports.claims" in recipe or "noisyexp claims" in recipe


@pytest.mark.parametrize("name", ["claims.md", "claims.json"])
def test_the_committed_claims_report_is_generated_from_the_records(
    tmp_path: Path, name: str
) -> None:
    claims.main(_records(), tmp_path)
    expected = (tmp_path / name).read_text(encoding="utf-8")
    committed = ROOT / "results" / name
    assert committed.is_file(), f"results/{name} is missing; run `make readme`"
    actual = committed.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                actual.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                f"results/{name}",
                "generated from results/paper",
                n=1,
            )
        )
        pytest.fail(
            f"results/{name} differs from what the records give; run `make readme`:\n" + diff[:6000]
        )
