"""One metric of one table row: its numbers (ours, the paper's, the comparison) and their text.

Every number the Markdown and LaTeX tables show is written by these few functions, so "–" for
absent, the sign of a difference, "-0.00" read as 0 and "p < 0.001" are one rule for the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from noisyexp.reports.intervals import Comparison, Stat, aggregate
from noisyexp.reports.records import Group, metric_value

__all__ = [
    "DASH",
    "Cell",
    "metric_cell",
    "fmt",
    "ours_text",
    "interval_text",
    "p_text",
    "compare_text",
    "welch_text",
]


#: the text of a number that is not there (no paper value, no test possible)
DASH = "–"


@dataclass
class Cell:
    """One metric of one row, formatted and raw.

    ``diff``: our mean minus the paper's; ``compare``: this row against the table's reference row
    (None when the row is not compared: the reference itself, sweeps, extra presets).
    """

    stat: Stat
    paper: float | None
    paper_text: str
    diff: float | None
    compare: Comparison | None = None


def metric_cell(group: Group, metric: dict[str, Any]) -> Cell:
    """The row's statistics of ``metric`` over its runs, beside the paper's value of it."""
    stat = aggregate([metric_value(run, metric) for run in group.runs])
    row = group.paper_row
    paper = row["paper"].get(metric["key"]) if row else None
    note = (row.get("paper_note") or {}).get(metric["key"]) if row else None
    decimals = metric.get("decimals", 3)
    paper_text = fmt(paper, decimals) if paper is not None else (note or DASH)
    diff = stat.mean - paper if stat.mean is not None and paper is not None else None
    return Cell(stat, paper, paper_text, diff)


def fmt(value: float | None, decimals: int, sign: bool = False) -> str:
    """``value`` to ``decimals`` places (``sign``: always signed); "–" for None."""
    if value is None:
        return DASH
    text = f"{value:+.{decimals}f}" if sign else f"{value:.{decimals}f}"
    # -0.00 and +0.00 read as a difference where there is none
    return text.lstrip("+-") if float(text) == 0 else text


def ours_text(group: Group, cell: Cell, decimals: int) -> str:
    """``mean ± std``, ``value (n = 1)``, ``missing`` (no runs) or ``n/a (0/k)`` (not recorded)."""
    if not group.runs:
        return "missing"
    stat = cell.stat
    if stat.mean is None:
        return f"n/a (0/{stat.total})" if stat.total else "n/a"
    if stat.n == 1:
        text = f"{fmt(stat.mean, decimals)} (n = 1)"
        return text if stat.total == 1 else f"{fmt(stat.mean, decimals)} (n = 1 of {stat.total})"
    text = f"{fmt(stat.mean, decimals)} ± {fmt(stat.std, decimals)}"
    return text if stat.n == stat.total else f"{text} ({stat.n}/{stat.total})"


def interval_text(low: float | None, high: float | None, decimals: int, sign: bool = False) -> str:
    """``[low, high]``, or "–" when the interval does not exist (n < 2)."""
    if low is None or high is None:
        return DASH
    return f"[{fmt(low, decimals, sign)}, {fmt(high, decimals, sign)}]"


def p_text(p: float) -> str:
    """A p-value as the tables print it: three decimals, or ``p < 0.001``."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def compare_text(group: Group, cell: Cell, decimals: int, reference: str | None) -> str:
    """The Welch column: ``ref.`` on the reference row, ``diff [low, high], p = …`` on the rows
    compared to it (``diff (n < 2)`` or ``diff (std 0)`` when no test is possible), else "–"."""
    if reference is not None and group.experiment == reference and group.runs:
        return "ref." if cell.stat.mean is not None else DASH
    return welch_text(cell.compare, decimals)


def welch_text(comp: Comparison | None, decimals: int) -> str:
    """``diff [low, high], p = …``, ``diff (why)`` when no test is possible, "–" without a diff
    (the tables' Welch column and the claims report's effect column)."""
    if comp is None or comp.diff is None:
        return DASH
    diff = fmt(comp.diff, decimals, sign=True)
    if comp.p is None:
        return f"{diff} ({comp.why})"
    return f"{diff} {interval_text(comp.low, comp.high, decimals, sign=True)}, {p_text(comp.p)}"
