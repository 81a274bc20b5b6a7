"""One outcome figure: a panel per metric and profile, a row of dots per table row, a dot a run.

Profiles ran different budgets (Table 5: 12,000 and 50,000 steps), so each has its own column of
panels and x axis. In a panel, each run of a row is a dot (spread over the row's height in seed
order, so equal values stay apart), the median of the runs with a value a bar; a run without a
value (a steps-to-threshold metric it never reached) is counted beside an x at the panel's right
edge; the table's solved threshold, on the metric it is defined on, is a dotted line, and on a
steps axis the end of training is a dashed one; a row with no runs under that profile says "not
run".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from noisyexp.reports.figures.canvas import new_figure, save_png
from noisyexp.reports.figures.curve_data import paper_table
from noisyexp.reports.figures.layout import place_caption, style_axes
from noisyexp.reports.figures.outcome_data import (
    OutcomeRow,
    budget_steps,
    budget_text,
    outcome_rows,
    row_labels,
)
from noisyexp.reports.figures.outcome_specs import OutcomeFigure, outcome_figure_size
from noisyexp.reports.records import Group
from noisyexp.reports.stats import SOLVED_BELOW

__all__ = ["draw_outcomes", "plot_outcomes"]

_SPREAD = 0.28  # a row's dots span this much of the row's height either side of its line


def _offsets(count: int) -> list[float]:
    if count < 2:
        return [0.0] * count
    return [-_SPREAD + 2 * _SPREAD * i / (count - 1) for i in range(count)]


def _x_range(
    rows: list[OutcomeRow], threshold: float | None, budget: int | None
) -> tuple[float, float]:
    values = [v for row in rows for v in row.present]
    values += [x for x in (threshold, budget) if x is not None]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    low = min(low, 0.0)
    return low, high if high > low else low + 1.0


def _draw_panel(
    axes: Any,
    spec: OutcomeFigure,
    rows: list[OutcomeRow],
    threshold: float | None,
    budget: int | None,
    handles: dict[str, Any],
) -> None:
    """One panel; ``budget``: the profile's max_steps on a steps axis (drawn, and the axis
    reaches it), else None."""
    low, high = _x_range(rows, threshold, budget)
    span = high - low
    edge = high + 0.06 * span  # where a run without a value sits
    drawn = {row.experiment for row in rows}
    for index, experiment in enumerate(spec.experiments):
        if experiment not in drawn:
            axes.text(low, index, " not run", va="center", fontsize=7, color="0.5")
    for row in rows:
        y = spec.experiments.index(row.experiment)
        color = f"C{y % 10}"
        for value, offset in zip(row.values, _offsets(len(row.values)), strict=True):
            if value is None:
                continue
            dot = axes.plot(value, y + offset, "o", color=color, ms=4.5, alpha=0.85)[0]
            handles.setdefault("a run (one seed)", dot)
        if row.median is not None:
            bar = axes.plot(row.median, y, "|", color="black", ms=16, mew=1.6)[0]
            handles.setdefault("median of the runs with a value", bar)
        if row.missing and spec.missing_label:
            cross = axes.plot(edge, y, "x", color=color, ms=7, mew=1.6)[0]
            handles.setdefault(f"x: runs {spec.missing_label} (how many beside it)", cross)
            axes.annotate(
                f"{row.missing}/{len(row.values)}",
                (edge, y),
                xytext=(5, -3),
                textcoords="offset points",
                fontsize=7,
                color=color,
            )
    if threshold is not None:
        line = axes.axvline(threshold, color="0.3", linestyle=":", linewidth=1.2)
        handles.setdefault(f"dotted: solved below {threshold:g}", line)
    if budget is not None:
        line = axes.axvline(budget, color="0.3", linestyle="--", linewidth=1.0)
        handles.setdefault("dashed: the end of training (max_steps)", line)
    axes.set_xlim(low - 0.03 * span, high + 0.2 * span)
    axes.set_ylim(len(spec.experiments) - 0.5, -0.5)  # the first row on top


def _caption(spec: OutcomeFigure) -> str:
    parts = [
        "Each dot: one run (seed) of the row, its preset run unchanged under the column's "
        "profile; the rows' dots are spread over their height in seed order. Bar: the median "
        "of the runs with a value.",
    ]
    if spec.missing_label:
        parts.append(
            f"x at the right edge: runs {spec.missing_label}, counted (k of the row's n runs)."
        )
    parts.append("Each profile ran its own budget, in its column's title; one dot is an anecdote.")
    if spec.caption:
        parts.append(spec.caption.strip())
    return " ".join(parts)


def draw_outcomes(spec: OutcomeFigure, groups: list[Group]) -> Any | None:
    """The figure of ``spec`` (a matplotlib Figure on an Agg canvas), or None when no row of
    ``groups`` has runs; :func:`plot_outcomes` writes it."""
    rows = outcome_rows(spec, groups)
    if not rows:
        return None
    table = paper_table(spec.table_id)
    solved = (table.get("solved") or {}).get("metric")
    by_key = {m["key"]: m for m in table.get("metrics") or ()}
    labels = {key: m.get("label", key) for key, m in by_key.items()}
    profiles = sorted({row.profile for row in rows}, key=lambda p: p or "")
    figure = new_figure(outcome_figure_size(spec, len(profiles)))
    panels = figure.subplots(len(spec.metrics), len(profiles), squeeze=False, sharey=True)
    handles: dict[str, Any] = {}
    for i, metric in enumerate(spec.metrics):
        for j, profile in enumerate(profiles):
            axes = panels[i][j]
            mine = [r for r in rows if r.profile == profile and r.metric == metric]
            threshold = SOLVED_BELOW if metric == solved else None
            steps_axis = bool(by_key[metric].get("solved_below"))  # x is a step count
            budget = budget_steps(groups, spec, profile) if steps_axis else None
            _draw_panel(axes, spec, mine, threshold, budget, handles)
            budget = budget_text(groups, spec, profile)
            title = f"profile {profile or '(none)'}" + (f", {budget}" if budget else "")
            style_axes(axes, f"{labels[metric]}: {title}", labels[metric], "")
            axes.grid(True, axis="x", alpha=0.3)
            axes.grid(False, axis="y")
    for row_of_panels in panels:  # shared y: the labels on the first column of each metric
        row_of_panels[0].set_yticks(range(len(spec.experiments)), row_labels(spec), fontsize=8)
    figure.suptitle(spec.title, x=0.01, ha="left")
    place_caption(figure, _caption(spec))
    figure.legend(
        list(handles.values()), list(handles), loc="outside right upper", fontsize="small"
    )
    return figure


def plot_outcomes(spec: OutcomeFigure, groups: list[Group], out_png: Path) -> Path | None:
    """Draw one outcome figure; None (nothing written) when no row has runs."""
    figure = draw_outcomes(spec, groups)
    if figure is None:
        return None
    return save_png(figure, out_png)
