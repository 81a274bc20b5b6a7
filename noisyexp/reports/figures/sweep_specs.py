"""The sweep figures the paper tables declare: table metrics against a config value of the rows.

A learning curve shows one run over time; a sweep figure shows where each row ended as a function
of one config value (PTB perplexity against the noise scale c), so whether the value matters is
read from the records, not from a row-by-row table. Like the curves of :mod:`.specs` it is data
(the ``sweep_figures:`` list of a ``paper/tables/<id>.yaml`` entry): this module turns each entry
into a :class:`SweepFigure` and refuses a malformed one with one ConfigError naming its table and
figure, before anything is drawn.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from noisyexp.core.errors import ConfigError
from noisyexp.paper import paper_tables
from noisyexp.reports.figures.entries import check_entry, read_entries

__all__ = ["X_UNSET", "SweepFigure", "sweep_figures", "sweep_figure_size"]


#: what a run whose config leaves ``x_key`` null is drawn at: ``unit_defaults`` reads the knob of
#: each unit (``act.cell.<knob>``, ``act.gate.<knob>``, else the unit type's paper default)
X_UNSET = ("unit_defaults",)
_PANEL_SIZE = (5.0, 5.5)  # inches of one profile's panel
_LEGEND_WIDTH = 4.5  # inches right of the panels for the legend


@dataclass(frozen=True)
class SweepFigure:
    """Table metrics against one config value: a point per row and profile, the mean over seeds.

    Attributes:
        name: the PNG's file name without ``.png``.
        title: the figure's title.
        table_id: the paper table whose runs (and reference row) it draws.
        metrics: keys of the table's ``metrics``, a line each (read as the table reads them).
        x_key: the dotted key of the runs' resolved config that gives x (``act.c``).
        x_label: the x axis label.
        experiments: the presets whose rows give points: the preset as it is, or with only
            ``x_key`` overridden (a sweep of it); a row with any other override is not a point.
        x_unset: where a run whose config leaves ``x_key`` null goes: ``unit_defaults`` (at the
            cell units' value, marked apart when the gates' differs), or dropped when empty.
        y_label: the y axis label (the metrics' labels when empty).
        caption: more caption text, after the generic one.
    """

    name: str
    title: str
    table_id: str
    metrics: tuple[str, ...]
    x_key: str
    x_label: str
    experiments: tuple[str, ...]
    x_unset: str = ""
    y_label: str = ""
    caption: str = ""


_KEYS = frozenset(f.name for f in dataclasses.fields(SweepFigure)) - {"table_id"}
_LISTS = ("metrics", "experiments")


def sweep_figures() -> tuple[SweepFigure, ...]:
    """Every sweep figure the paper tables declare (``sweep_figures:`` of a table entry).

    Raises:
        ConfigError: a figure is not a mapping, has an unknown or missing key, a name another
            figure of its table has, a metric or experiment its table does not have, an empty
            ``x_key``, or an ``x_unset`` that is not one of :data:`X_UNSET` (or not on ``act.``).
    """
    specs = []
    for table in paper_tables():
        taken = {str(f.get("name")) for f in table.get("figures") or () if isinstance(f, dict)}
        for spec, where in read_entries(
            table, "sweep_figures", "sweep figure", SweepFigure, _KEYS, _LISTS
        ):
            _check_spec(spec, table, where, taken)
            taken.add(spec.name)
            specs.append(spec)
    return tuple(specs)


def _check_spec(spec: SweepFigure, table: dict[str, Any], where: str, taken: set[str]) -> None:
    strings = ("name", "title", "x_key", "x_label", "x_unset", "y_label", "caption")
    check_entry(spec, table, where, taken, strings)
    if not spec.x_key.strip(". "):
        raise ConfigError(f"{where}: x_key names a config key (e.g. act.c)")
    if spec.x_unset and spec.x_unset not in X_UNSET:
        raise ConfigError(f"{where}: x_unset {spec.x_unset!r} is not one of {', '.join(X_UNSET)}")
    parts = spec.x_key.split(".")
    if spec.x_unset and (len(parts) != 2 or parts[0] != "act"):
        raise ConfigError(f"{where}: x_unset {spec.x_unset} needs an x_key act.<knob>")


def sweep_figure_size(panels: int) -> tuple[float, float]:
    """Inches of a sweep figure's PNG (at 100 dpi): one panel per profile, then the legend."""
    width, height = _PANEL_SIZE
    return (width * max(1, panels) + _LEGEND_WIDTH, height)
