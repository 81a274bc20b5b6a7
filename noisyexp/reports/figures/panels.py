"""Drawing a learning-curve figure's lines into its panels: ours, the paper's, ratios, a zoom.

Each function draws one kind of line into the axes it is given and returns (or reads) the
:class:`~noisyexp.reports.figures.layout.Line` records that the layout rules then use for the
legend, the log range and the overlap notes.
"""

from __future__ import annotations

from typing import Any

from noisyexp.paper import digitized_curves
from noisyexp.reports.figures.curve_data import (
    group_label,
    interpolate,
    levels_at,
    mean_curve,
    run_curve,
)
from noisyexp.reports.figures.layout import Line, style_axes, window_limits
from noisyexp.reports.figures.specs import CurveFigure
from noisyexp.reports.records import Group

__all__ = ["draw_ours", "draw_paper", "level_text", "draw_ratios", "draw_zoom"]


def draw_ours(
    axes: Any, spec: CurveFigure, groups: list[Group], metric: str, color_of: dict[int, str]
) -> list[Line]:
    """Each group's seeds thin and mean thick: the main metric solid, each ``also`` dotted.

    Only the groups without overrides set a log axis's range, unless every group has overrides.
    """
    plain = any(not group.overrides for group in groups)
    lines = []
    for index, group in enumerate(groups):
        color = color_of[index]
        keys = [(metric, spec.metric_label, "-", True)]
        keys += [(key, text, ":", False) for key, text in spec.also]
        for key, text, style, is_main in keys:
            curves = [run_curve(run, key, spec.x_key) for run in group.runs]
            curves = [curve for curve in curves if curve[0]]
            xs, ys = mean_curve(curves)
            if not xs:
                continue
            if len(curves) > 1:  # each seed thin, the mean thick
                for cx, cy in curves:
                    axes.plot(cx, cy, color=color, linewidth=0.6, alpha=0.35, linestyle=style)
            label = f"{group_label(group)} (n={len(curves)})" + (f": {text}" if text else "")
            (handle,) = axes.plot(xs, ys, color=color, linewidth=2.0, linestyle=style)
            lines.append(
                Line(
                    name=group.label(),
                    label=label,
                    xs=xs,
                    ys=ys,
                    handle=handle,
                    kind="ours",
                    group=group,
                    main_metric=is_main,
                    sets_range=not (plain and group.overrides),
                )
            )
    return lines


def draw_paper(
    axes: Any, spec: CurveFigure, table: dict[str, Any], colors: dict[str, str], spare: list[str]
) -> list[Line]:
    """The digitised paper series of the figure's paper rows, dashed, in the row's colour."""
    series = digitized_curves().get(spec.paper_figure, {})
    spare_colors = iter(spare)
    lines = []
    for row in table["rows"]:
        if row.get("paper_series") not in series:
            continue
        xs, ys = series[row["paper_series"]]
        xs = [x * spec.paper_x_scale + spec.paper_x_shift for x in xs]
        ys = [spec.paper_y(y) for y in ys] if spec.paper_y else list(ys)
        if spec.log_y:  # digitised points at or below zero cannot sit on a log axis
            kept = [(x, y) for x, y in zip(xs, ys, strict=True) if y > 0]
            xs, ys = [x for x, _ in kept], [y for _, y in kept]
        color = colors.get(row["experiment"]) or next(spare_colors)
        (handle,) = axes.plot(xs, ys, linestyle="--", color=color, linewidth=1.2)
        name = f"paper: {row['label']}"
        lines.append(Line(name, name, xs, ys, handle, "paper", row=row))
    return lines


def level_text(spec: CurveFigure, groups: list[Group], ours: list[Line], axes: Any) -> str:
    """Show the difficulty of our points: one line for the title, or a label per change."""
    per_group = {id(group): levels_at(spec, group) for group in groups}
    every = {level for levels in per_group.values() for at in levels.values() for level in at}
    if not every:
        return "difficulty not logged"
    if len(every) == 1:
        return f"{spec.level_format.format(*next(iter(every)))} at every point"
    for line in ours:
        if not line.main_metric or line.group is None:
            continue
        levels, previous = per_group[id(line.group)], None
        for x, y in zip(line.xs, line.ys, strict=True):
            at = levels.get(x, set())
            text = spec.level_format.format(*next(iter(at))) if len(at) == 1 else "seeds differ"
            if not at:
                text = "not logged"
            if text != previous:
                axes.annotate(
                    text,
                    (x, y),
                    xytext=(3, 6),
                    textcoords="offset points",
                    fontsize="x-small",
                    color=line.handle.get_color(),
                )
            previous = text
    return "difficulty marked where it changes"


def draw_ratios(
    axes: Any, spec: CurveFigure, table: dict[str, Any], ours: list[Line], paper: list[Line]
) -> None:
    """Each row ÷ the reference row at the same x: ours by ours (same profile and overrides),
    the paper's by the paper's (its reference series interpolated at the row's points)."""
    reference = table["reference"]
    reference_label = next(
        (row["label"] for row in table["rows"] if row["experiment"] == reference), reference
    )
    denominators = {
        (line.group.profile, line.group.overrides): line
        for line in ours
        if line.main_metric and line.group is not None and line.group.experiment == reference
    }
    for line in ours:
        if not line.main_metric or line.group is None or line.group.experiment == reference:
            continue
        denominator = denominators.get((line.group.profile, line.group.overrides))
        if denominator is None:
            continue
        lookup = dict(zip(denominator.xs, denominator.ys, strict=True))
        points = [
            (x, y / lookup[x]) for x, y in zip(line.xs, line.ys, strict=True) if lookup.get(x)
        ]
        axes.plot(
            [x for x, _ in points],
            [r for _, r in points],
            color=line.handle.get_color(),
            linewidth=2.0,
        )
    paper_reference = next((p for p in paper if p.row and p.row["experiment"] == reference), None)
    for line in paper:
        if paper_reference is None or line is paper_reference:
            continue
        points = []
        for x, y in zip(line.xs, line.ys, strict=True):
            at = interpolate(paper_reference.xs, paper_reference.ys, x)
            if at:
                points.append((x, y / at))
        axes.plot(
            [x for x, _ in points],
            [r for _, r in points],
            color=line.handle.get_color(),
            linestyle="--",
            linewidth=1.2,
        )
    axes.axhline(1.0, color="0.3", linewidth=0.8)
    style_axes(
        axes,
        f"each row ÷ {reference_label} at the same {spec.x_label} (below 1: lower than "
        f"{reference_label}); ours ÷ ours, the paper's ÷ the paper's",
        spec.x_label,
        f"÷ {reference_label}",
    )


def draw_zoom(
    axes: Any,
    spec: CurveFigure,
    table: dict[str, Any],
    groups: list[Group],
    metric: str,
    colors: tuple[dict[int, str], dict[str, str], list[str]],
    ours: list[Line],
    main: Any,
) -> None:
    """The same lines again, over the x span of our runs."""
    low = min(line.xs[0] for line in ours)
    high = max(line.xs[-1] for line in ours)
    draw_ours(axes, spec, groups, metric, colors[0])
    draw_paper(axes, spec, table, colors[1], colors[2])
    pad = 0.02 * (high - low) if high > low else 1.0
    axes.set_xlim(low - pad, high + pad)
    if spec.log_y:
        axes.set_yscale("log")
        axes.set_ylim(*main.get_ylim())
    else:
        limits = window_limits(axes, low - pad, high + pad)
        if limits is not None:
            axes.set_ylim(*limits)
    y_label = main.get_ylabel()
    style_axes(
        axes, f"zoom: {spec.x_label} {low:g}–{high:g}, the span of our runs", spec.x_label, y_label
    )
