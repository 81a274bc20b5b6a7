"""One learning-curve figure: its panels, lines, axis ranges, table marks, legend and caption.

:func:`draw_curves` puts the pieces of :mod:`.panels` and :mod:`.layout` together in the one
order the rules need: the log ranges before the overlap notes (which measure distance on the
axis), the table's vertical marks after the ranges, the caption before the legend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from noisyexp.reports.figures.canvas import new_figure, save_png
from noisyexp.reports.figures.curve_data import (
    figure_groups,
    paper_table,
    pick_metric,
    table_marks,
)
from noisyexp.reports.figures.layout import (
    Line,
    caption_text,
    legend_text,
    log_limits,
    note_clipped,
    note_overlaps,
    panel_axes,
    place_caption,
    style_axes,
)
from noisyexp.reports.figures.panels import (
    draw_ours,
    draw_paper,
    draw_ratios,
    draw_zoom,
    level_text,
)
from noisyexp.reports.figures.specs import CurveFigure, figure_size
from noisyexp.reports.records import Group

__all__ = ["draw_curves", "plot_curves"]


def draw_curves(spec: CurveFigure, groups: list[Group]) -> Any | None:
    """The figure of ``spec`` (a matplotlib Figure on an Agg canvas), or None when no run of
    ``groups`` logged its metric; :func:`plot_curves` writes it."""
    groups = figure_groups(spec, groups)
    metric = pick_metric(spec, groups)
    if metric is None:
        return None
    table = paper_table(spec.table_id)
    figure = new_figure(figure_size(spec))
    main, lower, paper_axes = panel_axes(figure, spec)
    palette = [f"C{i % 10}" for i in range(len(groups) + 10)]
    color_of = dict(enumerate(palette[: len(groups)]))
    row_colors: dict[str, str] = {}
    for index, group in enumerate(groups):
        row_colors.setdefault(group.label(), color_of[index])
    spare = palette[len(groups) :]
    ours = draw_ours(main, spec, groups, metric, color_of)
    paper = draw_paper(
        paper_axes if paper_axes is not None else main, spec, table, row_colors, spare
    )
    y_label = spec.y_label or metric + (" (log scale)" if spec.log_y else "")

    title = spec.title
    if spec.separate_paper:
        figure.suptitle(spec.title, x=0.01, ha="left")  # left: clear of the legend column
        title = spec.ours_title or "ours"
    if spec.level_keys:
        title += f"\n{level_text(spec, groups, ours, main)}"
    style_axes(main, title, spec.x_label, y_label)

    panels: list[tuple[Any, list[Line]]] = [
        (main, ours if paper_axes is not None else ours + paper)
    ]
    if paper_axes is not None:
        style_axes(paper_axes, spec.paper_title or "the paper (digitised)", spec.x_label, y_label)
        if not paper:
            paper_axes.text(
                0.5, 0.5, "no digitised curve", ha="center", transform=paper_axes.transAxes
            )
        panels.append((paper_axes, paper))
    for axes, lines in panels:
        if spec.log_y:
            axes.set_yscale("log")
            limits = log_limits(lines)
            if limits is not None:
                axes.set_ylim(*limits)
                note_clipped(lines, *limits)
        if lines:
            note_overlaps(lines, axes)

    if spec.ratio_to_reference and lower is not None:
        draw_ratios(lower, spec, table, ours, paper)
    elif spec.zoom_to_ours and lower is not None:
        draw_zoom(lower, spec, table, groups, metric, (color_of, row_colors, spare), ours, main)
    marks = table_marks(table, spec.x_key)
    mark_handle = None
    for x in marks:  # after the panels' ranges are set: a vertical line has no y data
        for axes in (main, lower):
            if axes is not None:
                mark_handle = axes.axvline(x, color="0.4", linestyle=":", linewidth=1.0)

    legend_lines = ours + paper
    handles = [line.handle for line in legend_lines]
    labels = [legend_text(line) for line in legend_lines]
    if mark_handle is not None:
        handles.append(mark_handle)
        labels.append(f"{spec.x_label} {', '.join(f'{m:g}' for m in marks)}: read by the table")
    place_caption(figure, caption_text(spec, table))
    figure.legend(handles, labels, loc="outside right upper", fontsize="small")
    return figure


def plot_curves(spec: CurveFigure, groups: list[Group], out_png: Path) -> Path | None:
    """Draw one learning-curve figure; None (nothing written) when no run logged its metric."""
    figure = draw_curves(spec, groups)
    if figure is None:
        return None
    return save_png(figure, out_png)
