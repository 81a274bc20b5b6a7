"""The points a learning-curve figure draws, from the run records and the paper tables.

Kept apart from the drawing so that the numbers (a run's curve, the mean over seeds at the x
every seed logged, the interpolation the overlap rule and the ratio panel read) are plain lists,
tested without matplotlib.
"""

from __future__ import annotations

import bisect
from typing import Any

from noisyexp.paper import paper_tables
from noisyexp.reports.figures.specs import CurveFigure
from noisyexp.reports.records import Group, Run

__all__ = [
    "run_curve",
    "mean_curve",
    "interpolate",
    "figure_groups",
    "pick_metric",
    "group_label",
    "paper_table",
    "table_marks",
    "levels_at",
]


def run_curve(run: Run, metric: str, x_key: str) -> tuple[list[float], list[float]]:
    """The ``(x, y)`` points of ``metric`` in a run's ``metrics.jsonl``, sorted by x."""
    points = sorted(
        (float(row[x_key]), float(row[metric]))
        for row in run.metrics
        if _is_number(row.get(x_key)) and _is_number(row.get(metric))
    )
    return [x for x, _ in points], [y for _, y in points]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def mean_curve(curves: list[tuple[list[float], list[float]]]) -> tuple[list[float], list[float]]:
    """The mean over seeds at the x values every seed logged (seeds may stop at different x)."""
    if not curves:
        return [], []
    common = set(curves[0][0]).intersection(*(set(xs) for xs, _ in curves[1:]))
    xs = sorted(common)
    lookups = [dict(zip(cx, cy, strict=True)) for cx, cy in curves]
    return xs, [sum(lookup[x] for lookup in lookups) / len(lookups) for x in xs]


def interpolate(xs: list[float], ys: list[float], x: float) -> float | None:
    """The piecewise-linear curve through ``(xs, ys)`` (xs sorted) at ``x``; None outside it.

    Repeated xs (a digitised curve's vertical jumps) take the last point at that x from the left
    and the first from the right, so the curve is read as drawn.
    """
    if not xs or x < xs[0] or x > xs[-1]:
        return None
    right = bisect.bisect_left(xs, x)
    if xs[right] == x:
        return ys[right]
    left = right - 1
    t = (x - xs[left]) / (xs[right] - xs[left])
    return ys[left] + t * (ys[right] - ys[left])


def figure_groups(spec: CurveFigure, groups: list[Group]) -> list[Group]:
    """The groups with runs that the figure draws (of its ``tasks``, when it names any)."""
    return [g for g in groups if g.runs and (not spec.tasks or g.task in spec.tasks)]


def pick_metric(spec: CurveFigure, groups: list[Group]) -> str | None:
    """The first of the figure's ``metrics`` that some run logged; None when none did."""
    for metric in spec.metrics:
        if any(run_curve(run, metric, spec.x_key)[0] for g in groups for run in g.runs):
            return metric
    return None


def group_label(group: Group) -> str:
    """A row's legend name: its preset, its overrides and its ``[profile]``."""
    extra = " ".join(group.overrides)
    profile = f" [{group.profile}]" if group.profile else ""
    return f"{group.label()}{' ' + extra if extra else ''}{profile}"


def paper_table(table_id: str) -> dict[str, Any]:
    """The paper table ``table_id`` (its rows, reference and metric sources)."""
    return next(t for t in paper_tables() if t["id"] == table_id)


def table_marks(table: dict[str, Any], x_key: str) -> list[float]:
    """The x values at which the table reads a curve (a metric source ``at: {x_key: value}``)."""
    marks = set()
    for metric in table.get("metrics") or ():
        for source in metric.get("sources") or ():
            at = source.get("at") if isinstance(source, dict) else None
            if isinstance(at, dict) and _is_number(at.get(x_key)):
                marks.add(float(at[x_key]))
    return sorted(marks)


def levels_at(spec: CurveFigure, group: Group) -> dict[float, set[tuple[float, ...]]]:
    """x -> the difficulties (``level_keys`` values) the group's runs logged at that x."""
    levels: dict[float, set[tuple[float, ...]]] = {}
    for run in group.runs:
        for row in run.metrics:
            values = [row.get(key) for key in spec.level_keys]
            if _is_number(row.get(spec.x_key)) and all(_is_number(v) for v in values):
                levels.setdefault(float(row[spec.x_key]), set()).add(
                    tuple(float(v) for v in values)
                )
    return levels
