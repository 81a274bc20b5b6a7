"""Figures from fabricated runs: PNGs of the right size for present data only, paper curves."""

from __future__ import annotations

import json
import math
import struct
import sys
from pathlib import Path

import pytest
import torch

from noisyexp.core.checkpoint import save_checkpoint
from noisyexp.core.errors import CheckpointError, ConfigError
from noisyexp.paper import digitized_curves
from noisyexp.reports import figures

pytest.importorskip("matplotlib")


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG signature and IHDR chunk (bytes 16-24, big-endian)."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and header[12:16] == b"IHDR"
    return struct.unpack(">II", header[16:24])


def _write_run(root: Path, name: str, experiment: str, task: str, seed: int, rows: list) -> Path:
    run_dir = root / name
    run_dir.mkdir(parents=True)
    summary = {
        "schema": 1,
        "status": "completed",
        "task": task,
        "experiment": experiment,
        "profile": "cpu",
        "seed": seed,
        "overrides": [f"experiment={experiment}", f"seed={seed}"],
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
    width, height = (int(v * figures.DPI) for v in figures.FIGSIZE)
    for path in written:
        assert path.stat().st_size > 5000  # a drawn figure, not an empty canvas
        assert _png_size(path) == (width, height)
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
    assert _png_size(out) == (1000, 900)  # two 5-inch columns, three 3-inch rows, 100 dpi


def test_unit_curves_are_the_test_time_eq12_values_and_slopes() -> None:
    pytest.importorskip("noisyexp.activations")
    settings = {"type": "nan", "alpha": 1.15, "c": 0.5, "half_normal": False, "test_mean": None}
    grid, outputs, slopes = figures._unit_curves(torch.tensor([1.0, -0.5]), settings, c=0.5)
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
    grid, outputs, slopes = figures._unit_curves(torch.tensor(p_values), settings, 0.5, xi=1.0)
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
    assert _png_size(written[0]) == (1000, 600)
    assert any(
        "gaussians_units_gaussians_nah.png" in line and "no checkpoint" in line for line in lines
    )
