"""The learning-curve figures the paper tables declare, read and checked before anything is drawn.

A figure is data (the ``figures:`` list of a ``paper/tables/<id>.yaml`` entry), not code: this
module turns each entry into a :class:`CurveFigure` and refuses a malformed one with one
ConfigError naming its table and figure, and says how large each figure's PNG is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from noisyexp.core.errors import ConfigError
from noisyexp.paper import paper_tables

__all__ = ["FIGSIZE", "CurveFigure", "PAPER_Y", "curve_figures", "figure_size"]


#: a one-panel learning-curve PNG: 11 x 5.5 inches at 100 dpi = 1100 x 550 pixels (the legend
#: takes the right of it)
FIGSIZE: tuple[float, float] = (11.0, 5.5)
_STACKED_SIZE = (11.0, 8.5)  # a lower panel (ratio or zoom) under the main one
_SIDE_BY_SIDE_SIZE = (14.0, 5.5)  # ours and the paper's in separate panels


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
    """Inches of ``spec``'s PNG (at 100 dpi): one panel, a lower panel, or two side by side."""
    if spec.separate_paper:
        return _SIDE_BY_SIDE_SIZE
    if spec.ratio_to_reference or spec.zoom_to_ours:
        return _STACKED_SIZE
    return FIGSIZE
