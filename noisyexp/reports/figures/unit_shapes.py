"""The learned unit shapes of the three-Gaussian model (paper Figs 5-6), from its checkpoints.

A noisy unit's shape is its learned per-unit p and noise scale c through Eq 12: they are read
from ``checkpoints/last.pt`` and evaluated in float64 by the unit library's own
:func:`noisyexp.activations.noisy_output`, so the figure shows the unit that was trained, not a
re-implementation of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from noisyexp import activations
from noisyexp.config.act import effective_act
from noisyexp.core.checkpoint import load_checkpoint
from noisyexp.core.errors import CheckpointError, ConfigError
from noisyexp.reports.figures.canvas import new_figure, save_png
from noisyexp.reports.records import Group

__all__ = ["plot_unit_shapes", "unit_shape_figures"]


_UNIT_PANEL = (5.0, 3.0)  # inches per (layer, φ or φ') panel of the unit-shape figure


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
    figure = new_figure((2 * width, height * len(layers)))
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
    return save_png(figure, out_png)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")


def unit_shape_figures(
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
