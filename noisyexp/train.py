"""The trainer: one seeded, resumable training run of a task, from a validated config.

``train(cfg, run_dir, ...)`` is the whole job and is called in-process by the CLI and by tests.
It owns the optimizer, clipping, the learning-rate and noise schedules, the noise generator,
evaluation, checkpoints, logs and the run summary. Tasks own data, models and metrics.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from noisyexp import activations, schedules
from noisyexp.checkpoint import load_checkpoint, save_checkpoint
from noisyexp.config import NoiseConfig, RunConfig
from noisyexp.device import resolve_device, set_deterministic
from noisyexp.errors import CheckpointError, TrainingError
from noisyexp.optimizers import learning_rate, make_optimizer
from noisyexp.rng import capture_rng_state, restore_rng_state, seed_everything
from noisyexp.run_log import JsonlLogger, TensorBoardLogger
from noisyexp.stopping import StopRequest
from noisyexp.summary import SUMMARY_SCHEMA, environment, write_json_atomic
from noisyexp.tasks import get_task
from noisyexp.tasks.base import Task
from noisyexp.units import build_units

__all__ = ["RunInfo", "RunResult", "noise_scale", "previous_status", "train"]

log = logging.getLogger(__name__)

#: keys that may change when a run is resumed; any other change is refused
RESUMABLE_KEYS = ("trainer", "paths", "resume", "debug", "profile")
_NOISE_SEED_OFFSET = 7_919  # keeps the noise stream distinct from the init stream
_HEARTBEAT_S = 60.0  # without a progress bar, a progress line at most this often


@dataclass
class RunInfo:
    """What the CLI knows about a run beyond its config (Hydra's choices and overrides)."""

    experiment: str | None = None
    overrides: list[str] = field(default_factory=list)
    choices: dict[str, str] = field(default_factory=dict)


@dataclass
class RunResult:
    """The outcome of :func:`train`."""

    run_dir: Path
    status: str
    summary: dict[str, Any]


def noise_scale(noise: NoiseConfig, step: int) -> float | None:
    """The scheduled c at ``step``, or ``None`` for ``constant`` (units keep their own c)."""
    if noise.name == "constant":
        return None
    if noise.name == "anneal":
        return schedules.anneal_c(step, c0=noise.c0, c_min=noise.c_min, every=noise.every)
    if noise.name == "linear":
        return schedules.linear_c(
            step, c0=noise.c0, c_min=noise.c_min, total_steps=noise.decay_steps
        )
    return schedules.exponential_c(
        step, c0=noise.c0, decay=noise.rate, every=noise.every, c_min=noise.c_min
    )


def _structural_changes(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Dotted keys whose values differ between two configs, ignoring resumable keys."""
    changes = []

    def walk(a: Any, b: Any, prefix: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                if key not in a and b[key] in (None, False):
                    continue  # an option added since the run started, left off: same run
                walk(a.get(key), b.get(key), f"{prefix}{key}.")
        elif a != b:
            changes.append(prefix.rstrip("."))

    for key in sorted(set(saved) | set(current)):
        if key not in RESUMABLE_KEYS:
            walk(saved.get(key), current.get(key), f"{key}.")
    return changes


class _Run:
    """State of one training run; methods are the steps of the loop."""

    def __init__(self, cfg: RunConfig, run_dir: Path, info: RunInfo) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.info = info
        self.config_data = dataclasses.asdict(cfg)
        self.device = resolve_device(cfg.trainer.device)
        set_deterministic(cfg.trainer.deterministic)
        if cfg.trainer.num_threads is not None:
            torch.set_num_threads(cfg.trainer.num_threads)
        units = build_units(cfg.act)  # validates the act before any data is read
        _, task_class = get_task(cfg.task.name)
        self.task: Task = task_class(
            cfg.task,
            data_dir=Path(cfg.paths.data_dir),
            seed=cfg.seed,
            device=self.device,
            download=cfg.paths.download,
        )
        seed_everything(cfg.seed)
        self.model = self.task.build_model(units).to(self.device)
        self.noise_generator = torch.Generator(device=self.device)
        self.noise_generator.manual_seed(cfg.seed + _NOISE_SEED_OFFSET)
        activations.set_noise_generator(self.model, self.noise_generator)
        self.optimizer = make_optimizer(cfg.optim, self.model)
        self.steps_per_epoch = self.task.steps_per_epoch()
        trainer = cfg.trainer
        budgets = [trainer.max_steps, None]
        if trainer.max_epochs is not None:
            budgets[1] = trainer.max_epochs * self.steps_per_epoch
        self.max_steps = min(b for b in budgets if b is not None)  # whichever comes first
        self.step = 0
        self.best: dict[str, Any] = {}
        self.last_eval: dict[str, float] = {}
        self.train_loss_sum = 0.0
        self.train_loss_count = 0
        self.elapsed_before = 0.0
        self.items_seen = 0  # since the last log line, for throughput
        self.ckpt_dir = self.run_dir / "checkpoints"

    # ---- checkpoints -------------------------------------------------------------------
    def checkpoint_payload(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "task": self.task.state_dict(),
            "step": self.step,
            "best": self.best,
            "last_eval": self.last_eval,
            "train_loss": [self.train_loss_sum, self.train_loss_count],
            "elapsed_s": self.elapsed_before + (time.monotonic() - self.started),
            "rng": capture_rng_state(self.noise_generator),
            "config": self.config_data,
        }

    def save(self, name: str) -> None:
        save_checkpoint(self.ckpt_dir / name, self.checkpoint_payload())

    def restore(self) -> None:
        payload = load_checkpoint(self.ckpt_dir / "last.pt")
        changes = _structural_changes(payload["config"], self.config_data)
        if changes:
            raise CheckpointError(
                f"cannot resume {self.run_dir}: changed {', '.join(changes)} "
                "(only trainer.*, paths.* may change on resume)"
            )
        try:
            self.model.load_state_dict(payload["model"])
            self.optimizer.load_state_dict(payload["optimizer"])
        except (RuntimeError, ValueError, KeyError) as err:
            first = str(err).strip().splitlines()[0]
            raise CheckpointError(f"checkpoint does not fit the model: {first}") from None
        self.task.load_state_dict(payload["task"])
        self.step = int(payload["step"])
        self.best = dict(payload["best"])
        self.last_eval = dict(payload["last_eval"])
        self.train_loss_sum, self.train_loss_count = payload["train_loss"]
        self.elapsed_before = float(payload["elapsed_s"])
        restore_rng_state(payload["rng"], self.noise_generator)

    # ---- the loop ----------------------------------------------------------------------
    def epoch(self, step: int) -> int:
        return step // self.steps_per_epoch

    def apply_schedules(self, step: int) -> tuple[float, float | None]:
        lr = learning_rate(self.cfg.optim, self.epoch(step))
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        c = noise_scale(self.cfg.noise, step)
        if c is not None:
            schedules.set_noise_scale(self.model, c)
        return lr, c

    def train_step(self, step: int) -> float:
        self.model.train()
        output = self.task.train_step(self.model, step)
        self.items_seen += output.num_items
        loss = output.loss
        value = (output.reported_loss if output.reported_loss is not None else loss).item()
        if not math.isfinite(value):
            raise TrainingError(f"loss became {value} at step {step}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.optim.clip_norm is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.clip_norm)
        self.optimizer.step()
        self.train_loss_sum += value
        self.train_loss_count += 1
        return value

    def current_noise(self, scheduled: float | None) -> float | None:
        if scheduled is not None:
            return scheduled
        scales = [float(module.c) for module in activations.noisy_modules(self.model)]
        return sum(scales) / len(scales) if scales else None

    def evaluate(self, splits: tuple[str, ...]) -> dict[str, float]:
        """Metrics with the noise replaced by its expectation (eval mode, no dropout)."""
        self.model.eval()
        metrics: dict[str, float] = {}
        for split in splits:
            for key, value in self.task.evaluate(self.model, split).items():
                metrics[f"{split}/{key}"] = float(value)
        return metrics

    def is_better(self, metrics: dict[str, float]) -> bool:
        key = f"valid/{self.task.primary_metric}"
        if key not in metrics or not math.isfinite(metrics[key]):
            return False
        if key not in self.best:
            return True
        if self.task.higher_is_better:
            return metrics[key] > self.best[key]
        return metrics[key] < self.best[key]


def _progress_enabled(setting: bool | None) -> bool | None:
    # tqdm's disable=None turns the bar off when stderr is not a terminal
    return None if setting is None else not setting


def _loop(run: _Run, loggers: list[Any], bar: tqdm, stop: StopRequest) -> None:
    cfg = run.cfg.trainer
    eval_every = cfg.eval_every or run.steps_per_epoch
    ckpt_every = cfg.ckpt_every or eval_every
    last_log = last_line = time.monotonic()
    tracking = None  # units record saturation only in the steps that will be logged
    while run.step < run.max_steps:
        if stop.requested:
            raise KeyboardInterrupt
        step = run.step
        track = cfg.track_saturation and (step + 1) % cfg.log_every == 0
        if track != tracking:
            activations.track_saturation(run.model, track)
            tracking = track
        lr, scheduled_c = run.apply_schedules(step)
        loss = run.train_step(step)
        run.step = step + 1
        bar.update(1)
        if scheduled_c is not None:  # the schedule's c, every step
            loggers[1].log_dict(run.step, {"noise/c": scheduled_c}, flush=False)
        if run.step % cfg.log_every == 0:
            values: dict[str, Any] = {"train/loss": loss, "train/lr": lr}
            c = run.current_noise(scheduled_c)
            if c is not None and scheduled_c is None:
                values["noise/c"] = c
            if cfg.track_saturation:
                values.update(
                    {
                        f"saturation/{k}": v
                        for k, v in activations.saturation_stats(run.model).items()
                    }
                )
            now = time.monotonic()
            values["train/items_per_s"] = run.items_seen / max(now - last_log, 1e-9)
            run.items_seen, last_log = 0, now
            loggers[1].log_dict(run.step, values)
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            if bar.disable and now - last_line >= _HEARTBEAT_S:  # no bar: a line a minute
                last_line = now
                log.info(
                    "step %d/%d: train/loss %.4g, lr %.3g, %.0f items/s",
                    run.step,
                    run.max_steps,
                    loss,
                    lr,
                    values["train/items_per_s"],
                )
        if run.step % eval_every == 0 or run.step == run.max_steps:
            metrics = run.evaluate(run.task.eval_splits)
            train_loss = run.train_loss_sum / max(1, run.train_loss_count)
            run.train_loss_sum, run.train_loss_count = 0.0, 0
            row = {
                "epoch": run.step / run.steps_per_epoch,
                "time_s": run.elapsed_before + time.monotonic() - run.started,
                "lr": lr,
                "train/loss": train_loss,
                **metrics,
            }
            c = run.current_noise(scheduled_c)
            if c is not None:
                row["noise/c"] = c
            loggers[0].log_dict(run.step, row)
            loggers[1].log_dict(run.step, metrics)
            run.task.on_evaluate(metrics, run.step)
            run.last_eval = metrics
            shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
            log.info("step %d/%d: train/loss %.4g, %s", run.step, run.max_steps, train_loss, shown)
            if run.is_better(metrics):
                run.best = {**metrics, "step": run.step}
                run.save("best.pt")
        if run.step % ckpt_every == 0 or run.step == run.max_steps:
            run.save("last.pt")


def _summary(run: _Run, status: str, error: str | None, test: dict[str, float]) -> dict[str, Any]:
    cfg = run.cfg
    dataset = dataclasses.asdict(run.task.dataset_info())
    return {
        "schema": SUMMARY_SCHEMA,
        "status": status,
        "error": error,
        "task": cfg.task.name,
        "act": cfg.act.name,
        "noise": cfg.noise.name,
        "optim": cfg.optim.name,
        "experiment": run.info.experiment,
        "profile": cfg.profile,
        "seed": cfg.seed,
        "overrides": run.info.overrides,
        "config": run.config_data,
        **environment(),
        "dataset": dataset,
        "device": str(run.device),
        "steps": run.step,
        "max_steps": run.max_steps,
        "epochs": run.step / run.steps_per_epoch,
        "wall_time_s": round(run.elapsed_before + time.monotonic() - run.started, 3),
        "started_at": run.started_at,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "final": run.last_eval,
        "best": run.best,
        "test": test,
    }


def previous_status(run_dir: Path) -> str | None:
    """What ``run_dir`` already holds: ``completed``/``failed`` (final), ``resumable``, or None.

    A run killed before it could write its summary (or stopped by a signal) still has
    ``checkpoints/last.pt`` and is ``resumable``; an unreadable summary counts as not final.
    """
    run_dir = Path(run_dir)
    try:
        status = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["status"]
    except (OSError, ValueError, KeyError, TypeError):
        status = None
    if status in ("completed", "failed"):
        return status
    if (run_dir / "checkpoints" / "last.pt").is_file():
        return "resumable"
    return None


def train(cfg: RunConfig, run_dir: Path, info: RunInfo | None = None) -> RunResult:
    """Train ``cfg``'s task in ``run_dir`` (continuing from its last checkpoint if resuming).

    Writes ``metrics.jsonl``, TensorBoard events, ``checkpoints/{last,best}.pt`` and, once the
    numbers are final, ``summary.json``.

    Raises:
        NoisyExpError: bad config, data or checkpoint; or the loss became NaN (the summary then
            says ``failed`` and the last good checkpoint is kept).
        KeyboardInterrupt: the run was interrupted (Ctrl-C, SIGTERM) after saving its state.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    summary_path = run_dir / "summary.json"
    run = _Run(cfg, run_dir, info or RunInfo())
    resuming = cfg.resume is not None
    if resuming:
        run.restore()
    elif (run.ckpt_dir / "last.pt").exists():
        raise CheckpointError(f"{run_dir} already holds a run; resume it with resume={run_dir}")
    if summary_path.exists():
        summary_path.unlink()  # a resumed run is not finished until it says so again
    run.started = time.monotonic()
    run.started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    loggers: list[Any] = [
        JsonlLogger(run_dir / "metrics.jsonl", resume_step=run.step if resuming else None),
        TensorBoardLogger(run_dir, purge_step=run.step if resuming else None),
    ]
    status, error, test = "failed", None, {}
    bar = tqdm(
        total=run.max_steps,
        initial=run.step,
        desc=f"{cfg.task.name}/{cfg.act.name}",
        disable=_progress_enabled(cfg.trainer.progress),
        dynamic_ncols=True,
    )
    stop = StopRequest()
    try:
        with stop.installed(), logging_redirect_tqdm():
            _loop(run, loggers, bar, stop)
            if cfg.trainer.eval_test:
                test = run.evaluate(("test",))
                log.info("test: %s", ", ".join(f"{k} {v:.4g}" for k, v in test.items()))
        status = "completed"
    except KeyboardInterrupt:
        status, error = "interrupted", f"interrupted at step {run.step}; resume={run_dir}"
        if stop.requested:  # stopped between two steps: the state is consistent
            run.save("last.pt")
        raise
    except Exception as err:  # NaN loss, or a bug: either way the run did not finish
        error = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise
    finally:
        bar.close()
        for logger in loggers:
            logger.close()
        summary = _summary(run, status, error, test)
        write_json_atomic(summary_path, summary)
    return RunResult(run_dir=run_dir, status=status, summary=summary)
