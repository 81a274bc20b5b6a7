"""Extension points: a schedule added to its registry alone trains; unknown names are one line."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from noisyexp import activations
from noisyexp.activations import schedules
from noisyexp.cli.app import main
from noisyexp.config.act import build_units
from noisyexp.config.optimizers import OPTIMIZERS, make_optimizer
from noisyexp.core.errors import ConfigError
from noisyexp.tasks import TASKS, get_task
from noisyexp.training.run_log import read_jsonl
from noisyexp.training.trainer import train

ONE_STEP = ["trainer.max_steps=1", "trainer.eval_every=1", "trainer.log_every=1"]


@dataclass(frozen=True)
class Halving:
    """A schedule from elsewhere: c0 halved every step."""

    c0: float = 8.0

    def __post_init__(self) -> None:
        if self.c0 <= 0:
            raise ValueError(f"c0 must be > 0, got {self.c0}")

    def __call__(self, step: int) -> float:
        return self.c0 / 2**step


def test_a_schedule_added_to_the_registry_alone_trains(compose_config, tmp_path, monkeypatch):
    monkeypatch.setitem(schedules.SCHEDULES, "halving", Halving)
    # its schema base_halving is derived from the dataclass; a YAML conf/noise/halving.yaml
    # listing it would be the option `noise=halving`, here the schema is picked directly
    cfg = compose_config("act=nanil", "noise=base_halving", "noise.c0=4.0", *ONE_STEP)
    assert (cfg.noise.name, cfg.noise.c0) == ("halving", 4.0)
    result = train(cfg, tmp_path / "run")
    assert result.summary["noise"] == "halving"
    assert [row["noise/c"] for row in read_jsonl(tmp_path / "run" / "metrics.jsonl")] == [4.0]
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    scales = [value for key, value in state["model"].items() if key.endswith(".c")]
    assert scales and all(float(value) == 4.0 for value in scales)
    with pytest.raises(ConfigError, match=r"noise\.c0 must be > 0"):
        compose_config("noise=base_halving", "noise.c0=0")


@pytest.fixture
def registered_unit():
    """A unit variant added through the registry alone (and removed afterwards)."""
    activations.register_unit(
        "nan_double_c",
        activations.NoisyOutput,
        defaults={"tanh": {"alpha": 1.15, "c": 1.0}, "sigmoid": {"alpha": 1.1, "c": 0.3}},
    )
    yield "nan_double_c"
    del activations.UNIT_TYPES["nan_double_c"]


def test_a_unit_added_to_the_registry_alone_trains(compose_config, tmp_path, registered_unit):
    # a YAML conf/act/<name>.yaml naming the type would be the option; here the types are set
    types = [f"act.gate.type={registered_unit}", f"act.cell.type={registered_unit}"]
    cfg = compose_config("act='nan'", *types, "act.cell.alpha=1.3", "act.clip=true", *ONE_STEP)
    result = train(cfg, tmp_path / "run")
    assert result.status == "completed" and result.summary["steps"] == 1
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    scales = sorted({round(float(v), 4) for k, v in state["model"].items() if k.endswith(".c")})
    assert scales == [1.0]  # the variant's own default c reached the MLP's (cell) units
    units = build_units(cfg.act)
    assert units.cell(2).alpha == 1.3 and units.cell(2).clip_output and units.gate(2).clip_output


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("noisyexp: error: ")
    return err[0]


@pytest.mark.parametrize(
    ("overrides", "needles"),
    [
        (["noise=cosine"], ["unknown noise option 'cosine'", "anneal, constant, exponential"]),
        (["act=nam"], ["unknown act option 'nam'", "hard, hard_tanh, laplace, nah, nan"]),
        (["noise=anneal", "noise.name=cosine"], ["cosine", "anneal, linear, exponential"]),
        (["optim=lbfgs"], ["lbfgs", "adam, rmsprop, sgd, zaremba"]),
        (["optim.name=lbfgs"], ["lbfgs", "sgd, adam, rmsprop"]),
        (["task=nosuchtask"], ["nosuchtask", "assoc_recall, copy, gaussians"]),
        (["task.name=nosuchtask"], ["nosuchtask", "gaussians"]),
    ],
)
def test_an_unknown_schedule_optimizer_or_task_is_one_line(tmp_path, capsys, overrides, needles):
    args = [f"paths.results_dir={tmp_path}", "trainer.progress=false", *ONE_STEP, *overrides]
    assert main(["train", *args]) == 2
    line = _one_error_line(capsys)
    assert all(needle in line for needle in needles), line
    assert not list(tmp_path.rglob("summary.json"))


def test_the_registries_reject_unknown_names_listing_the_choices():
    with pytest.raises(ValueError, match=r"cosine.*choose one of: constant, anneal"):
        schedules.make_schedule("cosine")
    optim = type("Optim", (), {"name": "lbfgs"})()
    with pytest.raises(ConfigError, match=r"lbfgs.*sgd, adam, rmsprop"):
        make_optimizer(optim, torch.nn.Linear(1, 1))
    with pytest.raises(ConfigError, match=r"nosuchtask.*gaussians"):
        get_task("nosuchtask")


def test_tasks_are_discovered_from_their_modules():
    assert set(TASKS) >= {"gaussians", "mnist", "ptb", "wordlm", "ptb_char", "unique_count"}
    assert {"copy", "assoc_recall"} <= set(TASKS)
    assert set(OPTIMIZERS) == {"sgd", "adam", "rmsprop"}
