"""How a number of the claims report reads: statistics, effects, budgets and verdicts as text.

Shared by ``claims.md`` and ``claims_summary.md``, so the full report and the README's summary say
every number the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from noisyexp.reports.claims.data import paper_value
from noisyexp.reports.claims.verdicts import Judgement
from noisyexp.reports.intervals import Stat
from noisyexp.reports.records import Run, budget_label
from noisyexp.reports.tables.cells import (  # numbers as the tables print them
    DASH,
    fmt,
    p_text,
    welch_text,
)

__all__ = [
    "DASH",
    "fmt",
    "p_text",
    "rows_text",
    "ours_text",
    "effect_text",
    "paper_text",
    "budget_text",
    "verdict_text",
    "cell_text",
]


def _stat_text(stat: Stat, decimals: int) -> str:
    if stat.mean is None:
        return "n/a"
    if stat.n == 1:
        return f"{fmt(stat.mean, decimals)} (n = 1)"
    return f"{fmt(stat.mean, decimals)} ± {fmt(stat.std, decimals)}"


def rows_text(judgement: Judgement) -> str:
    """The compared rows with their n: ``claim_row (n = 3) vs baseline (n = 3)``."""
    parts = []
    for side in judgement.sides:
        stat = side.get("stat")
        n = stat.n if stat is not None else len(side["runs"])
        parts.append(f"{side['experiment']} (n = {n})")
    return " vs ".join(parts)


def ours_text(claim: dict[str, Any], judgement: Judgement, decimals: int) -> str:
    """Our numbers the test reads: means ± std, the medians (Fisher), or one interval (level)."""
    if judgement.verdict == "not run":
        return DASH
    stats = [side["stat"] for side in judgement.sides]
    if claim["test"] == "fisher":
        return "median " + " vs ".join(fmt(stat.median, decimals) for stat in stats)
    if claim["test"] == "level":
        stat = stats[0]
        interval = f" [{fmt(stat.ci_low, decimals)}, {fmt(stat.ci_high, decimals)}]"
        return _stat_text(stat, decimals) + (interval if stat.ci_low is not None else "")
    return " vs ".join(_stat_text(stat, decimals) for stat in stats)


def effect_text(claim: dict[str, Any], judgement: Judgement, decimals: int) -> str:
    """The tested effect: the difference with its interval and p, solved counts, or threshold."""
    if judgement.verdict == "not run" or not judgement.sides or "stat" not in judgement.sides[0]:
        return DASH
    if claim["test"] == "fisher":
        if "solved" not in judgement.sides[0] or judgement.p is None:
            return DASH
        counts = " vs ".join(f"{s['solved']}/{s['stat'].n}" for s in judgement.sides)
        return f"solved {counts}, Fisher {p_text(judgement.p)}"
    if claim["test"] == "level":
        return f"threshold {claim['threshold']:g}"
    return welch_text(judgement.comparison, decimals)


def paper_text(claim: dict[str, Any], decimals: int) -> str:
    """The paper's values of the compared rows and their difference; "–" when one is missing."""
    values = [paper_value(claim, row) for row in claim["rows"]]
    if any(value is None for value in values):
        return DASH
    if len(values) == 1:
        return fmt(values[0], decimals)
    effect = fmt(values[0] - values[1], decimals, sign=True)
    return f"{fmt(values[0], decimals)} vs {fmt(values[1], decimals)} ({effect})"


def budget_text(runs: Iterable[Run]) -> str:
    """The budgets the runs were trained under (steps or epochs), from their configs."""
    budgets = {budget_label(run) or "budget not recorded" for run in runs}
    return ", ".join(sorted(budgets)) if budgets else DASH


def verdict_text(judgement: Judgement) -> str:
    """The verdict with its reason (bold when the rule decided), or the commands that run it."""
    if judgement.verdict == "not run":
        return "not run: " + "; ".join(f"`{command}`" for command in judgement.commands)
    if judgement.verdict in ("reproduced", "refuted"):
        return f"**{judgement.verdict}** ({judgement.reason})"
    return f"{judgement.verdict} ({judgement.reason})"


def cell_text(text: str) -> str:
    """``text`` made safe for one Markdown table cell (no pipe, no line break)."""
    return text.replace("|", "\\|").replace("\n", " ")
