"""Learning curves and learned unit shapes as PNG, each beside the paper's digitised curve.

``noisyexp figures`` reads the same runs as ``noisyexp tables`` (grouped the same way: one line per
preset and override set, the mean over seeds thick, each seed thin) and draws the paper's curve
for every paper row dashed, in the same colour, labelled "paper: …". A figure with no runs is
skipped with a message. The three-Gaussian model's checkpoints give the learned φ(x) and φ'(x) of
every noisy unit (paper Figs 5–6).

matplotlib is an optional extra (``pip install 'noisyexp[plots]'``); it is imported inside the
functions and used through its Agg canvas, so no global pyplot state or display is touched.
"""

from __future__ import annotations

import io
import re
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
    "CurveFigure",
    "CURVE_FIGURES",
    "run_curve",
    "mean_curve",
    "plot_curves",
    "plot_unit_shapes",
    "main",
]

#: size of every learning-curve PNG: 8 x 5 inches at 100 dpi = 800 x 500 pixels
FIGSIZE: tuple[float, float] = (8.0, 5.0)
DPI = 100
_UNIT_PANEL = (5.0, 3.0)  # inches per (layer, φ or φ') panel of the unit-shape figure


@dataclass(frozen=True)
class CurveFigure:
    """One learning-curve figure: which runs, which metric, and how to read the paper's curve.

    ``paper_x_scale``, ``paper_x_shift`` and ``paper_y`` bring the digitised series to our units
    (the NTM plot's x is thousands of updates, the char-GRU plot's x is 400s of updates and its y
    is log10 BPC, the MNIST plot's x = 0 is the first epoch).
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


CURVE_FIGURES: tuple[CurveFigure, ...] = (
    CurveFigure(
        "ptb_valid_ppl",
        "PTB word LSTM: validation perplexity (ICML Fig 7)",
        "table2_ptb",
        ("valid/ppl",),
        "epoch",
        "epoch",
        "ptb_ppl",
    ),
    CurveFigure(
        "ntm_recall_valid_nll",
        "NTM associative recall: validation NLL, the paper's scale (ICML Fig 9)",
        "ntm_recall",
        ("valid/nll_paper",),
        "step",
        "updates",
        "ntm",
        tasks=("assoc_recall",),
        paper_x_scale=1000.0,
    ),
    CurveFigure(
        "ntm_recall_faithful_valid_nll",
        "NTM associative recall, the authors' setup: validation NLL (ICML Fig 9)",
        "ntm_recall_faithful",
        ("valid/nll_paper",),
        "step",
        "updates",
        "ntm",
        tasks=("assoc_recall",),
        paper_x_scale=1000.0,
    ),
    CurveFigure(
        "mnist_train_nll",
        "MNIST MLP: training NLL (v3 Fig 5)",
        "mnist",
        ("train/nll", "train/loss"),
        "epoch",
        "epoch",
        "mnist",
        paper_x_shift=1.0,
        log_y=True,
    ),
    CurveFigure(
        "char_gru_bpc",
        "Char-level PTB GRU: BPC (v3 Fig 8)",
        "char_gru",
        ("train/bpc", "valid/bpc"),
        "step",
        "updates",
        "gru_bpc",
        paper_x_scale=400.0,
        paper_y=lambda y: 10.0**y,
        log_y=True,
    ),
    CurveFigure(
        "lte_train_accuracy",
        "Learning to Execute: training accuracy (ICML Fig 8)",
        "table1_lte",
        ("train/accuracy", "train/acc"),
        "epoch",
        "epoch",
        "lte",
    ),
)


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
# learning curves


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


def plot_curves(spec: CurveFigure, groups: list[Group], out_png: Path) -> Path | None:
    """Draw one learning-curve figure; None (nothing written) when no run logged its metric."""
    groups = _figure_groups(spec, groups)
    metric = _pick_metric(spec, groups)
    if metric is None:
        return None
    figure = _new_figure(FIGSIZE)
    axes = figure.add_subplot(1, 1, 1)
    colors = [f"C{i % 10}" for i in range(len(groups) + 10)]
    color_of: dict[str, str] = {}
    for index, group in enumerate(groups):
        color = colors[index]
        color_of.setdefault(group.label(), color)
        curves = [run_curve(run, metric, spec.x_key) for run in group.runs]
        curves = [curve for curve in curves if curve[0]]
        if len(curves) > 1:  # each seed thin, the mean thick
            for xs, ys in curves:
                axes.plot(xs, ys, color=color, linewidth=0.6, alpha=0.35)
        xs, ys = mean_curve(curves)
        axes.plot(
            xs, ys, color=color, linewidth=2.0, label=f"{_group_label(group)} (n={len(curves)})"
        )
    _plot_paper(axes, spec, groups, color_of, colors[len(groups) :])
    axes.set_title(spec.title)
    axes.set_xlabel(spec.x_label)
    axes.set_ylabel(metric + (" (log scale)" if spec.log_y else ""))
    if spec.log_y:
        axes.set_yscale("log")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small")
    return _save_png(figure, out_png)


def _plot_paper(
    axes: Any, spec: CurveFigure, groups: list[Group], color_of: dict[str, str], spare: list[str]
) -> None:
    """The digitised paper series of the figure's paper rows, dashed, in the row's colour."""
    table = next(t for t in paper_tables() if t["id"] == spec.table_id)
    series = digitized_curves().get(spec.paper_figure, {})
    spare_colors = iter(spare)
    for row in table["rows"]:
        if row.get("paper_series") not in series:
            continue
        xs, ys = series[row["paper_series"]]
        xs = [x * spec.paper_x_scale + spec.paper_x_shift for x in xs]
        ys = [spec.paper_y(y) for y in ys] if spec.paper_y else list(ys)
        if spec.log_y:  # digitised points at or below zero cannot sit on a log axis
            kept = [(x, y) for x, y in zip(xs, ys, strict=True) if y > 0]
            xs, ys = [x for x, _ in kept], [y for _, y in kept]
        color = color_of.get(row["experiment"]) or next(spare_colors)
        axes.plot(
            xs, ys, linestyle="--", color=color, linewidth=1.2, label=f"paper: {row['label']}"
        )


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
    for spec in CURVE_FIGURES:
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
