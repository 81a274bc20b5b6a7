"""Learning curves and learned unit shapes as PNG, each beside the paper's digitised curve.

``noisyexp figures`` reads the same runs as ``noisyexp tables`` (grouped the same way: one line per
preset and override set, the mean over seeds thick, each seed thin) and draws the paper's curve
for every paper row dashed, in the same colour, labelled "paper: …". A figure with no runs is
skipped with a message. The three-Gaussian model's checkpoints give the learned φ(x) and φ'(x) of
every noisy unit (paper Figs 5–6). A table's ``sweep_figures:`` plot its metrics against a config
value of its rows instead (PTB perplexity against the noise scale c, one panel per profile, the
mean over seeds at each value with its min–max and n), skipped the same way when no row gives a
point; its ``outcome_figures:`` draw every run's value of its metrics as a dot beside its row (a
panel per metric and profile: Table 5's split rows, solved or on the plateau, and its steps to
solve), skipped when no row has runs.

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

The modules, each importing only those listed before it: :mod:`.specs` (the figures the paper
tables declare), :mod:`.canvas` (matplotlib's Agg canvas and the PNG), :mod:`.curve_data` (the
points drawn), :mod:`.layout` (the rules above: axis ranges, legend notes, titles, caption),
:mod:`.panels` (our lines, the paper's, the ratio and zoom panels), :mod:`.curves` (one
learning-curve figure), :mod:`.entries` (what the sweep and outcome declarations share),
:mod:`.sweep_specs`, :mod:`.sweep_data` and :mod:`.sweep` (the sweep figures' declarations,
points and drawing), :mod:`.outcome_specs`, :mod:`.outcome_data` and
:mod:`.outcomes` (the outcome figures', likewise) and :mod:`.unit_shapes` (Figs 5-6). This
front door keeps the names the rest of the package imports, and :func:`main`.

Layer rule: that of :mod:`noisyexp.reports` (core to paper, never :mod:`noisyexp.cli`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from noisyexp.paper import paper_tables
from noisyexp.reports.figures.canvas import DPI, require_matplotlib
from noisyexp.reports.figures.curve_data import figure_groups, interpolate, mean_curve, run_curve
from noisyexp.reports.figures.curves import draw_curves, plot_curves
from noisyexp.reports.figures.layout import OVERLAP
from noisyexp.reports.figures.outcome_data import outcome_rows
from noisyexp.reports.figures.outcome_specs import (
    OutcomeFigure,
    outcome_figure_size,
    outcome_figures,
)
from noisyexp.reports.figures.outcomes import draw_outcomes, plot_outcomes
from noisyexp.reports.figures.specs import (
    FIGSIZE,
    PAPER_Y,
    CurveFigure,
    curve_figures,
    figure_size,
)
from noisyexp.reports.figures.sweep import draw_sweep, plot_sweep
from noisyexp.reports.figures.sweep_data import sweep_groups, sweep_points
from noisyexp.reports.figures.sweep_specs import SweepFigure, sweep_figure_size, sweep_figures
from noisyexp.reports.figures.unit_shapes import plot_unit_shapes, unit_shape_figures
from noisyexp.reports.records import collect_runs, group_runs

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
    "SweepFigure",
    "sweep_figures",
    "sweep_figure_size",
    "sweep_points",
    "draw_sweep",
    "plot_sweep",
    "OutcomeFigure",
    "outcome_figures",
    "outcome_figure_size",
    "outcome_rows",
    "draw_outcomes",
    "plot_outcomes",
    "main",
]


def main(
    results_dir: Path,
    out_dir: Path,
    *,
    unit_shapes: bool = True,
    echo: Callable[[str], None] | None = print,
) -> list[Path]:
    """Write every learning-curve, sweep and outcome figure that has runs, and the Gaussian
    model's units.

    Args:
        results_dir: folder searched (recursively) for ``summary.json`` files.
        out_dir: where the PNGs go (``results/figures``).
        unit_shapes: also draw the learned units from three-Gaussian checkpoints.
        echo: called with one line per figure written or skipped; None for silence.

    Returns:
        The PNG paths written.

    Raises:
        ConfigError: matplotlib is not installed, or a table declares a malformed figure.
    """
    require_matplotlib()
    say = echo or (lambda _line: None)
    runs, _ = collect_runs(Path(results_dir))
    grouped, _ = group_runs(runs, paper_tables())
    written: list[Path] = []
    for spec in curve_figures():
        groups = figure_groups(spec, grouped[spec.table_id])
        path = plot_curves(spec, groups, Path(out_dir) / f"{spec.name}.png")
        if path is not None:
            written.append(path)
        elif not groups:
            say(f"figures: skipped {spec.name}.png: no completed runs for it")
        else:
            say(f"figures: skipped {spec.name}.png: no run logged {' or '.join(spec.metrics)}")
    for sweep in sweep_figures():
        rows = grouped[sweep.table_id]
        path = plot_sweep(sweep, rows, Path(out_dir) / f"{sweep.name}.png")
        if path is not None:
            written.append(path)
        elif not sweep_groups(sweep, rows):
            say(f"figures: skipped {sweep.name}.png: no completed runs for it")
        else:
            say(
                f"figures: skipped {sweep.name}.png: no run gave {sweep.x_key} and "
                f"{' or '.join(sweep.metrics)}"
            )
    for outcome in outcome_figures():
        path = plot_outcomes(
            outcome, grouped[outcome.table_id], Path(out_dir) / f"{outcome.name}.png"
        )
        if path is not None:
            written.append(path)
        else:
            say(f"figures: skipped {outcome.name}.png: no completed runs for it")
    if unit_shapes:
        written += unit_shape_figures(grouped["gaussians"], Path(out_dir), say)
    say(f"figures: wrote {len(written)} file(s) to {out_dir}")
    return written
