"""A table's rows and columns: per group its cells, the comparison with the reference row and
the solved counts, as the data and as the display text the Markdown and LaTeX tables share.

One place builds a row, so the three formats cannot disagree about which row is compared to which
or what a cell says.
"""

from __future__ import annotations

from typing import Any

from noisyexp.reports.intervals import CONFIDENCE, welch
from noisyexp.reports.records import Group
from noisyexp.reports.stats import SOLVED_BELOW, SolvedCount, fisher_exact, solved_count
from noisyexp.reports.tables.cells import (
    DASH,
    compare_text,
    fmt,
    interval_text,
    metric_cell,
    ours_text,
    p_text,
)

__all__ = ["table_rows", "column_names", "display_row"]


def _reference_group(table: dict[str, Any], group: Group, groups: list[Group]) -> Group | None:
    """The reference preset's group that ``group`` is compared to, or None.

    Only the table's other paper presets are compared, each to the reference preset's runs of the
    same profile and the same overrides (so like is compared with like: a sweep value without a
    reference run at that value is not compared).
    """
    reference = table.get("reference")
    presets = {row["experiment"] for row in table["rows"]}
    if not reference or not group.runs or group.experiment not in presets - {reference}:
        return None
    for other in groups:
        same = (other.profile, other.overrides) == (group.profile, group.overrides)
        if other.experiment == reference and other.runs and same:
            return other
    return None


def table_rows(table: dict[str, Any], groups: list[Group]) -> list[dict[str, Any]]:
    """Rows as plain dicts: display text and raw numbers, shared by the three renderers."""
    rows = []
    for group in groups:
        cells = [metric_cell(group, metric) for metric in table["metrics"]]
        reference = _reference_group(table, group, groups)
        if reference is not None:
            for metric, cell in zip(table["metrics"], cells, strict=True):
                if not metric.get("describe"):
                    cell.compare = welch(cell.stat, metric_cell(reference, metric).stat)
        status = "missing" if not group.runs else ("paper" if group.paper_row else "extra")
        row = {"group": group, "cells": cells, "status": status, "reference": reference}
        if table.get("solved"):
            row["solved"] = _solved(table, group)
            row["fisher"] = None
            if reference is not None:
                mine, theirs = row["solved"], _solved(table, reference)
                if mine.total and theirs.total:
                    row["fisher"] = fisher_exact(
                        mine.solved, mine.total, theirs.solved, theirs.total
                    )
        rows.append(row)
    return rows


def _solved(table: dict[str, Any], group: Group) -> SolvedCount:
    """The row's solved count (its ``solved`` metric below :data:`SOLVED_BELOW`) and steps."""
    spec = table["solved"]
    metric = next(m for m in table["metrics"] if m["key"] == spec["metric"])
    return solved_count(group.runs, metric, below=SOLVED_BELOW, steps_key=spec.get("steps_key"))


def _solved_columns() -> list[str]:
    below = f"{SOLVED_BELOW:g} %"
    return [
        f"Solved k/n (test error < {below})",
        f"Steps to valid error < {below} (median, runs that got there)",
        "Solved vs ref., Fisher p",
    ]


def _solved_cells(group: Group, row: dict[str, Any], reference: str | None) -> list[str]:
    """``k/n``; the median steps to solve with how many runs got there; Fisher's p (or ref.)."""
    count: SolvedCount = row["solved"]
    if not group.runs:
        return [DASH, DASH, DASH]
    solved = f"{count.solved}/{count.total}" if count.total else f"n/a (0/{count.runs})"
    got = f"{len(count.steps)}/{count.runs}"
    steps = f"{fmt(count.steps_median, 0)} ({got})" if count.steps else f"{DASH} ({got})"
    if reference is not None and group.experiment == reference:
        fisher = "ref." if count.total else DASH
    else:
        fisher = DASH if row["fisher"] is None else p_text(row["fisher"])
    return [solved, steps, fisher]


def column_names(table: dict[str, Any]) -> list[str]:
    """The header of the Markdown and LaTeX tables, in :func:`display_row`'s order."""
    names = ["Row", "Paper row", "Overrides", "Profile", "n"]
    level = f"{CONFIDENCE:.0%}"
    for metric in table["metrics"]:
        label = metric["label"]
        names += [f"{label} (ours)"]
        if metric.get("describe"):  # where a run ended, not a result: no statistics columns
            continue
        if table.get("median"):
            names.append(f"{label} median")
        names += [f"{label} {level} CI", f"{label} (paper)", f"{label} Δ paper"]
        if table.get("reference"):
            names.append(f"{label} Δ ref. [{level} CI], Welch p")
        if (table.get("solved") or {}).get("metric") == metric["key"]:
            names += _solved_columns()
    return names


def display_row(table: dict[str, Any], row: dict[str, Any]) -> list[str]:
    """The text of one of :func:`table_rows`' rows, a cell per :func:`column_names` column."""
    group: Group = row["group"]
    cells = [
        group.label(),
        group.paper_row["label"] if group.paper_row else DASH,
        " ".join(group.overrides) or DASH,
        group.profile or DASH,
        str(len(group.runs)),
    ]
    reference = table.get("reference")
    for metric, cell in zip(table["metrics"], row["cells"], strict=True):
        decimals = metric.get("decimals", 3)
        if metric.get("describe"):  # a row without it (no curriculum, no noise): nothing to say
            cells.append(
                DASH if group.runs and cell.stat.mean is None else ours_text(group, cell, decimals)
            )
            continue
        cells.append(ours_text(group, cell, decimals))
        if table.get("median"):
            cells.append(fmt(cell.stat.median, decimals))
        cells += [
            interval_text(cell.stat.ci_low, cell.stat.ci_high, decimals),
            cell.paper_text,
            fmt(cell.diff, decimals, sign=True),
        ]
        if reference:
            cells.append(compare_text(group, cell, decimals, reference))
        if (table.get("solved") or {}).get("metric") == metric["key"]:
            cells += _solved_cells(group, row, reference)
    return cells
