"""The outcome figures the paper tables declare: where every run of each row ended, a dot a run.

A learning curve's mean hides a row whose runs split (Table 5: some seeds solve the task, the
others end on the 59.7 % plateau, and the mean describes none of them); a sweep figure's mean
over seeds does too. An outcome figure draws each run's value of a table metric as a dot beside
its row, a panel per metric and profile, so a split row is seen as split and the runs that
never reached a steps-to-threshold metric are counted, not dropped. Like the other figures it is
data (the ``outcome_figures:`` list of a ``paper/tables/<id>.yaml`` entry): this module turns
each entry into an :class:`OutcomeFigure` and refuses a malformed one with one ConfigError naming
its table and figure, before anything is drawn.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from noisyexp.paper import paper_tables
from noisyexp.reports.figures.entries import check_entry, read_entries

__all__ = ["OutcomeFigure", "outcome_figures", "outcome_figure_size"]


_PANEL_SIZE = (5.5, 0.38)  # inches: a panel's width, and its height per row
_LABELS_WIDTH = 3.6  # inches left of the first column for the row labels
_LEGEND_WIDTH = 3.2  # inches right of the panels for the legend
_MIN_PANEL_HEIGHT = 2.5  # inches


@dataclass(frozen=True)
class OutcomeFigure:
    """Every run's value of table metrics, a row of dots per table row, a panel per profile.

    Attributes:
        name: the PNG's file name without ``.png``.
        title: the figure's title.
        table_id: the paper table whose runs it draws.
        metrics: keys of the table's ``metrics``, a row of panels each (read as the table does).
        experiments: the table rows drawn, top to bottom (their plain preset runs only).
        missing_label: what a run without a value of a metric means ("never below 5 %"): such a
            run is an x at the panel's right edge, counted; empty to leave those runs out.
        caption: more caption text, after the generic one.
    """

    name: str
    title: str
    table_id: str
    metrics: tuple[str, ...]
    experiments: tuple[str, ...]
    missing_label: str = ""
    caption: str = ""


_KEYS = frozenset(f.name for f in dataclasses.fields(OutcomeFigure)) - {"table_id"}
_LISTS = ("metrics", "experiments")


def outcome_figures() -> tuple[OutcomeFigure, ...]:
    """Every outcome figure the paper tables declare (``outcome_figures:`` of a table entry).

    Raises:
        ConfigError: a figure is not a mapping, has an unknown or missing key, a name another
            figure of its table has, or a metric or experiment its table does not have.
    """
    specs = []
    for table in paper_tables():
        taken = {
            str(f.get("name"))
            for key in ("figures", "sweep_figures")
            for f in table.get(key) or ()
            if isinstance(f, dict)
        }
        for spec, where in read_entries(
            table, "outcome_figures", "outcome figure", OutcomeFigure, _KEYS, _LISTS
        ):
            check_entry(spec, table, where, taken, ("name", "title", "missing_label", "caption"))
            taken.add(spec.name)
            specs.append(spec)
    return tuple(specs)


def outcome_figure_size(spec: OutcomeFigure, profiles: int) -> tuple[float, float]:
    """Inches of the PNG (at 100 dpi): the row labels, a column of panels per profile, the
    legend."""
    width, per_row = _PANEL_SIZE
    panel_height = max(_MIN_PANEL_HEIGHT, per_row * len(spec.experiments) + 1.0)
    return (
        _LABELS_WIDTH + width * max(1, profiles) + _LEGEND_WIDTH,
        panel_height * len(spec.metrics) + 1.4,
    )
