"""One sweep figure: a panel per profile, each metric against x, the reference row dashed.

Profiles ran different budgets (``cpu``: a few hundred steps, ``full``: the paper's 13 epochs),
so each has its own panel and y axis. In a panel, each metric is a line through the points whose
config set x on every unit (the mean over seeds, bars from min to max, ``n`` = seeds beside each
marker); a point whose units ran at different values (the preset's unit defaults) is an open
marker off the line; the reference row's mean is a dashed horizontal line in the metric's colour.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from noisyexp.reports.figures.canvas import new_figure, save_png
from noisyexp.reports.figures.curve_data import paper_table
from noisyexp.reports.figures.layout import place_caption, style_axes
from noisyexp.reports.figures.sweep_data import Spread, SweepPoint, references, sweep_points
from noisyexp.reports.figures.sweep_specs import SweepFigure, sweep_figure_size
from noisyexp.reports.records import Group

__all__ = ["draw_sweep", "plot_sweep", "seeds_text"]

_N_OFFSETS = ((5, 6), (5, -12))  # points right of and above / below a marker, per metric


def _labels(spec: SweepFigure) -> dict[str, str]:
    table = paper_table(spec.table_id)
    return {m["key"]: m.get("label", m["key"]) for m in table.get("metrics") or ()}


def _reference_label(spec: SweepFigure) -> str:
    """The reference row's label (its preset when it has none), or "" without one."""
    table = paper_table(spec.table_id)
    reference = table.get("reference") or ""
    return next((r["label"] for r in table["rows"] if r["experiment"] == reference), reference)


def _errorbar(axes: Any, points: list[tuple[float, Spread]], **style: Any) -> Any:
    xs = [x for x, _ in points]
    means = [s.mean for _, s in points]
    bars = [[s.mean - s.low for _, s in points], [s.high - s.mean for _, s in points]]
    return axes.errorbar(xs, means, yerr=bars, capsize=3, linewidth=1.5, **style)


def _draw_panel(
    axes: Any,
    spec: SweepFigure,
    points: list[SweepPoint],
    reference: dict[str, Spread],
    handles: dict[str, Any],
) -> None:
    """The points and reference lines of one profile; first handles of each kind kept."""
    labels = _labels(spec)
    for index, metric in enumerate(spec.metrics):
        color = f"C{index % 10}"
        line = [(p.x, p.values[metric]) for p in points if not p.setting and metric in p.values]
        apart = [(p, p.values[metric]) for p in points if p.setting and metric in p.values]
        if line:
            drawn = _errorbar(axes, line, fmt="o-", color=color)
            handles.setdefault(f"{labels[metric]}: mean over seeds, bars min–max", drawn)
        for point, value in apart:
            drawn = _errorbar(axes, [(point.x, value)], fmt="s", color=color, mfc="none")
            label = f"{labels[metric]}, {spec.x_key} unset: {point.setting}"
            handles.setdefault(label, drawn)
        for x, value in line + [(p.x, v) for p, v in apart]:
            axes.annotate(
                f"n={value.n}",
                (x, value.mean),
                xytext=_N_OFFSETS[index % 2],
                textcoords="offset points",
                fontsize=7,
                color=color,
            )
        if metric in reference:
            ref = reference[metric]
            drawn = axes.axhline(ref.mean, color=color, linestyle="--", linewidth=1.2)
            handles.setdefault(f"{labels[metric]}: {_reference_label(spec)}, mean", drawn)
            axes.annotate(
                f"ref. {ref.mean:.1f} (n={ref.n})",
                (1.0, ref.mean),
                xycoords=("axes fraction", "data"),
                xytext=(-3, 3),
                textcoords="offset points",
                ha="right",
                fontsize=7,
                color=color,
            )
    xs = sorted({p.x for p in points})
    axes.margins(x=0.1)  # room for the n beside the outer markers
    axes.set_xticks(xs, [f"{x:g}" for x in xs])


def seeds_text(points: list[SweepPoint]) -> str:
    """How many seeds the points have, per profile (``full: 3 seeds a point``)."""
    parts = []
    for profile in sorted({p.profile or "" for p in points}):
        counts = sorted(
            {s.n for p in points if (p.profile or "") == profile for s in p.values.values()}
        )
        many = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
        parts.append(
            f"{profile or 'no profile'}: {many} seed{'s' if counts[-1] > 1 else ''} a point"
        )
    return "; ".join(parts)


def _caption(spec: SweepFigure, points: list[SweepPoint]) -> str:
    reference = _reference_label(spec)
    parts = [
        f"Each marker: one row of {', '.join(spec.experiments)} (a sweep of {spec.x_key} gives one"
        f" row per value), at the {spec.x_key} of its runs' resolved config; the mean over its"
        " seeds, bars from min to max, n = seeds at that point (n = 1: a single run, no spread: an"
        " anecdote, not a measurement).",
        f"Seeds: {seeds_text(points)}.",
    ]
    if any(p.setting for p in points):
        parts.append(
            f"Open squares: {spec.x_key} left unset, each unit at its own value (the gates'"
            " differs), off the line through the rows that set it on every unit."
        )
    if reference:
        parts.append(f"Dashed: the mean of the {reference} row of the same profile.")
    if spec.caption:
        parts.append(spec.caption.strip())
    return " ".join(parts)


def draw_sweep(spec: SweepFigure, groups: list[Group]) -> Any | None:
    """The figure of ``spec`` (a matplotlib Figure on an Agg canvas), or None when no row of
    ``groups`` gives a point; :func:`plot_sweep` writes it."""
    points = sweep_points(spec, groups)
    if not points:
        return None
    refs = references(spec, groups)
    profiles = sorted({p.profile for p in points}, key=lambda p: p or "")
    figure = new_figure(sweep_figure_size(len(profiles)))
    panels = figure.subplots(1, len(profiles), squeeze=False)[0]
    labels = _labels(spec)
    y_label = spec.y_label or " / ".join(labels[m] for m in spec.metrics)
    handles: dict[str, Any] = {}
    for axes, profile in zip(panels, profiles, strict=True):
        mine = [p for p in points if p.profile == profile]
        _draw_panel(axes, spec, mine, refs.get(profile, {}), handles)
        style_axes(axes, f"profile {profile or '(none)'}", spec.x_label, y_label)
    figure.suptitle(spec.title, x=0.01, ha="left")
    place_caption(figure, _caption(spec, points))
    figure.legend(
        list(handles.values()), list(handles), loc="outside right upper", fontsize="small"
    )
    return figure


def plot_sweep(spec: SweepFigure, groups: list[Group], out_png: Path) -> Path | None:
    """Draw one sweep figure; None (nothing written) when no row gives a point."""
    figure = draw_sweep(spec, groups)
    if figure is None:
        return None
    return save_png(figure, out_png)
