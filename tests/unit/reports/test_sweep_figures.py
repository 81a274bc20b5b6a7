"""The sweep figure (PTB perplexity against the noise scale c) from fabricated runs: each point's x
from its runs' resolved config, its mean, min, max and n over seeds, the reference row's mean,
no figure without points, and malformed declarations refused."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from _png import png_size
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from noisyexp.cli.app import CONF_DIR
from noisyexp.config.schema import register_configs
from noisyexp.core.errors import ConfigError
from noisyexp.paper import paper_tables
from noisyexp.reports import figures
from noisyexp.reports.figures import sweep_specs
from noisyexp.reports.figures.sweep_data import references
from noisyexp.reports.records import collect_runs, group_runs

pytest.importorskip("matplotlib")


def _preset_act(experiment: str) -> dict[str, Any]:
    """The ``act`` section of ``experiment``'s resolved config, as a run's summary.json has it."""
    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose("config", overrides=[f"experiment={experiment}"])
    finally:
        GlobalHydra.instance().clear()
    return OmegaConf.to_container(cfg.act, resolve=True)


@pytest.fixture(scope="module")
def acts() -> dict[str, dict[str, Any]]:
    return {name: _preset_act(name) for name in ("ptb_small_nan", "ptb_small_nan_c0")}


def _write(
    root: Path,
    experiment: str,
    seed: int,
    act: dict[str, Any],
    valid: float,
    test: float | None,
    *,
    profile: str = "full",
    overrides: tuple[str, ...] = (),
) -> None:
    run_dir = root / profile / "_".join([experiment, *overrides, str(seed)])
    run_dir.mkdir(parents=True)
    summary = {
        "schema": 1,
        "status": "completed",
        "task": "ptb",
        "experiment": experiment,
        "profile": profile,
        "seed": seed,
        "overrides": [f"experiment={experiment}", f"seed={seed}", *overrides],
        "config": {"act": act, "trainer": {"max_steps": 150}},
        "final": {"valid/ppl": valid},
        **({"test": {"test/ppl": test}} if test is not None else {}),
    }
    (run_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")


def _with_c(act: dict[str, Any], c: float) -> dict[str, Any]:
    return {**act, "c": c}


def _runs(root: Path, acts: dict[str, dict[str, Any]]) -> Path:
    """full: c0 (2 seeds), the preset's defaults (3), the sweep's act.c=1 (1), the reference
    (2), and rows that give no point (another override, another preset); cpu: act.c=2 only."""
    nan, c0 = acts["ptb_small_nan"], acts["ptb_small_nan_c0"]
    for seed, valid, test in ((1, 130.0, 126.0), (2, 134.0, 128.0)):
        _write(root, "ptb_small_nan_c0", seed, c0, valid, test)
    for seed, valid, test in ((1, 120.0, 116.0), (2, 121.0, None), (3, 125.0, 117.0)):
        _write(root, "ptb_small_nan", seed, nan, valid, test)
    _write(root, "ptb_small_nan", 1, _with_c(nan, 1.0), 140.0, 135.0, overrides=("act.c=1",))
    _write(root, "ptb_small_nan", 1, nan, 99.0, 99.0, overrides=("optim.lr=0.5",))
    _write(root, "ptb_small_nah", 1, acts["ptb_small_nan"], 98.0, 98.0)
    for seed, valid, test in ((1, 150.0, 140.0), (2, 154.0, 146.0)):
        ref = {"name": "sigmoid_tanh", "c": None}
        _write(root, "ptb_small_reference", seed, ref, valid, test)
    cpu = {"profile": "cpu", "overrides": ("act.c=2",)}
    for seed, valid in ((1, 600.0), (2, 610.0), (3, 620.0)):
        _write(root, "ptb_small_nan", seed, _with_c(nan, 2.0), valid, valid - 10, **cpu)
    return root


def _groups(root: Path) -> list:
    runs, _ = collect_runs(root)
    grouped, _ = group_runs(runs, paper_tables())
    return grouped["table2_ptb"]


def _spec() -> figures.SweepFigure:
    (spec,) = [s for s in figures.sweep_figures() if s.name == "ptb_noise_scale_ppl"]
    return spec


def test_the_ptb_declaration_reads_act_c_of_the_nan_rows() -> None:
    spec = _spec()
    assert spec.table_id == "table2_ptb" and spec.metrics == ("valid/ppl", "test/ppl")
    assert spec.x_key == "act.c" and spec.x_unset == "unit_defaults"
    assert spec.experiments == ("ptb_small_nan_c0", "ptb_small_nan")


def test_the_presets_resolved_configs_give_c0_and_the_unit_defaults(acts: dict) -> None:
    assert acts["ptb_small_nan_c0"]["c"] == 0.0  # the c0 preset sets act.c itself
    assert acts["ptb_small_nan"]["c"] is None  # the default preset leaves it to the units


def test_points_take_x_from_the_runs_config_and_average_their_seeds(
    tmp_path: Path, acts: dict
) -> None:
    points = figures.sweep_points(_spec(), _groups(_runs(tmp_path, acts)))
    got = [(p.profile, p.x, p.setting, p.group.experiment, p.group.overrides) for p in points]
    assert got == [
        ("cpu", 2.0, "", "ptb_small_nan", ("act.c=2",)),
        ("full", 0.0, "", "ptb_small_nan_c0", ()),  # x = 0.0 from the c0 preset's config
        ("full", 0.5, "cells c = 0.5, gates c = 0.15", "ptb_small_nan", ()),
        ("full", 1.0, "", "ptb_small_nan", ("act.c=1",)),
    ]  # not the optim.lr row, not NAH
    cpu, c0, default, one = points
    valid = c0.values["valid/ppl"]  # 130, 134
    assert (valid.mean, valid.low, valid.high, valid.n) == (132.0, 130.0, 134.0, 2)
    assert valid.std == pytest.approx(math.sqrt(8.0), abs=1e-12)
    valid, test = default.values["valid/ppl"], default.values["test/ppl"]  # 120, 121, 125
    assert (valid.mean, valid.low, valid.high, valid.n) == (122.0, 120.0, 125.0, 3)
    assert valid.std == pytest.approx(math.sqrt(7.0), abs=1e-12)  # (4 + 1 + 9) / 2
    assert (test.mean, test.low, test.high, test.n) == (116.5, 116.0, 117.0, 2)  # seed 2: none
    assert one.values["valid/ppl"].n == 1 and one.values["valid/ppl"].std is None
    assert cpu.values["test/ppl"].mean == 600.0


def test_x_is_the_configs_not_the_overrides_text(tmp_path: Path, acts: dict) -> None:
    nan = acts["ptb_small_nan"]
    _write(tmp_path, "ptb_small_nan", 1, _with_c(nan, 0.25), 1.0, 1.0, overrides=("act.c=2",))
    (point,) = figures.sweep_points(_spec(), _groups(tmp_path))
    assert point.x == 0.25


def test_the_reference_row_gives_each_profiles_mean(tmp_path: Path, acts: dict) -> None:
    refs = references(_spec(), _groups(_runs(tmp_path, acts)))
    assert set(refs) == {"full"}  # cpu has no reference run
    assert refs["full"]["valid/ppl"].mean == 152.0 and refs["full"]["valid/ppl"].n == 2
    assert refs["full"]["test/ppl"].mean == 143.0


def test_the_figure_has_a_panel_per_profile_with_n_and_the_reference_drawn(
    tmp_path: Path, acts: dict
) -> None:
    figure = figures.draw_sweep(_spec(), _groups(_runs(tmp_path, acts)))
    cpu, full = figure.axes
    assert cpu.get_title() == "profile cpu" and full.get_title() == "profile full"
    assert [t.get_text() for t in full.get_xticklabels()] == ["0", "0.5", "1"]
    joined = [line for line in full.get_lines() if line.get_linestyle() == "-"]
    valid_line = next(line for line in joined if list(line.get_ydata()) == [132.0, 140.0])
    assert list(valid_line.get_xdata()) == [0.0, 1.0]  # the default point is off the line
    dashed = sorted(
        line.get_ydata()[0] for line in full.get_lines() if line.get_linestyle() == "--"
    )
    assert dashed == [143.0, 152.0]
    assert not [line for line in cpu.get_lines() if line.get_linestyle() == "--"]
    n_marks = sorted(t.get_text() for t in full.texts if t.get_text().startswith("n="))
    assert n_marks == ["n=1", "n=1", "n=2", "n=2", "n=2", "n=3"]
    caption = " ".join(" ".join(t.get_text().split()) for t in figure.texts)
    assert "cpu: 3 seeds a point; full: 1–3 seeds a point" in caption
    assert "LSTM (Reference)" in caption
    labels = [" ".join(t.get_text().split()) for t in figure.legends[0].get_texts()]
    assert "Valid ppl, act.c unset: cells c = 0.5, gates c = 0.15" in labels


def test_main_writes_the_sweep_figure_at_its_size(tmp_path: Path, acts: dict) -> None:
    written = figures.main(_runs(tmp_path / "runs", acts), tmp_path / "fig", echo=None)
    (path,) = [p for p in written if p.name == "ptb_noise_scale_ppl.png"]
    width, height = figures.sweep_figure_size(2)
    assert png_size(path) == (int(width * figures.DPI), int(height * figures.DPI))


def test_no_point_means_no_figure(tmp_path: Path, acts: dict) -> None:
    _write(tmp_path, "ptb_small_reference", 1, {"name": "sigmoid_tanh"}, 150.0, 140.0)
    lines: list[str] = []
    written = figures.main(tmp_path, tmp_path / "fig", echo=lines.append)
    assert not (tmp_path / "fig" / "ptb_noise_scale_ppl.png").exists()
    assert all(path.name != "ptb_noise_scale_ppl.png" for path in written)
    assert "figures: skipped ptb_noise_scale_ppl.png: no completed runs for it" in lines
    assert figures.draw_sweep(_spec(), _groups(tmp_path)) is None


def test_runs_without_x_or_metrics_give_no_figure(tmp_path: Path) -> None:
    _write(tmp_path, "ptb_small_nan", 1, {"name": "nan"}, 120.0, 110.0)  # no c in the config
    lines: list[str] = []
    figures.main(tmp_path, tmp_path / "fig", echo=lines.append)
    assert not (tmp_path / "fig" / "ptb_noise_scale_ppl.png").exists()
    assert any("skipped ptb_noise_scale_ppl.png: no run gave act.c" in line for line in lines)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"legend_loc": "best"}, "unknown key"),
        ({"metrics": ["valid/bpc"]}, "not the table's"),
        ({"metrics": "valid/ppl"}, "non-empty list"),
        ({"experiments": []}, "non-empty list"),
        ({"experiments": ["mnist_nan"]}, "not rows of the table"),
        ({"x_unset": "zero"}, "not one of unit_defaults"),
        ({"x_key": "optim.lr"}, "needs an x_key act.<knob>"),
        ({"name": "ptb_valid_ppl"}, "no other figure"),
        ({"title": 3}, "title is a string"),
        ({"x_key": ""}, "names a config key"),
    ],
)
def test_bad_sweep_figure_declarations_are_config_errors(
    monkeypatch: pytest.MonkeyPatch, change: dict, message: str
) -> None:
    table = next(t for t in paper_tables() if t["id"] == "table2_ptb")
    entry = {**table["sweep_figures"][0], **change}
    table["sweep_figures"] = [{k: v for k, v in entry.items() if v is not None}]
    monkeypatch.setattr(sweep_specs, "paper_tables", lambda: [table])
    with pytest.raises(ConfigError, match=rf"table table2_ptb, sweep figure .*{message}"):
        figures.sweep_figures()


def test_a_missing_key_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    table = next(t for t in paper_tables() if t["id"] == "table2_ptb")
    table["sweep_figures"] = [{k: v for k, v in table["sweep_figures"][0].items() if k != "x_key"}]
    monkeypatch.setattr(sweep_specs, "paper_tables", lambda: [table])
    with pytest.raises(ConfigError, match=r"table table2_ptb, sweep figure .*x_key"):
        figures.sweep_figures()
