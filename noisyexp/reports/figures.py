"""Learning curves and learned unit shapes as PNG, each beside the paper's digitised curve.

``noisyexp figures`` reads the same runs as ``noisyexp tables`` (grouped the same way: one line per
preset and override set, the mean over seeds thick, each seed thin) and draws the paper's curve
for every paper row dashed, in the same colour, labelled "paper: …". A figure with no runs is
skipped with a message. The three-Gaussian model's checkpoints give the learned φ(x) and φ'(x) of
every noisy unit (paper Figs 5–6).

What keeps a figure readable (each is a rule here, not a per-figure tweak):

* the legend sits outside the panels, right of them, so it covers no curve;
* a log axis spans the mean curves of the table's rows and the paper's curves, not every tiny
  value of an extra run (an override sweep): a line that leaves the axis says so in the legend;
* lines drawn on top of each other (closer than :data:`OVERLAP` of the panel's height at every
  point) are named in the legend ("same line as …"), so a hidden row is not read as missing;
* a caption under the panels says what each line is; the epochs a table reads are dotted lines;
* a figure may add a lower panel, each row divided by the table's reference row
  (``ratio_to_reference``), or the span of our runs only (``zoom_to_ours``), or draw ours and the
  paper's in separate panels (``separate_paper``) when they were not measured alike.

matplotlib is an optional extra (``pip install 'noisyexp[plots]'``); it is imported inside the
functions and used through its Agg canvas, so no global pyplot state or display is touched.
"""

from __future__ import annotations

import bisect
import dataclasses
import io
import math
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from noisyexp import activations
from noisyexp.config.act import effective_act
from noisyexp.core.atomic import write_bytes_atomic
from noisyexp.core.checkpoint import load_checkpoint
from noisyexp.core.errors import CheckpointError, ConfigError
from noisyexp.paper import digitized_curves, paper_tables
from noisyexp.reports.records import Group, Run, collect_runs, group_runs

__all__ = [
    "FIGSIZE",
    "DPI",
    "OVERLAP",
    "CurveFigure",
    "PAPER_Y",
    "curve_figures",
    "figure_size",
    "run_curve",
    "mean_curve",
    "interpolate",
    "draw_curves",
    "plot_curves",
    "plot_unit_shapes",
    "main",
]

#: a one-panel learning-curve PNG: 11 x 5.5 inches at 100 dpi = 1100 x 550 pixels (the legend
#: takes the right of it)
FIGSIZE: tuple[float, float] = (11.0, 5.5)
_STACKED_SIZE = (11.0, 8.5)  # a lower panel (ratio or zoom) under the main one
_SIDE_BY_SIDE_SIZE = (14.0, 5.5)  # ours and the paper's in separate panels
DPI = 100
#: two lines closer than this fraction of their panel's height at every point are one line to
#: the eye (0.006 of a 400-pixel panel is under 2.5 pixels, about a thick line's width)
OVERLAP = 0.006
_LOG_PAD = 0.04  # a log axis extends past its data by this fraction of its decades, each side
_CAPTION_PT = 8.0  # caption font size, points
_LABEL_WIDTH = 52  # legend labels are wrapped at this many characters
_TITLE_PT = 10.0  # panel title font size, points
_TITLE_ROOM = 0.8  # the share of a panel's initial width left to it once the legend is placed
_UNIT_PANEL = (5.0, 3.0)  # inches per (layer, φ or φ') panel of the unit-shape figure


@dataclass(frozen=True)
class CurveFigure:
    """One learning-curve figure: which runs, which metric, and how to read the paper's curve.

    ``paper_x_scale``, ``paper_x_shift`` and ``paper_y`` bring the digitised series to our units
    (the NTM plot's x is thousands of updates, the char-GRU plot's x is 400s of updates and its y
    is log10 BPC, the MNIST plot's x = 0 is the first epoch).

    Attributes:
        name: the PNG's file name without ``.png``.
        title: the figure's title.
        table_id: the paper table whose runs (and paper rows) it draws.
        metrics: our metric, the first that some run logged.
        x_key, x_label: the metrics.jsonl key of x, and its axis label.
        paper_figure: the figure of ``figures_digitized.csv`` with the paper's curves.
        tasks: draw only groups of these tasks (all when empty).
        paper_x_scale, paper_x_shift, paper_y: bring a digitised point to our units.
        log_y: a log y axis.
        y_label: the y axis label (the metric's name when empty).
        metric_label: what our main line is, added to each of its legend labels.
        also: more of our metrics, ``(metric, what it is)``, drawn dotted in the row's colour.
        level_keys, level_format: metrics.jsonl keys that give the difficulty a point was trained
            at, and its text (``str.format`` of their values): shown in the title when every point
            shares one, else at each point where it changes.
        ratio_to_reference: a lower panel with each row divided by the table's reference row.
        zoom_to_ours: a lower panel over the x span of our runs only.
        separate_paper: ours and the paper's curves in side-by-side panels with their own axes.
        ours_title, paper_title: the two panels' titles when ``separate_paper``.
        caption: more caption text, after the generic line of what the line styles are.
    """

    name: str
    title: str
    table_id: str
    metrics: tuple[str, ...]
    x_key: str
    x_label: str
    paper_figure: str
    tasks: tuple[str, ...] = ()
    paper_x_scale: float = 1.0
    paper_x_shift: float = 0.0
    paper_y: Callable[[float], float] | None = None
    log_y: bool = False
    y_label: str = ""
    metric_label: str = ""
    also: tuple[tuple[str, str], ...] = ()
    level_keys: tuple[str, ...] = ()
    level_format: str = ""
    ratio_to_reference: bool = False
    zoom_to_ours: bool = False
    separate_paper: bool = False
    ours_title: str = ""
    paper_title: str = ""
    caption: str = ""


#: transforms of a digitised y that a table's figure may name (``paper_y: pow10``)
PAPER_Y = {"pow10": lambda y: 10.0**y}

_FIGURE_KEYS = frozenset(f.name for f in dataclasses.fields(CurveFigure)) - {"table_id"}


def curve_figures() -> tuple[CurveFigure, ...]:
    """Every learning-curve figure the paper tables declare (``figures:`` of a table entry).

    Raises:
        ConfigError: a figure has an unknown or missing key, names an unknown ``paper_y``
            transform, asks for two layouts at once, a ratio panel without a reference row, or a
            ``level_format`` that does not format its ``level_keys``.
    """
    specs = []
    for table in paper_tables():
        for figure in table.get("figures") or ():
            where = f"table {table['id']}, figure {figure.get('name')!r}"
            fields = dict(figure)
            unknown = sorted(set(fields) - _FIGURE_KEYS)
            if unknown:
                raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
            paper_y = fields.pop("paper_y", None)
            if paper_y is not None and paper_y not in PAPER_Y:
                raise ConfigError(
                    f"{where}: paper_y {paper_y!r} is not one of {', '.join(PAPER_Y)}"
                )
            also = fields.pop("also", None) or {}
            if not isinstance(also, dict):
                raise ConfigError(f"{where}: also is a mapping of metric to what it is")
            try:
                spec = CurveFigure(
                    table_id=table["id"],
                    paper_y=PAPER_Y.get(paper_y) if paper_y else None,
                    also=tuple((str(k), str(v)) for k, v in also.items()),
                    **{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()},
                )
            except TypeError as err:
                raise ConfigError(f"{where}: {err}") from None
            _check_spec(spec, table, where)
            specs.append(spec)
    return tuple(specs)


def _check_spec(spec: CurveFigure, table: dict[str, Any], where: str) -> None:
    layouts = [spec.ratio_to_reference, spec.zoom_to_ours, spec.separate_paper]
    if sum(bool(flag) for flag in layouts) > 1:
        raise ConfigError(
            f"{where}: ratio_to_reference, zoom_to_ours and separate_paper exclude each other"
        )
    if spec.ratio_to_reference and not table.get("reference"):
        raise ConfigError(f"{where}: ratio_to_reference needs the table's reference row")
    if bool(spec.level_keys) != bool(spec.level_format):
        raise ConfigError(f"{where}: level_keys and level_format go together")
    if spec.level_keys:
        try:
            spec.level_format.format(*(0.0 for _ in spec.level_keys))
        except (IndexError, KeyError, ValueError) as err:
            raise ConfigError(f"{where}: level_format does not format level_keys: {err}") from None


def figure_size(spec: CurveFigure) -> tuple[float, float]:
    """Inches of ``spec``'s PNG (at :data:`DPI`): one panel, a lower panel, or two side by side."""
    if spec.separate_paper:
        return _SIDE_BY_SIDE_SIZE
    if spec.ratio_to_reference or spec.zoom_to_ours:
        return _STACKED_SIZE
    return FIGSIZE


def _matplotlib() -> tuple[Any, Any]:
    """``(Figure, FigureCanvasAgg)``, or a ConfigError saying how to install the extra."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError("figures need matplotlib: pip install 'noisyexp[plots]'") from None
    return Figure, FigureCanvasAgg


def _new_figure(figsize: tuple[float, float]) -> Any:
    figure_class, canvas_class = _matplotlib()
    figure = figure_class(figsize=figsize, dpi=DPI)
    canvas_class(figure)
    return figure


def _save_png(figure: Any, out_png: Path) -> Path:
    """Render in memory, then write atomically, at the figure's exact pixel size."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return write_bytes_atomic(Path(out_png), buffer.getvalue())


# ----------------------------------------------------------------------------------------------
# learning curves: the data


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


def _figure_groups(spec: CurveFigure, groups: list[Group]) -> list[Group]:
    return [g for g in groups if g.runs and (not spec.tasks or g.task in spec.tasks)]


def _pick_metric(spec: CurveFigure, groups: list[Group]) -> str | None:
    for metric in spec.metrics:
        if any(run_curve(run, metric, spec.x_key)[0] for g in groups for run in g.runs):
            return metric
    return None


def _group_label(group: Group) -> str:
    extra = " ".join(group.overrides)
    profile = f" [{group.profile}]" if group.profile else ""
    return f"{group.label()}{' ' + extra if extra else ''}{profile}"


def _table(table_id: str) -> dict[str, Any]:
    return next(t for t in paper_tables() if t["id"] == table_id)


def _table_marks(table: dict[str, Any], x_key: str) -> list[float]:
    """The x values at which the table reads a curve (a metric source ``at: {x_key: value}``)."""
    marks = set()
    for metric in table.get("metrics") or ():
        for source in metric.get("sources") or ():
            at = source.get("at") if isinstance(source, dict) else None
            if isinstance(at, dict) and _is_number(at.get(x_key)):
                marks.add(float(at[x_key]))
    return sorted(marks)


def _levels_at(spec: CurveFigure, group: Group) -> dict[float, set[tuple[float, ...]]]:
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


# ----------------------------------------------------------------------------------------------
# learning curves: drawing


@dataclass
class _Line:
    """A mean or paper line of a panel, with what its legend entry says."""

    name: str  # the row, short: the preset, or "paper: <row label>"
    label: str  # the legend text, before notes
    xs: list[float]
    ys: list[float]
    handle: Any  # the matplotlib Line2D
    kind: str  # "ours" or "paper": only lines of one kind are checked for overlap
    group: Group | None = None
    row: dict[str, Any] | None = None
    main_metric: bool = True  # False for an ``also`` metric
    sets_range: bool = True  # counts for the log axis's range
    notes: list[str] = dataclasses.field(default_factory=list)


def _draw_ours(
    axes: Any, spec: CurveFigure, groups: list[Group], metric: str, color_of: dict[int, str]
) -> list[_Line]:
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
            label = f"{_group_label(group)} (n={len(curves)})" + (f": {text}" if text else "")
            (handle,) = axes.plot(xs, ys, color=color, linewidth=2.0, linestyle=style)
            lines.append(
                _Line(
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


def _draw_paper(
    axes: Any, spec: CurveFigure, table: dict[str, Any], colors: dict[str, str], spare: list[str]
) -> list[_Line]:
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
        lines.append(_Line(name, name, xs, ys, handle, "paper", row=row))
    return lines


def _log_limits(lines: list[_Line]) -> tuple[float, float] | None:
    """From the smallest to the largest positive value of the range-setting lines, padded."""
    values = [y for line in lines if line.sets_range for y in line.ys if y > 0 and math.isfinite(y)]
    if not values:
        return None
    low, high = min(values), max(values)
    if low == high:
        low, high = low / 2.0, high * 2.0
    pad = (high / low) ** _LOG_PAD
    return low / pad, high * pad


def _window_limits(axes: Any, x_low: float, x_high: float) -> tuple[float, float] | None:
    """A linear y range for the points of ``axes``' lines with x in the window, padded 5 %."""
    values = [
        float(y)
        for line in axes.get_lines()
        for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True)
        if x_low <= float(x) <= x_high and math.isfinite(float(y))
    ]
    if not values:
        return None
    low, high = min(values), max(values)
    pad = 0.05 * (high - low) if high > low else max(abs(high), 1.0) * 0.05
    return low - pad, high + pad


def _note_clipped(lines: list[_Line], low: float, high: float) -> None:
    for line in lines:
        if line.ys and min(line.ys) < low:
            line.notes.append(f"leaves the axis below: min {min(line.ys):.2g}")
        if line.ys and max(line.ys) > high:
            line.notes.append(f"leaves the axis above: max {max(line.ys):.2g}")


def _axis_fraction(axes: Any) -> Callable[[float], float]:
    """y -> its height in ``axes`` as a fraction of the panel (clipped to the panel)."""
    low, high = axes.get_ylim()
    log = axes.get_yscale() == "log"
    scale = (lambda y: math.log10(y)) if log else (lambda y: y)
    bottom, top = scale(low), scale(high)

    def fraction(y: float) -> float:
        y = min(max(y, low), high)
        return (scale(y) - bottom) / (top - bottom)

    return fraction


def _coincide(a: _Line, b: _Line, fraction: Callable[[float], float], x_range: tuple) -> bool:
    """Whether ``a`` and ``b`` cover the same x span and are within OVERLAP of each other."""
    low = max(a.xs[0], b.xs[0], x_range[0])
    high = min(a.xs[-1], b.xs[-1], x_range[1])
    for line in (a, b):  # each line's visible span must be (nearly) the shared one
        span_low, span_high = max(line.xs[0], x_range[0]), min(line.xs[-1], x_range[1])
        if high <= low or (high - low) < 0.9 * (span_high - span_low):
            return False
    for one, other in ((a, b), (b, a)):
        for x, y in zip(one.xs, one.ys, strict=True):
            if low <= x <= high:
                at = interpolate(other.xs, other.ys, x)
                if at is None or abs(fraction(y) - fraction(at)) > OVERLAP:
                    return False
    return True


def _note_overlaps(lines: list[_Line], axes: Any) -> None:
    """Name, in a line's legend entry, the earlier line of its kind that it is drawn over."""
    fraction = _axis_fraction(axes)
    x_range = axes.get_xlim()
    head: dict[int, _Line] = {}
    for j, b in enumerate(lines):
        for i, a in enumerate(lines[:j]):
            if a.kind == b.kind and _coincide(a, b, fraction, x_range):
                head[j] = head.get(i, a)
                b.notes.append(f"same line as {head[j].name}")
                break


def _legend_text(line: _Line) -> str:
    text = line.label + "".join(f" ({note})" for note in line.notes)
    return textwrap.fill(text, _LABEL_WIDTH, subsequent_indent="  ")


def _panels(figure: Any, spec: CurveFigure) -> tuple[Any, Any | None, Any | None]:
    """``(main, lower, paper)`` axes: lower for a ratio or zoom panel, paper when separate."""
    if spec.separate_paper:
        ours, paper = figure.subplots(1, 2)
        return ours, None, paper
    if spec.ratio_to_reference or spec.zoom_to_ours:
        main, lower = figure.subplots(2, 1, height_ratios=(3, 2))
        return main, lower, None
    return figure.add_subplot(1, 1, 1), None, None


def _style(axes: Any, title: str, x_label: str, y_label: str) -> None:
    """Title (wrapped to the panel, which the layout will narrow for the legend), labels, grid."""
    width = axes.figure.get_size_inches()[0] * axes.get_position().width * _TITLE_ROOM
    characters = max(20, int(width * 72 / (_TITLE_PT * 0.52)))
    wrapped = "\n".join(textwrap.fill(line, characters) for line in title.split("\n"))
    axes.set_title(wrapped, fontsize=_TITLE_PT)
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.grid(True, alpha=0.3)


def _level_text(spec: CurveFigure, groups: list[Group], ours: list[_Line], axes: Any) -> str:
    """Show the difficulty of our points: one line for the title, or a label per change."""
    per_group = {id(group): _levels_at(spec, group) for group in groups}
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


def _draw_ratios(
    axes: Any, spec: CurveFigure, table: dict[str, Any], ours: list[_Line], paper: list[_Line]
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
    _style(
        axes,
        f"each row ÷ {reference_label} at the same {spec.x_label} (below 1: lower than "
        f"{reference_label}); ours ÷ ours, the paper's ÷ the paper's",
        spec.x_label,
        f"÷ {reference_label}",
    )


def _draw_zoom(
    axes: Any,
    spec: CurveFigure,
    table: dict[str, Any],
    groups: list[Group],
    metric: str,
    colors: tuple[dict[int, str], dict[str, str], list[str]],
    ours: list[_Line],
    main: Any,
) -> None:
    """The same lines again, over the x span of our runs."""
    low = min(line.xs[0] for line in ours)
    high = max(line.xs[-1] for line in ours)
    _draw_ours(axes, spec, groups, metric, colors[0])
    _draw_paper(axes, spec, table, colors[1], colors[2])
    pad = 0.02 * (high - low) if high > low else 1.0
    axes.set_xlim(low - pad, high + pad)
    if spec.log_y:
        axes.set_yscale("log")
        axes.set_ylim(*main.get_ylim())
    else:
        limits = _window_limits(axes, low - pad, high + pad)
        if limits is not None:
            axes.set_ylim(*limits)
    y_label = main.get_ylabel()
    _style(
        axes, f"zoom: {spec.x_label} {low:g}–{high:g}, the span of our runs", spec.x_label, y_label
    )


def _caption(spec: CurveFigure, table: dict[str, Any]) -> str:
    parts = []
    if not spec.separate_paper:
        parts.append(
            "Solid: ours, the mean over seeds (thick) and each seed (thin)"
            + ("; dotted: more of our metrics (see the legend)" if spec.also else "")
            + "; dashed: the paper's curves, digitised from the figure named in the title."
        )
    if spec.ratio_to_reference:
        reference = table["reference"]
        label = next((r["label"] for r in table["rows"] if r["experiment"] == reference), "")
        parts.append(
            f"Lower panel: each row's curve divided by the {label or reference} row's at the "
            f"same {spec.x_label}, ours by ours and the paper's by the paper's."
        )
    if spec.zoom_to_ours:
        parts.append("Lower panel: the same curves over the span of our runs.")
    if spec.caption:
        parts.append(spec.caption.strip())
    return " ".join(parts)


def _place_caption(figure: Any, text: str) -> None:
    """The caption under the panels, wrapped to the figure's width; the layout leaves it room."""
    width, height = figure.get_size_inches()
    characters = int(width * 72 / (_CAPTION_PT * 0.56))  # DejaVu Sans: ~0.52 em a character
    wrapped = textwrap.fill(" ".join(text.split()), characters)
    lines = wrapped.count("\n") + 1
    room = (
        lines * _CAPTION_PT * 1.3 / 72 + 0.15
    ) / height  # inches of text and margin, as a fraction
    figure.set_layout_engine("constrained", rect=(0.0, room, 1.0, 1.0 - room))
    figure.text(0.01, room - 0.05 / height, wrapped, ha="left", va="top", fontsize=_CAPTION_PT)


def draw_curves(spec: CurveFigure, groups: list[Group]) -> Any | None:
    """The figure of ``spec`` (a matplotlib Figure on an Agg canvas), or None when no run of
    ``groups`` logged its metric; :func:`plot_curves` writes it."""
    groups = _figure_groups(spec, groups)
    metric = _pick_metric(spec, groups)
    if metric is None:
        return None
    table = _table(spec.table_id)
    figure = _new_figure(figure_size(spec))
    main, lower, paper_axes = _panels(figure, spec)
    palette = [f"C{i % 10}" for i in range(len(groups) + 10)]
    color_of = dict(enumerate(palette[: len(groups)]))
    row_colors: dict[str, str] = {}
    for index, group in enumerate(groups):
        row_colors.setdefault(group.label(), color_of[index])
    spare = palette[len(groups) :]
    ours = _draw_ours(main, spec, groups, metric, color_of)
    paper = _draw_paper(
        paper_axes if paper_axes is not None else main, spec, table, row_colors, spare
    )
    y_label = spec.y_label or metric + (" (log scale)" if spec.log_y else "")

    title = spec.title
    if spec.separate_paper:
        figure.suptitle(spec.title, x=0.01, ha="left")  # left: clear of the legend column
        title = spec.ours_title or "ours"
    if spec.level_keys:
        title += f"\n{_level_text(spec, groups, ours, main)}"
    _style(main, title, spec.x_label, y_label)

    panels: list[tuple[Any, list[_Line]]] = [
        (main, ours if paper_axes is not None else ours + paper)
    ]
    if paper_axes is not None:
        _style(paper_axes, spec.paper_title or "the paper (digitised)", spec.x_label, y_label)
        if not paper:
            paper_axes.text(
                0.5, 0.5, "no digitised curve", ha="center", transform=paper_axes.transAxes
            )
        panels.append((paper_axes, paper))
    for axes, lines in panels:
        if spec.log_y:
            axes.set_yscale("log")
            limits = _log_limits(lines)
            if limits is not None:
                axes.set_ylim(*limits)
                _note_clipped(lines, *limits)
        if lines:
            _note_overlaps(lines, axes)

    if spec.ratio_to_reference and lower is not None:
        _draw_ratios(lower, spec, table, ours, paper)
    elif spec.zoom_to_ours and lower is not None:
        _draw_zoom(lower, spec, table, groups, metric, (color_of, row_colors, spare), ours, main)
    marks = _table_marks(table, spec.x_key)
    mark_handle = None
    for x in marks:  # after the panels' ranges are set: a vertical line has no y data
        for axes in (main, lower):
            if axes is not None:
                mark_handle = axes.axvline(x, color="0.4", linestyle=":", linewidth=1.0)

    legend_lines = ours + paper
    handles = [line.handle for line in legend_lines]
    labels = [_legend_text(line) for line in legend_lines]
    if mark_handle is not None:
        handles.append(mark_handle)
        labels.append(f"{spec.x_label} {', '.join(f'{m:g}' for m in marks)}: read by the table")
    _place_caption(figure, _caption(spec, table))
    figure.legend(handles, labels, loc="outside right upper", fontsize="small")
    return figure


def plot_curves(spec: CurveFigure, groups: list[Group], out_png: Path) -> Path | None:
    """Draw one learning-curve figure; None (nothing written) when no run logged its metric."""
    figure = draw_curves(spec, groups)
    if figure is None:
        return None
    return _save_png(figure, out_png)


# ----------------------------------------------------------------------------------------------
# learned unit shapes (paper Figs 5-6)


def _natural_key(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _cell_settings(config: dict[str, Any]) -> dict[str, Any]:
    """Type and arguments of the cell unit as the run built it (act-level c/α win, as in training).

    The Gaussian MLP's hidden units are cell (tanh-like) units; knobs the config leaves unset are
    the unit registry's paper defaults.
    """
    act = config.get("act") if isinstance(config.get("act"), dict) else {}
    cell = effective_act(act).get("cell")
    if not isinstance(cell, dict):  # a config from elsewhere: the registry's NAN cell
        cell = {"type": "nan", **activations.paper_defaults("nan", "tanh")}
    spec = activations.UNIT_TYPES.get(str(cell.get("type")))
    return {
        "type": str(cell.get("type")),
        "alpha": cell.get("alpha"),
        "c": cell.get("c"),
        "half_normal": bool(spec.variant.get("half_normal")) if spec else False,
        "test_mean": cell.get("test_mean"),
    }


def _output_noise_types() -> tuple[str, ...]:
    """Unit types whose shape φ(x) is Eq 12's (the output-noise units of the registry)."""
    return tuple(n for n, t in activations.UNIT_TYPES.items() if t.cls is activations.NoisyOutput)


def _unit_curves(
    p: torch.Tensor, settings: dict[str, Any], c: float, xi: float | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Grid x in [-6, 6] and φ(x), φ'(x) of every unit, each (points, units).

    ``xi=None`` gives the test-time unit (the noise replaced by its mean); a number fixes the
    noise draw ξ, e.g. 1 = one standard deviation, which shows where the learned p lets noise
    (and gradient) through in the saturated regime.
    """
    grid = torch.linspace(-6.0, 6.0, 481, dtype=torch.float64)
    inputs = grid[:, None].repeat(1, p.numel()).requires_grad_(True)  # (points, units)
    outputs = activations.noisy_output(
        inputs,
        None if xi is None else torch.full_like(inputs, xi),
        kind="tanh",
        alpha=settings["alpha"],
        c=c,
        p=p.to(torch.float64),
        half_normal=settings["half_normal"],
        **({"test_mean": settings["test_mean"]} if settings["test_mean"] is not None else {}),
    )
    (slopes,) = torch.autograd.grad(outputs.sum(), inputs)  # elementwise, so d/dx per unit
    return grid, outputs.detach(), slopes


def plot_unit_shapes(checkpoint_path: Path, out_png: Path) -> Path:
    """Plot each layer's learned φ(x) and φ'(x), one colour per unit (Figs 5-6).

    Solid: the test-time unit; dashed: the same unit with the noise drawn at ξ = 1 (one standard
    deviation), whose distance from the solid line is the learned noise σ(x) = c·(sigmoid(pΔ) −
    0.5)² and whose slope is the gradient a saturated unit passes on.

    Every state-dict key ending in ``.p`` is one layer's noisy unit (per-unit p); its noise scale
    is the buffer ``.c`` beside it when saved, else the config's. The figure has one row per layer
    and two columns (φ, φ'), each panel 5 x 3 inches at 100 dpi.

    Raises:
        CheckpointError: the checkpoint cannot be read or has no noisy output units.
        ConfigError: matplotlib is missing, or the units are not output-noise units (NAN/NAH).
    """
    payload = load_checkpoint(checkpoint_path)
    state, config = payload["model"], payload["config"]
    layers = sorted((key[: -len(".p")] for key in state if key.endswith(".p")), key=_natural_key)
    if not layers:
        raise CheckpointError(f"{checkpoint_path} has no noisy units (no '.p' parameters)")
    settings = _cell_settings(config)
    if settings["type"] not in _output_noise_types():
        raise ConfigError(
            f"unit shapes are drawn for output-noise units ({', '.join(_output_noise_types())}), "
            f"not act.cell.type={settings['type']!r}"
        )
    width, height = _UNIT_PANEL
    figure = _new_figure((2 * width, height * len(layers)))
    for row, prefix in enumerate(layers):
        c_buffer = state.get(f"{prefix}.c")
        c = float(c_buffer) if c_buffer is not None else settings["c"]
        p = state[f"{prefix}.p"].flatten()
        grid, outputs, slopes = _unit_curves(p, settings, c)
        _, noisy_outputs, noisy_slopes = _unit_curves(p, settings, c, xi=1.0)
        panels = (
            (outputs, noisy_outputs, "φ(x)"),
            (slopes, noisy_slopes, "φ'(x)"),
        )
        for column, (values, noisy_values, name) in enumerate(panels):
            axes = figure.add_subplot(len(layers), 2, 2 * row + column + 1)
            lines = axes.plot(grid.numpy(), values.numpy(), linewidth=0.9)
            for line, curve in zip(lines, noisy_values.T, strict=True):
                axes.plot(grid.numpy(), curve.numpy(), linewidth=0.7, ls="--", c=line.get_color())
            axes.set_title(
                f"layer {row + 1} ({prefix}): {name}, α={settings['alpha']:g}, c={c:.3g}; "
                "dashed: ξ = 1",
                fontsize="small",
            )
            axes.set_xlabel("x")
            axes.grid(True, alpha=0.3)
    figure.tight_layout()
    return _save_png(figure, out_png)


# ----------------------------------------------------------------------------------------------
# entry point


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")


def _unit_shape_figures(
    groups: list[Group], out_dir: Path, echo: Callable[[str], None]
) -> list[Path]:
    """One unit-shape PNG per three-Gaussian group, from its lowest seed's last checkpoint."""
    written = []
    for group in (g for g in groups if g.runs):
        run = min(group.runs, key=lambda r: (str(r.summary["seed"]), str(r.path)))
        checkpoint = run.path / "checkpoints" / "last.pt"
        name = _slug("_".join(["gaussians_units", group.label(), *group.overrides]))
        try:
            written.append(plot_unit_shapes(checkpoint, out_dir / f"{name}.png"))
        except (CheckpointError, ConfigError) as err:
            echo(f"figures: skipped {name}.png: {err}")
    return written


def main(
    results_dir: Path,
    out_dir: Path,
    *,
    unit_shapes: bool = True,
    echo: Callable[[str], None] | None = print,
) -> list[Path]:
    """Write every learning-curve figure that has runs, and the unit shapes of the Gaussian model.

    Args:
        results_dir: folder searched (recursively) for ``summary.json`` files.
        out_dir: where the PNGs go (``results/figures``).
        unit_shapes: also draw the learned units from three-Gaussian checkpoints.
        echo: called with one line per figure written or skipped; None for silence.

    Returns:
        The PNG paths written.

    Raises:
        ConfigError: matplotlib is not installed.
    """
    _matplotlib()
    say = echo or (lambda _line: None)
    runs, _ = collect_runs(Path(results_dir))
    grouped, _ = group_runs(runs, paper_tables())
    written: list[Path] = []
    for spec in curve_figures():
        groups = _figure_groups(spec, grouped[spec.table_id])
        path = plot_curves(spec, groups, Path(out_dir) / f"{spec.name}.png")
        if path is not None:
            written.append(path)
        elif not groups:
            say(f"figures: skipped {spec.name}.png: no completed runs for it")
        else:
            say(f"figures: skipped {spec.name}.png: no run logged {' or '.join(spec.metrics)}")
    if unit_shapes:
        written += _unit_shape_figures(grouped["gaussians"], Path(out_dir), say)
    say(f"figures: wrote {len(written)} file(s) to {out_dir}")
    return written
