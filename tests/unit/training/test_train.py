"""The trainer end to end on the three-Gaussian task: artifacts, reproducibility, exact resume."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import torch

from noisyexp.activations import schedules
from noisyexp.core.checkpoint import load_checkpoint
from noisyexp.core.errors import CheckpointError, TrainingError
from noisyexp.tasks.gaussians import GaussiansTask
from noisyexp.training.run_log import read_jsonl
from noisyexp.training.trainer import RunInfo, train

FAST = ["trainer.max_steps=12", "trainer.eval_every=4", "trainer.log_every=2"]
NOISY = [*FAST, "act=noisy_tanh_half", "act.alpha=1.0"]


def _summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def test_run_writes_summary_metrics_tensorboard_and_checkpoints(compose_config, tmp_path):
    cfg = compose_config(*NOISY)
    info = RunInfo(experiment="gaussians_nah", overrides=["act=noisy_tanh_half"])
    result = train(cfg, tmp_path / "run", info)
    run_dir = result.run_dir
    summary = _summary(run_dir)
    assert summary["status"] == "completed" and summary["error"] is None
    assert (summary["task"], summary["act"], summary["seed"]) == ("gaussians", "nah", 0)
    assert summary["experiment"] == "gaussians_nah"
    assert summary["steps"] == 12
    assert summary["dataset"]["name"] == "gaussians" and len(summary["dataset"]["checksum"]) == 32
    assert summary["code_version"]
    assert set(summary["final"]) >= {"valid/loss", "valid/acc", "valid/error"}
    assert set(summary["test"]) >= {"test/loss", "test/error"}
    assert summary["best"]["step"] in (4, 8, 12)
    assert summary["config"]["act"]["cell"]["type"] == "nah"
    rows = read_jsonl(run_dir / "metrics.jsonl")
    assert [row["step"] for row in rows] == [4, 8, 12]
    assert all("valid/error" in row and "train/loss" in row and "noise/c" in row for row in rows)
    assert list(run_dir.glob("events.out.tfevents.*"))
    for name in ("last.pt", "best.pt"):
        payload = torch.load(run_dir / "checkpoints" / name, weights_only=True)
        assert "model" in payload and payload["config"]["seed"] == 0
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"] == 12


def test_tensorboard_log_holds_loss_lr_noise_and_saturation(compose_config, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = train(compose_config(*NOISY), tmp_path / "run")
    events = EventAccumulator(str(result.run_dir))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/lr", "noise/c", "valid/error"} <= tags
    assert any(tag.startswith("saturation/") for tag in tags)


def test_same_config_and_seed_give_identical_metrics(compose_config, tmp_path):
    first = train(compose_config(*NOISY), tmp_path / "a").summary
    second = train(compose_config(*NOISY), tmp_path / "b").summary
    assert first["final"] == second["final"] and first["test"] == second["test"]
    third = train(compose_config(*NOISY, "seed=1"), tmp_path / "c").summary
    assert third["final"] != first["final"]


def _state(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["model"]


def test_stopped_and_resumed_run_is_bit_identical(compose_config, tmp_path):
    straight = train(compose_config(*NOISY), tmp_path / "straight")
    half = compose_config(*NOISY, "trainer.max_steps=8")  # stop at an evaluation
    train(half, tmp_path / "resumed")
    resumed_cfg = compose_config(*NOISY, f"resume={tmp_path / 'resumed'}")
    resumed = train(resumed_cfg, tmp_path / "resumed")
    assert resumed.summary["final"] == straight.summary["final"]
    assert resumed.summary["test"] == straight.summary["test"]
    for key, value in _state(straight.run_dir).items():
        assert torch.equal(value, _state(resumed.run_dir)[key]), key
    straight_rows = read_jsonl(straight.run_dir / "metrics.jsonl")
    resumed_rows = read_jsonl(resumed.run_dir / "metrics.jsonl")
    drop = ("time_s",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in resumed_rows] == [
        {k: v for k, v in r.items() if k not in drop} for r in straight_rows
    ]


def test_resume_refuses_a_changed_model(compose_config, tmp_path):
    train(compose_config(*NOISY, "trainer.max_steps=4"), tmp_path / "run")
    changed = compose_config(*NOISY, "act.c=0.3", f"resume={tmp_path / 'run'}")
    with pytest.raises(CheckpointError, match=r"act\.c"):
        train(changed, tmp_path / "run")


def test_a_finished_run_directory_is_not_overwritten(compose_config, tmp_path):
    train(compose_config(*FAST, "trainer.max_steps=4"), tmp_path / "run")
    with pytest.raises(CheckpointError, match="resume="):
        train(compose_config(*FAST), tmp_path / "run")


def test_nan_loss_fails_the_run_and_keeps_the_last_good_checkpoint(
    compose_config, tmp_path, monkeypatch
):
    original = GaussiansTask.train_step

    def poisoned(self, model, step):
        output = original(self, model, step)
        if step == 9:
            output.loss = output.loss * float("nan")
        return output

    monkeypatch.setattr(GaussiansTask, "train_step", poisoned)
    with pytest.raises(TrainingError, match="step 9"):
        train(compose_config(*FAST), tmp_path / "run")
    summary = _summary(tmp_path / "run")
    assert summary["status"] == "failed" and "nan" in summary["error"]
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["step"] == 8


def test_signal_stops_between_steps_and_the_run_resumes_exactly(
    compose_config, tmp_path, monkeypatch
):
    straight = train(compose_config(*NOISY), tmp_path / "straight")
    original = GaussiansTask.train_step

    def interrupted(self, model, step):
        if step == 5:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(self, model, step)

    monkeypatch.setattr(GaussiansTask, "train_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(compose_config(*NOISY), tmp_path / "run")
    summary = _summary(tmp_path / "run")
    assert summary["status"] == "interrupted" and summary["steps"] == 6
    monkeypatch.setattr(GaussiansTask, "train_step", original)
    resumed = train(compose_config(*NOISY, f"resume={tmp_path / 'run'}"), tmp_path / "run")
    assert resumed.status == "completed"
    assert resumed.summary["test"] == straight.summary["test"]


def test_annealed_noise_scale_follows_the_schedule_and_reaches_the_units(compose_config, tmp_path):
    cfg = compose_config(*NOISY, "noise=anneal", "noise.every=2")
    result = train(cfg, tmp_path / "run")
    rows = read_jsonl(result.run_dir / "metrics.jsonl")
    anneal = schedules.Anneal(c0=30.0, c_min=0.5, every=2)
    for row in rows:
        assert row["noise/c"] == pytest.approx(anneal(row["step"] - 1))
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(result.run_dir))
    events.Reload()
    logged = [(e.step, e.value) for e in events.Scalars("noise/c")]
    assert [step for step, _ in logged] == list(range(1, 13))  # every step
    for step, value in logged:
        assert value == pytest.approx(anneal(step - 1))
    state = _state(result.run_dir)
    scales = [value for key, value in state.items() if key.endswith(".c")]
    assert scales and all(float(v) == pytest.approx(anneal(11)) for v in scales)


def test_learning_rate_decays_per_epoch(compose_config, tmp_path):
    # 3000 examples / batch 1000 = 3 steps per epoch
    cfg = compose_config(
        "task.batch_size=1000",
        "trainer.max_steps=null",
        "trainer.max_epochs=4",
        "trainer.eval_every=0",
        "optim.lr=0.1",
        "optim.lr_decay=0.5",
        "optim.lr_decay_start_epoch=2",
    )
    result = train(cfg, tmp_path / "run")
    rows = read_jsonl(result.run_dir / "metrics.jsonl")
    assert [row["step"] for row in rows] == [3, 6, 9, 12]
    assert [row["lr"] for row in rows] == [0.1, 0.1, 0.05, 0.025]
    assert result.summary["epochs"] == 4.0


def test_training_stops_at_max_steps_or_max_epochs_whichever_comes_first(compose_config, tmp_path):
    # 3000 examples / batch 1000 = 3 steps per epoch
    by_epochs = compose_config(
        "task.batch_size=1000", "trainer.max_steps=100", "trainer.max_epochs=2"
    )
    assert train(by_epochs, tmp_path / "a").summary["steps"] == 6
    by_steps = compose_config("task.batch_size=1000", "trainer.max_steps=4", "trainer.max_epochs=2")
    assert train(by_steps, tmp_path / "b").summary["steps"] == 4
