"""Figures from fabricated runs: PNGs of the right size for present data only, paper curves,
and what keeps them readable (axis ranges, legends outside, lower panels, LTE's split)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from _png import png_size

from noisyexp.core.checkpoint import save_checkpoint
from noisyexp.core.errors import CheckpointError, ConfigError
from noisyexp.paper import digitized_curves, paper_tables
from noisyexp.reports import figures
from noisyexp.reports.figures import specs, unit_shapes
from noisyexp.reports.records import collect_runs, group_runs

pytest.importorskip("matplotlib")


def _write_run(
    root: Path,
    name: str,
    experiment: str,
    task: str,
    seed: int,
    rows: list,
    overrides: tuple[str, ...] = (),
) -> Path:
    run_dir = root / name
    run_dir.mkdir(parents=True)
    summary = {
        "schema": 1,
        "status": "completed",
        "task": task,
        "experiment": experiment,
        "profile": "cpu",
        "seed": seed,
        "overrides": [f"experiment={experiment}", f"seed={seed}", *overrides],
        "config": {"trainer": {"max_steps": 40, "max_epochs": None}},
    }
    (run_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    lines = "\n".join(json.dumps(row) for row in rows) + "\n"
    (run_dir / "metrics.jsonl").write_text(lines, encoding="utf-8")
    return run_dir


def _ptb_rows(offset: float) -> list[dict[str, float]]:
    return [
        {"step": 10 * e, "epoch": float(e), "valid/ppl": 200.0 - 9 * e + offset} for e in (1, 2)
    ]


def test_all_names_exist_and_are_unique() -> None:
    assert len(figures.__all__) == len(set(figures.__all__))
    for name in figures.__all__:
        assert hasattr(figures, name), name


def test_digitised_paper_curves_are_loaded_with_plain_series_names() -> None:
    curves = digitized_curves()
    assert set(curves) == {"mnist", "gru_bpc", "ptb_ppl", "lte", "ntm"}
    xs, ys = curves["ptb_ppl"]["Network Normal Noise"]
    assert xs == tuple(float(e) for e in range(1, 14))
    assert ys[-1] == pytest.approx(111.62153, abs=1e-9)  # paper.md: NAN last epoch 111.62
    xs, ys = curves["ntm"]["Regular NTM Controller"]  # the PDF legend used non-breaking spaces
    assert len(xs) == 101 and ys[-1] == pytest.approx(1.54992, abs=1e-9)
    assert len(curves["mnist"]) == 6


def test_mean_curve_averages_seeds_at_the_steps_all_of_them_logged() -> None:
    xs, ys = figures.mean_curve([([1.0, 2.0, 3.0], [4.0, 6.0, 8.0]), ([1.0, 2.0], [2.0, 2.0])])
    assert xs == [1.0, 2.0]
    assert ys == pytest.approx([3.0, 4.0], abs=1e-12)


def test_only_figures_with_runs_are_written_at_the_declared_size(tmp_path: Path) -> None:
    for seed in (1, 2):
        _write_run(tmp_path / "runs", f"nan{seed}", "ptb_small_nan", "ptb", seed, _ptb_rows(seed))
    recall = [{"step": 100 * k, "valid/nll_paper": 2.0 / k} for k in (1, 2, 3)]
    _write_run(tmp_path / "runs", "ntm", "ntm_recall_reference", "assoc_recall", 1, recall)
    lines: list[str] = []
    written = figures.main(tmp_path / "runs", tmp_path / "fig", echo=lines.append)
    names = sorted(path.name for path in written)
    assert names == ["ntm_recall_valid_nll.png", "ptb_valid_ppl.png"]
    specs = {spec.name: spec for spec in figures.curve_figures()}
    assert figures.figure_size(specs["ptb_valid_ppl"]) == figures.FIGSIZE  # one panel
    for path in written:
        assert path.stat().st_size > 5000  # a drawn figure, not an empty canvas
        width, height = figures.figure_size(specs[path.stem])
        assert png_size(path) == (int(width * figures.DPI), int(height * figures.DPI))
    assert not (tmp_path / "fig" / "mnist_train_nll.png").exists()
    assert any("skipped mnist_train_nll.png" in line for line in lines)


def test_a_figure_whose_runs_lack_the_metric_is_skipped(tmp_path: Path) -> None:
    _write_run(tmp_path, "m", "mnist_nan", "mnist", 1, [{"epoch": 1.0, "valid/error": 3.0}])
    lines: list[str] = []
    assert figures.main(tmp_path, tmp_path / "fig", echo=lines.append) == []
    assert "figures: skipped mnist_train_nll.png: no run logged train/nll or train/loss" in lines


def test_missing_matplotlib_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import now raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'noisyexp\[plots\]'"):
        figures.main(Path("unused"), Path("unused"), echo=None)


def _gaussian_checkpoint(path: Path, layers: int, units: int, cell: dict) -> Path:
    generator = torch.Generator().manual_seed(0)
    model = {}
    for layer in range(layers):
        model[f"net.{2 * layer}.weight"] = torch.randn(units, units, generator=generator)
        model[f"net.{2 * layer + 1}.p"] = torch.rand(units, generator=generator) * 2 - 1
        model[f"net.{2 * layer + 1}.c"] = torch.tensor(0.5)
    config = {"act": {"name": "noisy_tanh", "cell": cell, "gate": {"type": "nan"}, "c": None}}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, {"model": model, "optimizer": {}, "step": 5, "config": config, "rng": {}})
    return path


def test_unit_shapes_draw_one_row_per_noisy_layer(tmp_path: Path) -> None:
    pytest.importorskip("noisyexp.activations")
    cell = {"type": "nah", "alpha": 1.0, "c": 0.5}
    checkpoint = _gaussian_checkpoint(tmp_path / "last.pt", layers=3, units=8, cell=cell)
    out = figures.plot_unit_shapes(checkpoint, tmp_path / "units.png")
    assert out.stat().st_size > 5000
    assert png_size(out) == (1000, 900)  # two 5-inch columns, three 3-inch rows, 100 dpi


def test_unit_curves_are_the_test_time_eq12_values_and_slopes() -> None:
    pytest.importorskip("noisyexp.activations")
    settings = {"type": "nan", "alpha": 1.15, "c": 0.5, "half_normal": False, "test_mean": None}
    grid, outputs, slopes = unit_shapes._unit_curves(torch.tensor([1.0, -0.5]), settings, c=0.5)
    # normal noise has mean 0, so φ = 1.15·hardtanh(x) − 0.15·x; at x = 3: 1.15 − 0.45 = 0.7
    at_three = int(torch.argmin((grid - 3.0).abs()))
    at_half = int(torch.argmin((grid - 0.5).abs()))
    torch.testing.assert_close(
        outputs[at_three], torch.tensor([0.7, 0.7], dtype=torch.float64), rtol=0, atol=1e-12
    )
    torch.testing.assert_close(
        slopes[at_three], torch.tensor([-0.15, -0.15], dtype=torch.float64), rtol=0, atol=1e-12
    )
    torch.testing.assert_close(
        slopes[at_half], torch.tensor([1.0, 1.0], dtype=torch.float64), rtol=0, atol=1e-12
    )


def test_unit_curves_with_a_fixed_draw_add_the_learned_noise_in_saturation() -> None:
    pytest.importorskip("noisyexp.activations")
    settings = {"type": "nan", "alpha": 1.15, "c": 0.5, "half_normal": False, "test_mean": None}
    p_values = (1.0, -0.5)
    grid, outputs, slopes = unit_shapes._unit_curves(torch.tensor(p_values), settings, 0.5, xi=1.0)
    at_three = int(torch.argmin((grid - 3.0).abs()))
    at_half = int(torch.argmin((grid - 0.5).abs()))
    # x = 3: Δ = h − u = 1 − 3 = −2, σ = c (sigmoid(pΔ) − 0.5)², d = −sgn(3)·sgn(1 − 1.15) = +1
    expected = [0.7 + 0.5 * (1 / (1 + math.exp(2 * p)) - 0.5) ** 2 for p in p_values]
    torch.testing.assert_close(
        outputs[at_three], torch.tensor(expected, dtype=torch.float64), rtol=0, atol=1e-12
    )
    # dσ/dx = c·2(s − 0.5)·s(1 − s)·p·(−1) with s = sigmoid(pΔ): a non-zero saturated slope
    noise_slope = []
    for p in p_values:
        s = 1 / (1 + math.exp(2 * p))
        noise_slope.append(0.5 * 2 * (s - 0.5) * s * (1 - s) * -p)
    expected_slopes = [-0.15 + n for n in noise_slope]
    torch.testing.assert_close(
        slopes[at_three], torch.tensor(expected_slopes, dtype=torch.float64), rtol=0, atol=1e-12
    )
    assert all(abs(n) > 1e-3 for n in noise_slope)
    torch.testing.assert_close(  # unsaturated: no noise, the test-time slope
        slopes[at_half], torch.tensor([1.0, 1.0], dtype=torch.float64), rtol=0, atol=1e-12
    )


def test_unit_shapes_reject_checkpoints_without_noisy_units(tmp_path: Path) -> None:
    model = {"net.0.weight": torch.zeros(2, 2)}
    save_checkpoint(
        tmp_path / "a.pt", {"model": model, "optimizer": {}, "step": 1, "config": {}, "rng": {}}
    )
    with pytest.raises(CheckpointError, match="no noisy units"):
        figures.plot_unit_shapes(tmp_path / "a.pt", tmp_path / "a.png")
    (tmp_path / "b.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="is not a checkpoint"):
        figures.plot_unit_shapes(tmp_path / "b.pt", tmp_path / "b.png")
    assert not (tmp_path / "a.png").exists() and not (tmp_path / "b.png").exists()


def test_main_draws_units_from_gaussian_checkpoints_and_skips_runs_without(tmp_path: Path) -> None:
    pytest.importorskip("noisyexp.activations")
    rows = [{"step": 10, "epoch": 1.0, "test/accuracy": 0.99}]
    with_ckpt = _write_run(tmp_path / "runs", "nan", "gaussians_nan", "gaussians", 1, rows)
    _gaussian_checkpoint(with_ckpt / "checkpoints" / "last.pt", 2, 4, {"type": "nan"})
    _write_run(tmp_path / "runs", "nah", "gaussians_nah", "gaussians", 1, rows)
    lines: list[str] = []
    written = figures.main(tmp_path / "runs", tmp_path / "fig", echo=lines.append)
    assert [path.name for path in written] == ["gaussians_units_gaussians_nan.png"]
    assert png_size(written[0]) == (1000, 600)
    assert any(
        "gaussians_units_gaussians_nah.png" in line and "no checkpoint" in line for line in lines
    )


# ----------------------------------------------------------------------------------------------
# what makes a learning-curve figure readable: axis range, legend, lower panels, LTE's panels


def _spec(name: str) -> figures.CurveFigure:
    return next(spec for spec in figures.curve_figures() if spec.name == name)


def _groups(root: Path, table_id: str) -> list:
    runs, _ = collect_runs(root)
    grouped, _ = group_runs(runs, paper_tables())
    return grouped[table_id]


def _legend_label(figure, line) -> str:
    """The legend text of ``line`` (labels are wrapped: joined back into one line)."""
    legend = figure.legends[0]
    for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True):
        if (
            handle.get_color() == line.get_color()
            and handle.get_linestyle() == line.get_linestyle()
        ):
            return " ".join(text.get_text().split())
    raise AssertionError("no legend entry for the line")


def _mean_lines(axes) -> list:
    """The thick lines of a panel (the means; seeds are thin, paper lines 1.2 wide)."""
    return [line for line in axes.get_lines() if line.get_linewidth() == 2.0]


TANH_SEEDS = {1: 1.01, 2: 1.02}
NAN_SEEDS = {1: 1.03, 2: 1.06}


def _mnist_nll(epoch: int, factor: float) -> float:
    return 0.8 * math.exp(-0.1 * epoch) * factor


def _mnist_runs(root: Path, nah_like_nan: bool = False) -> Path:
    """tanh and NAN over 30 epochs (two seeds each), and a one-seed tanh at another learning
    rate whose loss falls to 5e-11: the extra run a log axis must not stretch to."""
    epochs = range(1, 31)
    for seed in (1, 2):
        for name, factors, scale in (("tanh", TANH_SEEDS, 1.0), ("nan", NAN_SEEDS, 0.9)):
            rows = [
                {"epoch": float(e), "train/loss": scale * _mnist_nll(e, factors[seed])}
                for e in epochs
            ]
            _write_run(root, f"{name}{seed}", f"mnist_{name}", "mnist", seed, rows)
            if nah_like_nan and name == "nan":  # NAH: NAN's curve times 1.0005, one line to the eye
                rows = [{**row, "train/loss": row["train/loss"] * 1.0005} for row in rows]
                _write_run(root, f"nah{seed}", "mnist_nah", "mnist", seed, rows)
    rows = [{"epoch": float(e), "train/loss": 0.5 * 10 ** (-e / 3)} for e in epochs]
    _write_run(root, "lr", "mnist_tanh", "mnist", 1, rows, overrides=("optim.lr=0.001",))
    return root


def test_interpolate_is_piecewise_linear_and_none_outside() -> None:
    xs, ys = [0.0, 2.0, 2.0, 4.0], [1.0, 3.0, 10.0, 14.0]
    assert figures.interpolate(xs, ys, 1.0) == pytest.approx(2.0, abs=1e-12)
    assert figures.interpolate(xs, ys, 3.0) == pytest.approx(12.0, abs=1e-12)  # right of the jump
    assert figures.interpolate(xs, ys, 4.0) == 14.0
    assert figures.interpolate(xs, ys, -0.1) is None and figures.interpolate(xs, ys, 4.1) is None
    assert figures.interpolate([], [], 0.0) is None


def test_mnist_log_axis_spans_the_rows_and_the_paper_not_an_extra_runs_tiny_values(
    tmp_path: Path,
) -> None:
    figure = figures.draw_curves(_spec("mnist_train_nll"), _groups(_mnist_runs(tmp_path), "mnist"))
    main = figure.axes[0]
    assert main.get_yscale() == "log"
    # the range the figure should span, computed here: our two rows' means and the paper's curves
    epochs = range(1, 31)
    tanh = [_mnist_nll(e, sum(TANH_SEEDS.values()) / 2) for e in epochs]
    nan = [0.9 * _mnist_nll(e, sum(NAN_SEEDS.values()) / 2) for e in epochs]
    paper = [y for _, ys in digitized_curves()["mnist"].values() for y in ys]
    low, high = min(tanh + nan + paper), max(tanh + nan + paper)
    bottom, top = main.get_ylim()
    assert low / 1.5 < bottom <= low and high <= top < high * 1.5
    assert bottom > 1e-4  # autoscale over the extra run would reach 5e-11
    extra = next(line for line in _mean_lines(main) if min(line.get_ydata()) < 1e-9)
    assert "leaves the axis below: min 5e-11" in _legend_label(figure, extra)


def test_mnist_ratio_panel_divides_each_row_by_tanh_ours_and_the_papers(tmp_path: Path) -> None:
    figure = figures.draw_curves(_spec("mnist_train_nll"), _groups(_mnist_runs(tmp_path), "mnist"))
    assert len(figure.axes) == 2
    lower = figure.axes[1]
    (ours,) = _mean_lines(lower)  # NAN ÷ tanh; the extra run has no tanh of its own overrides
    expected = 0.9 * (sum(NAN_SEEDS.values()) / 2) / (sum(TANH_SEEDS.values()) / 2)
    assert list(ours.get_xdata()) == [float(e) for e in range(1, 31)]
    assert ours.get_ydata() == pytest.approx([expected] * 30, rel=1e-12)
    # the paper's: each series ÷ the paper's Tanh, interpolated here with numpy
    series = digitized_curves()["mnist"]
    tanh_x = np.array(series["Tanh"][0]) + 1.0  # the figure's paper_x_shift
    dashed = [line for line in lower.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == len(series) - 1
    for name, (xs, ys) in series.items():
        if name == "Tanh":
            continue
        x = np.array(xs) + 1.0
        keep = (x >= tanh_x[0]) & (x <= tanh_x[-1])
        ratio = np.array(ys)[keep] / np.interp(x[keep], tanh_x, np.array(series["Tanh"][1]))
        assert any(
            len(line.get_ydata()) == len(ratio)
            and np.allclose(line.get_ydata(), ratio, rtol=1e-9, atol=0)
            for line in dashed
        ), name
    # the epochs the MNIST table reads are marked in both panels and named in the legend
    for axes in figure.axes:
        marks = {line.get_xdata()[0] for line in axes.get_lines() if line.get_linestyle() == ":"}
        assert marks == {10.0, 25.0}
    assert "epoch 10, 25: read by the table" in [
        t.get_text() for t in figure.legends[0].get_texts()
    ]


def test_lines_drawn_on_each_other_are_named_in_the_legend(tmp_path: Path) -> None:
    figure = figures.draw_curves(
        _spec("mnist_train_nll"), _groups(_mnist_runs(tmp_path, nah_like_nan=True), "mnist")
    )
    labels = {
        _legend_label(figure, line).split(" ")[0]: _legend_label(figure, line)
        for line in _mean_lines(figure.axes[0])
    }
    assert "same line as mnist_nan" in labels["mnist_nah"]
    assert "same line as" not in labels["mnist_nan"] and "same line as" not in labels["mnist_tanh"]


def _lte_runs(root: Path, raise_at: float | None = None) -> Path:
    for experiment in ("lte_reference", "lte_nah"):
        for seed in (1, 2):
            rows = []
            for epoch in (0.5, 1.0, 1.5, 2.0):
                length = 2.0 if raise_at is not None and epoch >= raise_at else 1.0
                rows.append(
                    {
                        "step": int(200 * epoch),
                        "epoch": epoch,
                        "train/accuracy": 30.0 + 8 * epoch + seed,
                        "valid/accuracy": 15.0 + epoch,
                        "valid/curriculum_length": length,
                        "valid/curriculum_nesting": 1.0,
                    }
                )
            _write_run(root, f"{experiment}{seed}", experiment, "lte", seed, rows)
    return root


def test_lte_ours_and_the_paper_are_separate_panels_with_the_difficulty_said(
    tmp_path: Path,
) -> None:
    spec = _spec("lte_train_accuracy")
    figure = figures.draw_curves(spec, _groups(_lte_runs(tmp_path), "table1_lte"))
    ours, paper = figure.axes
    assert "length 1, nesting 1 at every point" in ours.get_title()
    assert "not" in paper.get_title() and "report" in paper.get_title()
    # ours: no paper line, x within our 2 epochs; the paper's: only its dashed lines, from epoch 76
    assert not [line for line in ours.get_lines() if line.get_linestyle() == "--"]
    assert max(max(line.get_xdata()) for line in ours.get_lines()) == 2.0
    assert paper.get_lines() and all(line.get_linestyle() == "--" for line in paper.get_lines())
    assert min(min(line.get_xdata()) for line in paper.get_lines()) > 70.0
    texts = [" ".join(t.get_text().split()) for t in figure.legends[0].get_texts()]
    assert sum("training accuracy, curriculum mix" in t for t in texts) == 2
    assert sum("validation accuracy at the target level" in t for t in texts) == 2
    caption = " ".join(" ".join(t.get_text().split()) for t in figure.texts)
    assert "not comparable point by point" in caption


def test_lte_difficulty_is_marked_where_it_changes(tmp_path: Path) -> None:
    figure = figures.draw_curves(
        _spec("lte_train_accuracy"), _groups(_lte_runs(tmp_path, raise_at=1.5), "table1_lte")
    )
    ours = figure.axes[0]
    assert "changes" in ours.get_title()
    marks = sorted((t.xy[0], t.get_text()) for t in ours.texts)
    level_1, level_2 = (
        "curriculum level: length 1, nesting 1",
        "curriculum level: length 2, nesting 1",
    )
    assert marks == [(0.5, level_1), (0.5, level_1), (1.5, level_2), (1.5, level_2)]  # two rows


def test_ntm_zoom_panel_spans_our_runs_under_the_papers_100k(tmp_path: Path) -> None:
    for seed in (1, 2):
        rows = [{"step": 500 * k, "valid/nll_paper": 2.0 / k + seed * 0.01} for k in range(1, 41)]
        _write_run(tmp_path, f"ref{seed}", "ntm_recall_reference", "assoc_recall", seed, rows)
    figure = figures.draw_curves(_spec("ntm_recall_valid_nll"), _groups(tmp_path, "ntm_recall"))
    main, zoom = figure.axes
    assert main.get_xlim()[1] >= 100_000  # the paper's curves run to 100k updates
    low, high = zoom.get_xlim()
    assert 0 < low < 500 and 20_000 < high < 21_000
    bottom, top = zoom.get_ylim()  # the data in the window: ours from 0.06, the paper's to 2.09
    assert bottom < 0.06 and 2.08 < top < 2.3


def _assert_legend_covers_nothing(figure) -> None:
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    (legend,) = figure.legends
    box = legend.get_window_extent(renderer)
    for axes in figure.axes:
        assert not box.overlaps(axes.get_tightbbox(renderer))  # panel, title and tick labels
        for line in axes.get_lines():
            points = line.get_transform().transform(line.get_xydata())
            assert not any(box.contains(x, y) for x, y in points)
    for text in [*figure.texts, figure._suptitle]:
        if text is not None and text.get_text():
            assert not box.overlaps(text.get_window_extent(renderer))
    whole = figure.bbox
    assert whole.x0 <= box.x0 and box.x1 <= whole.x1 and whole.y0 <= box.y0 and box.y1 <= whole.y1


def test_every_figures_legend_is_outside_its_panels(tmp_path: Path) -> None:
    _mnist_runs(tmp_path / "mnist")
    _lte_runs(tmp_path / "lte")
    for seed in (1, 2):
        _write_run(tmp_path / "ptb", f"nan{seed}", "ptb_small_nan", "ptb", seed, _ptb_rows(seed))
    recall = [{"step": 100 * k, "valid/nll_paper": 2.0 / k} for k in (1, 2, 3)]
    _write_run(tmp_path / "ntm", "ntm", "ntm_recall_reference", "assoc_recall", 1, recall)
    for name, folder, table in (
        ("mnist_train_nll", "mnist", "mnist"),
        ("lte_train_accuracy", "lte", "table1_lte"),
        ("ptb_valid_ppl", "ptb", "table2_ptb"),
        ("ntm_recall_valid_nll", "ntm", "ntm_recall"),
    ):
        figure = figures.draw_curves(_spec(name), _groups(tmp_path / folder, table))
        _assert_legend_covers_nothing(figure)


def test_a_figure_is_the_same_bytes_when_drawn_twice(tmp_path: Path) -> None:
    groups = _groups(_mnist_runs(tmp_path / "runs"), "mnist")
    first = figures.plot_curves(_spec("mnist_train_nll"), groups, tmp_path / "a.png")
    second = figures.plot_curves(_spec("mnist_train_nll"), groups, tmp_path / "b.png")
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"legend_loc": "best"}, "unknown key"),
        ({"ratio_to_reference": True, "zoom_to_ours": True}, "exclude each other"),
        ({"level_keys": ["a", "b"], "level_format": "{0} {2}"}, "does not format"),
        ({"level_keys": ["a"]}, "go together"),
        ({"also": ["valid/ppl"]}, "mapping"),
    ],
)
def test_bad_figure_declarations_are_config_errors(
    monkeypatch: pytest.MonkeyPatch, extra: dict, message: str
) -> None:
    table = next(t for t in paper_tables() if t["id"] == "table2_ptb")
    table["figures"] = [{**table["figures"][0], **extra}]
    monkeypatch.setattr(specs, "paper_tables", lambda: [table])
    with pytest.raises(ConfigError, match=message):
        figures.curve_figures()
