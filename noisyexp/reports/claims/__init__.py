"""The paper's claims against the run records: one verdict per claim and profile, by one rule.

Everything about the claims lives in ``noisyexp/paper/claims.yaml`` (their text, source, table,
rows, metric, direction, test, budget, ablation rows) and the verdict rule (``alpha``, ``min_n``)
with them; this package is generic: it reads the records, compares the rows a claim names and
applies the rule, so a claim is added or changed in the data file only. The metric readers come
from the claim's paper table (``paper/tables/<id>.yaml``), as in the tables, so a claim reads the
number the table shows.

Which runs: a row is an experiment preset run unchanged (no overrides beyond a profile's budget,
as a paper row of the tables) under one profile. A claim is judged under its own ``profile``
(the budget nearest the paper's; "not run" with the command when it has none) and under every
other profile that has records of a compared row, each a line of its own: budgets are not mixed
(``other_profiles: false``: its own profile only, for a metric that means something at one budget).

Tests (:func:`judge`): ``welch``, the difference of means with its 95 % Welch interval and
Welch's two-sided p (:func:`noisyexp.reports.intervals.welch`); ``fisher``, for outcomes that are
solved or not (Table 5, the NTM), the solved counts with Fisher's exact two-sided p
(:func:`noisyexp.reports.stats.fisher_exact`); ``level``, one row's 95 % t-interval against a
threshold. Output (:func:`main`): ``claims.md`` and ``claims.json``, and ``claims_summary.md``
(one row per claim, pasted into the README by ``make readme``), deterministic (no path, no
time), so the committed report can be checked against the records.

The modules, each importing only those listed before it: :mod:`.data` (the claims file, read and
checked), :mod:`.verdicts` (which runs form a row, and the rule), :mod:`.text` (how a number of
the report reads), :mod:`.markdown` (``claims.md``, ``claims_summary.md``) and
:mod:`.json_report` (``claims.json``); :mod:`.coverage` (which sweeps the records hold, and the
command for the rest) stands apart. This front door keeps the names the rest of the package
imports, and :func:`main`.

Layer rule: that of :mod:`noisyexp.reports` (core to paper, never :mod:`noisyexp.cli`).
"""

from __future__ import annotations

from pathlib import Path

from noisyexp.core.atomic import write_text_atomic
from noisyexp.reports.claims.coverage import SweepCoverage, coverage
from noisyexp.reports.claims.data import CLAIMS_FILE, Rule, load_claims
from noisyexp.reports.claims.json_report import render_json
from noisyexp.reports.claims.markdown import render_markdown, render_summary
from noisyexp.reports.claims.verdicts import (
    VERDICTS,
    Judgement,
    evaluate,
    index_runs,
    judge,
    run_command,
)
from noisyexp.reports.records import collect_runs
from noisyexp.reports.tables import paper_records

__all__ = [
    "CLAIMS_FILE",
    "VERDICTS",
    "SweepCoverage",
    "coverage",
    "Rule",
    "Judgement",
    "load_claims",
    "index_runs",
    "judge",
    "run_command",
    "evaluate",
    "render_markdown",
    "render_json",
    "render_summary",
    "main",
]


def main(results_dir: Path, out: Path) -> list[Path]:
    """Judge every claim of ``claims.yaml`` against the records and write the report.

    Args:
        results_dir: a results folder; its ``paper/`` records only, when it has one
            (:func:`noisyexp.reports.tables.paper_records`), else every run under it.
        out: the folder for ``claims.md``, ``claims.json`` and ``claims_summary.md``
            (``results``); created if missing.

    Returns:
        The three paths written.
    """
    rule, claims, not_encoded = load_claims()
    runs, _ = collect_runs(paper_records(Path(results_dir)))
    index = index_runs(runs)
    results = [{"claim": claim, "lines": evaluate(claim, index, rule)} for claim in claims]
    covered = coverage(paper_records(Path(results_dir)))
    out = Path(out)
    return [
        write_text_atomic(out / "claims.md", render_markdown(rule, results, not_encoded, covered)),
        write_text_atomic(out / "claims.json", render_json(rule, results, not_encoded, covered)),
        write_text_atomic(out / "claims_summary.md", render_summary(rule, results)),
    ]
