"""The rules that keep a learning-curve figure readable, the same for every figure.

The log axis spans the range-setting lines; a line that leaves the axis, or is drawn over
another, says so in its legend entry; titles and the caption are wrapped to the room the legend
leaves. Each rule is one function here rather than a per-figure tweak, so a new figure gets them
all (:mod:`noisyexp.reports.figures` lists them).
"""

from __future__ import annotations

import dataclasses
import math
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from noisyexp.reports.figures.curve_data import interpolate
from noisyexp.reports.figures.specs import CurveFigure
from noisyexp.reports.records import Group

__all__ = [
    "OVERLAP",
    "Line",
    "log_limits",
    "window_limits",
    "note_clipped",
    "note_overlaps",
    "legend_text",
    "panel_axes",
    "style_axes",
    "caption_text",
    "place_caption",
]


#: two lines closer than this fraction of their panel's height at every point are one line to
#: the eye (0.006 of a 400-pixel panel is under 2.5 pixels, about a thick line's width)
OVERLAP = 0.006
_LOG_PAD = 0.04  # a log axis extends past its data by this fraction of its decades, each side
_CAPTION_PT = 8.0  # caption font size, points
_LABEL_WIDTH = 52  # legend labels are wrapped at this many characters
_TITLE_PT = 10.0  # panel title font size, points
_TITLE_ROOM = 0.8  # the share of a panel's initial width left to it once the legend is placed


@dataclass
class Line:
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


def log_limits(lines: list[Line]) -> tuple[float, float] | None:
    """From the smallest to the largest positive value of the range-setting lines, padded."""
    values = [y for line in lines if line.sets_range for y in line.ys if y > 0 and math.isfinite(y)]
    if not values:
        return None
    low, high = min(values), max(values)
    if low == high:
        low, high = low / 2.0, high * 2.0
    pad = (high / low) ** _LOG_PAD
    return low / pad, high * pad


def window_limits(axes: Any, x_low: float, x_high: float) -> tuple[float, float] | None:
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


def note_clipped(lines: list[Line], low: float, high: float) -> None:
    """Say in a line's legend entry that it leaves the y range ``[low, high]``, and where."""
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


def _coincide(a: Line, b: Line, fraction: Callable[[float], float], x_range: tuple) -> bool:
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


def note_overlaps(lines: list[Line], axes: Any) -> None:
    """Name, in a line's legend entry, the earlier line of its kind that it is drawn over."""
    fraction = _axis_fraction(axes)
    x_range = axes.get_xlim()
    head: dict[int, Line] = {}
    for j, b in enumerate(lines):
        for i, a in enumerate(lines[:j]):
            if a.kind == b.kind and _coincide(a, b, fraction, x_range):
                head[j] = head.get(i, a)
                b.notes.append(f"same line as {head[j].name}")
                break


def legend_text(line: Line) -> str:
    """A line's legend entry with its notes, wrapped so the legend column stays narrow."""
    text = line.label + "".join(f" ({note})" for note in line.notes)
    return textwrap.fill(text, _LABEL_WIDTH, subsequent_indent="  ")


def panel_axes(figure: Any, spec: CurveFigure) -> tuple[Any, Any | None, Any | None]:
    """``(main, lower, paper)`` axes: lower for a ratio or zoom panel, paper when separate."""
    if spec.separate_paper:
        ours, paper = figure.subplots(1, 2)
        return ours, None, paper
    if spec.ratio_to_reference or spec.zoom_to_ours:
        main, lower = figure.subplots(2, 1, height_ratios=(3, 2))
        return main, lower, None
    return figure.add_subplot(1, 1, 1), None, None


def style_axes(axes: Any, title: str, x_label: str, y_label: str) -> None:
    """Title (wrapped to the panel, which the layout will narrow for the legend), labels, grid."""
    width = axes.figure.get_size_inches()[0] * axes.get_position().width * _TITLE_ROOM
    characters = max(20, int(width * 72 / (_TITLE_PT * 0.52)))
    wrapped = "\n".join(textwrap.fill(line, characters) for line in title.split("\n"))
    axes.set_title(wrapped, fontsize=_TITLE_PT)
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.grid(True, alpha=0.3)


def caption_text(spec: CurveFigure, table: dict[str, Any]) -> str:
    """What each line style and lower panel of the figure is, then the figure's own text."""
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


def place_caption(figure: Any, text: str) -> None:
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
