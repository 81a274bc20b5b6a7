"""What a table's header says: the budget, profile, seeds, code and data of its numbers, and
which statistics and tests it shows.

All of it is read from the runs themselves, never typed in, so a table cannot claim a budget or a
code version its runs did not have.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from noisyexp.reports.intervals import CONFIDENCE
from noisyexp.reports.records import Group, Run
from noisyexp.reports.stats import SOLVED_BELOW
from noisyexp.reports.tables.cells import DASH

__all__ = ["statistics_line", "run_budget", "header_lines"]


def statistics_line(table: dict[str, Any]) -> str:
    """The header line that says which statistics and which test the table shows."""
    level = f"{CONFIDENCE:.0%}"
    line = (
        f"Statistics: ours = mean ± sample std over seeds (a single run: its value, n = 1); "
        f"{level} CI = t-interval of the mean; Δ paper = our mean − the paper's"
    )
    reference = table.get("reference")
    if not reference:
        return line + "."
    label = next((r["label"] for r in table["rows"] if r["experiment"] == reference), reference)
    line = (
        f"{line}; Δ ref. = our mean − the mean of the reference row {reference} ({label}) "
        f"under the same profile and overrides, with its {level} Welch interval and the p-value "
        f"of Welch's two-sided t-test (unequal variances, no correction for multiple "
        f"comparisons; needs n ≥ 2 on both sides)."
    )
    if not table.get("solved"):
        return line
    below = f"{SOLVED_BELOW:g} %"
    return (
        f"{line} Solved k/n = runs whose test error is below {below} (runs either solve the "
        f"task or end on the plateau); steps to solve = the first evaluation step whose valid "
        f"error is below {below}, the median over the runs that got there (how many, in "
        f"brackets); Fisher p = two-sided Fisher's exact test of the solved counts against the "
        f"reference row's. Welch's test also needs a non-zero std on both sides: (std 0) marks "
        f"a row whose runs all ended at one value."
    )


def _distinct(values: Iterable[Any]) -> str:
    shown = sorted({str(v) for v in values if v not in (None, "")})
    return ", ".join(shown) if shown else DASH


def run_budget(run: Run) -> str:
    """The run's ``max_steps``/``max_epochs`` as its config recorded them."""
    trainer = (run.summary.get("config") or {}).get("trainer") or {}
    parts = [
        f"{key}={'null' if trainer[key] is None else trainer[key]}"
        for key in ("max_steps", "max_epochs")
        if key in trainer
    ]
    return ", ".join(parts) if parts else "budget not recorded"


def header_lines(groups: list[Group]) -> list[str]:
    """The budget under which our numbers were run, from the runs themselves."""
    runs = [run for group in groups for run in group.runs]
    if not runs:
        return ["Ours: no completed runs yet."]
    budgets: dict[str, set[str]] = {}
    for run in runs:
        budgets.setdefault(run_budget(run), set()).add(run.experiment or f"task={run.task}")
    datasets = {
        f"{(run.summary.get('dataset') or {}).get('name', '?')}:"
        f"{(run.summary.get('dataset') or {}).get('checksum', '?')}"
        for run in runs
    }
    times = [float(t) for run in runs if (t := run.summary.get("wall_time_s")) is not None]
    wall = sum(times)
    spread = f" (a run: {min(times) / 60:.1f}–{max(times) / 60:.1f} min)" if len(times) > 1 else ""
    lines = [f"Budget: {b} ({', '.join(sorted(e))})" for b, e in sorted(budgets.items())]
    lines += [
        f"Profile: {_distinct(run.profile for run in runs)}; "
        f"seeds: {_distinct(run.summary['seed'] for run in runs)}; runs: {len(runs)}; "
        f"total wall time: {wall / 60:.1f} min{spread}",
        f"Code: {_distinct(run.summary.get('code_version') for run in runs)}; "
        f"device: {_distinct(run.summary.get('device') for run in runs)}",
        f"Data: {_distinct(datasets)}",
    ]
    return lines
