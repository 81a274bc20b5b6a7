"""The trainer: one seeded, resumable training run of a task, from a validated config.

``train(cfg, run_dir, ...)`` is the whole job and is called in-process by the CLI and by tests.
It owns the optimizer, clipping, the noise generator, evaluation, checkpoints and logs; the
per-step schedules (``scheduling.py``), unit monitoring (``monitor.py``), resume checks
(``resume.py``) and the run summary (``summary.py``) live next door. Tasks own data, models and
metrics.
"""

from __future__ import annotations

import dataclasses
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

from noisyexp import activations
from noisyexp.config.act import build_units
from noisyexp.config.optimizers import make_optimizer
from noisyexp.config.schema import RunConfig
from noisyexp.core.atomic import remove_temporaries, write_text_atomic
from noisyexp.core.checkpoint import load_checkpoint, load_with_fallback, save_checkpoint
from noisyexp.core.errors import CheckpointError, ConfigError, TrainingError
from noisyexp.core.rng import capture_rng_state, derived_seed, seed_everything
from noisyexp.layers.fast_step import compile_unavailable
from noisyexp.layers.recurrent import set_fast_step
from noisyexp.tasks import get_task
from noisyexp.training.budget import check_memory
from noisyexp.training.cuda_graphs import (
    CudaBackend,
    GraphedStep,
    StaticStep,
    cuda_graphs_unavailable,
)
from noisyexp.training.device import configure_device, resolve_device
from noisyexp.training.hparams import log_hparams
from noisyexp.training.lock import RunLock
from noisyexp.training.monitor import UnitMonitor
from noisyexp.training.progress import EvalProgress, ProgressLine, show_bar
from noisyexp.training.resume import previous_status, restore_rng_for_resume, structural_changes
from noisyexp.training.run_log import JsonlLogger, TensorBoardLogger
from noisyexp.training.step_schedules import StepSchedules
from noisyexp.training.stopping import StopRequest
from noisyexp.training.summary import (
    build_summary,
    code_version,
    set_summary_aside,
    write_summary,
)

__all__ = ["RunInfo", "RunResult", "previous_status", "structural_changes", "train"]

log = logging.getLogger(__name__)

_NOISE_SEED_OFFSET = 7_919  # keeps the noise stream distinct from the init stream


@dataclass
class RunInfo:
    """What the CLI knows about a run beyond its config (Hydra's choices and overrides).

    ``record_files`` (path in the run folder -> text: the composed config as the CLI saw it) are
    written once the run holds its folder and the folder's checks have passed, so a refused
    command never rewrites what a later ``resume=DIR`` reads.
    """

    experiment: str | None = None
    overrides: list[str] = field(default_factory=list)
    choices: dict[str, str] = field(default_factory=dict)
    record_files: dict[str, str] = field(default_factory=dict)


@dataclass
class RunResult:
    """The outcome of :func:`train`."""

    run_dir: Path
    status: str
    summary: dict[str, Any]


@dataclass
class RunLoggers:
    """``metrics``: one ``metrics.jsonl`` row per evaluation; ``tensorboard``: every scalar."""

    metrics: JsonlLogger
    tensorboard: TensorBoardLogger

    @classmethod
    def open(cls, run_dir: Path, resume_step: int | None) -> RunLoggers:
        """Start both logs; when resuming, drop what was logged after ``resume_step``."""
        return cls(
            metrics=JsonlLogger(run_dir / "metrics.jsonl", resume_step=resume_step),
            tensorboard=TensorBoardLogger(run_dir, purge_step=resume_step),
        )

    def close(self) -> None:
        self.metrics.close()
        self.tensorboard.close()


class _Run:
    """State of one training run (what a checkpoint holds) and the steps of its loop."""

    def __init__(self, cfg: RunConfig, run_dir: Path, info: RunInfo) -> None:
        self.cfg, self.run_dir, self.info = cfg, Path(run_dir), info
        self.config_data = dataclasses.asdict(cfg)
        self.device = resolve_device(cfg.trainer.device)
        self.device_info, self.precision = configure_device(
            self.device, deterministic=cfg.trainer.deterministic, tf32=cfg.trainer.tf32
        )
        if cfg.trainer.num_threads is not None:
            torch.set_num_threads(cfg.trainer.num_threads)
        units = build_units(cfg.act)  # validates the act before any data is read
        _, task_class = get_task(cfg.task.name)
        self.task = task_class(
            cfg.task,
            data_dir=Path(cfg.paths.data_dir),
            seed=cfg.seed,
            device=self.device,
            download=cfg.paths.download,
        )
        self.task.output_dir = self.run_dir
        # refuse a model that cannot fit before allocating it (built on the meta device)
        check_memory(lambda: self._build_on_meta(units), cfg, self.device)
        seed_everything(cfg.seed)
        self.model = self.task.build_model(units).to(self.device)
        self.noise_generator = torch.Generator(device=self.device)
        self.noise_generator.manual_seed(cfg.seed + _NOISE_SEED_OFFSET)
        activations.set_noise_generator(self.model, self.noise_generator)
        if cfg.trainer.compile:
            if (why := compile_unavailable(self.device)) is not None:
                raise ConfigError(f"trainer.compile=true: {why}; set trainer.compile=false")
            layers = set_fast_step(self.model, True)
            log.info(
                f"trainer.compile: {layers} recurrent layer(s) or NTM(s) run compiled steps"
                if layers
                else "trainer.compile: this model has no LSTM/GRU/NTM to compile (no effect)"
            )
        self.optimizer = make_optimizer(cfg.optim, self.model, capturable=cfg.trainer.cuda_graphs)
        self.graphed = self._graphed_step() if cfg.trainer.cuda_graphs else None
        self.steps_per_epoch = self.task.steps_per_epoch()
        self.schedules = StepSchedules(cfg, self.optimizer, self.model, self.steps_per_epoch)
        self.monitor = UnitMonitor(
            self.model,
            track_saturation=cfg.trainer.track_saturation,
            log_every=cfg.trainer.log_every,
        )
        budgets = [cfg.trainer.max_steps]
        if cfg.trainer.max_epochs is not None:
            budgets.append(cfg.trainer.max_epochs * self.steps_per_epoch)
        self.max_steps = min(b for b in budgets if b is not None)  # whichever comes first
        self.step = 0
        self.best: dict[str, Any] = {}
        self.last_eval: dict[str, float] = {}
        self.train_loss_sum, self.train_loss_count = 0.0, 0  # since the last evaluation
        self.skipped_steps = 0  # non-finite losses skipped (trainer.skip_nonfinite)
        #: every session of the run: the commit that trained it and the step it started at
        self.code_versions: list[dict[str, Any]] = []
        self.elapsed_before = 0.0  # seconds spent before a resume
        self.started = time.monotonic()
        self.started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.ckpt_dir = self.run_dir / "checkpoints"

    def _graphed_step(self) -> GraphedStep:
        why = cuda_graphs_unavailable(
            self.device, self.task, skip_nonfinite=self.cfg.trainer.skip_nonfinite
        )
        if why is not None:
            raise ConfigError(f"trainer.cuda_graphs=true: {why}; set trainer.cuda_graphs=false")
        static = StaticStep(self.task, self.model, self.optimizer, self.cfg.optim.clip_norm)
        return GraphedStep(static, CudaBackend(self.noise_generator))

    def _build_on_meta(self, units: Any) -> nn.Module:
        """The task's model with shapes only (the task's ``.to(device)`` kept on meta too)."""
        device, self.task.device = self.task.device, torch.device("meta")
        try:
            return self.task.build_model(units)
        finally:
            self.task.device = device

    def elapsed(self) -> float:
        return self.elapsed_before + time.monotonic() - self.started

    # ---- checkpoints -------------------------------------------------------------------
    def save(self, name: str) -> None:
        """Write checkpoints/<name>: everything a resume needs in ``last.pt``; ``best.pt`` holds
        no optimizer state (it is read for its weights: the test split, translation, figures),
        which is most of a checkpoint under Adam (two moments per weight)."""
        optimizer = {} if name == "best.pt" else {"optimizer": self.optimizer.state_dict()}
        save_checkpoint(
            self.ckpt_dir / name,
            {
                "skipped_steps": self.skipped_steps,
                "code_versions": self.code_versions,
                "model": self.model.state_dict(),
                **optimizer,
                "task": self.task.state_dict(),
                "step": self.step,
                "best": self.best,
                "last_eval": self.last_eval,
                "train_loss": [self.train_loss_sum, self.train_loss_count],
                "elapsed_s": self.elapsed(),
                "rng": capture_rng_state(self.noise_generator, self.device),
                "config": self.config_data,
            },
            keep_previous=name == "last.pt",  # previous.pt: the fallback of a damaged last.pt
        )

    def load_test_weights(self) -> None:
        """Put the weights ``trainer.test_weights`` names into the model (the run is over).

        ``best``: those of checkpoints/best.pt, when this run saved one; an unreadable best.pt
        leaves the last weights, with a warning.
        """
        path = self.ckpt_dir / "best.pt"
        if self.cfg.trainer.test_weights != "best" or not path.is_file():
            return
        try:
            self.model.load_state_dict(load_checkpoint(path)["model"])
        except (CheckpointError, KeyError, RuntimeError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            log.warning("test split scored with the last weights: %s", first)
            return
        log.info("test split scored with the weights of step %s (best.pt)", self.best.get("step"))

    def restore(self) -> None:
        payload, _ = load_with_fallback(self.ckpt_dir / "last.pt")
        changes = structural_changes(payload["config"], self.config_data)
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
        self.skipped_steps = int(payload.get("skipped_steps", 0))
        self.code_versions = list(  # a checkpoint from before the list: its commit is unknown
            payload.get("code_versions", [{"code_version": "unknown", "from_step": 0}])
        )
        restore_rng_for_resume(  # another device type: reseeded from (seed, step), or refused
            payload["rng"],
            self.noise_generator,
            self.device,
            policy=self.cfg.trainer.cross_device_resume,
            reseed=derived_seed(self.cfg.seed, self.step, _NOISE_SEED_OFFSET),
            run_dir=self.run_dir,
        )

    # ---- one step, one evaluation ------------------------------------------------------
    def train_step(self, step: int, frozen: tuple[float, float | None]) -> tuple[float, int]:
        """Forward, backward, clip, update; returns the reported loss and the items seen.

        ``frozen`` is the step's (lr, c): what a captured step holds as constants.
        """
        self.model.train()
        if self.graphed is not None:
            return self._graphed_train_step(step, frozen)
        output = self.task.train_step(self.model, step)
        loss = output.reported_loss if output.reported_loss is not None else output.loss
        value = loss.item()
        if not math.isfinite(value):
            allowed = self.cfg.trainer.skip_nonfinite
            if self.skipped_steps >= allowed:
                skipped = f" (after skipping {allowed})" if allowed else ""
                raise TrainingError(f"loss became {value} at step {step}{skipped}")
            self.skipped_steps += 1  # no update this step; the data stream moves on
            log.warning(
                "step %d: loss %s, step skipped (%d/%d)", step, value, self.skipped_steps, allowed
            )
            return value, output.num_items
        self.optimizer.zero_grad(set_to_none=True)
        output.loss.backward()
        if self.cfg.optim.clip_norm is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.clip_norm)
        self.optimizer.step()
        self.train_loss_sum += value
        self.train_loss_count += 1
        return value, output.num_items

    def _graphed_train_step(
        self, step: int, frozen: tuple[float, float | None]
    ) -> tuple[float, int]:
        """The step as a CUDA graph replay; the loss is read after the update is applied, so a
        non-finite loss stops the run (the checkpoints on disk are from before it)."""
        assert self.graphed is not None
        loss, num_items = self.graphed(step, frozen, eager=self.monitor.recording)
        value = loss.item()
        if not math.isfinite(value):
            raise TrainingError(f"loss became {value} at step {step} (trainer.cuda_graphs)")
        self.train_loss_sum += value
        self.train_loss_count += 1
        return value, num_items

    def evaluate(self, splits: tuple[str, ...]) -> dict[str, float]:
        """``<split>/<metric>`` with the noise replaced by its expectation (eval mode).

        In ``torch.inference_mode``: no autograd bookkeeping at all (cheaper than no_grad).
        """
        self.model.eval()
        with torch.inference_mode():
            return {
                f"{split}/{key}": float(value)
                for split in splits
                for key, value in self.task.evaluate(self.model, split).items()
            }

    def take_train_loss(self) -> float:
        """Mean training loss since the last call."""
        mean = self.train_loss_sum / max(1, self.train_loss_count)
        self.train_loss_sum, self.train_loss_count = 0.0, 0
        return mean

    def is_better(self, metrics: dict[str, float]) -> bool:
        key = f"valid/{self.task.primary_metric}"
        if key not in metrics or not math.isfinite(metrics[key]):
            return False
        if key not in self.best:
            return True
        if self.task.higher_is_better:
            return metrics[key] > self.best[key]
        return metrics[key] < self.best[key]


class _Progress:
    """The progress bar (a terminal), else a progress line every ``trainer.progress_interval_s``;
    and the throughput of the training log."""

    def __init__(self, bar: tqdm, line: ProgressLine) -> None:
        self.bar, self.line = bar, line
        self.items = 0  # since the last log line
        self.last_log = time.monotonic()
        self.loss: float | None = None  # the last logged training loss

    def step(self, num_items: int, step: int) -> None:
        self.items += num_items
        self.bar.update(1)
        if self.bar.disable and (message := self.line.update(step)) is not None:
            loss = "" if self.loss is None else f", train/loss {self.loss:.4g}"
            log.info("%s%s", message, loss)

    def log_train(
        self, run: _Run, loggers: RunLoggers, loss: float, lr: float, scheduled_c: float | None
    ) -> None:
        """Loss, lr, the units' c (when no schedule sets it), saturation, items/s."""
        values: dict[str, Any] = {"train/loss": loss, "train/lr": lr}
        if scheduled_c is None and (c := run.monitor.noise_scale(None)) is not None:
            values["noise/c"] = c
        values.update(run.monitor.saturation())
        now = time.monotonic()
        values["train/items_per_s"] = self.items / max(now - self.last_log, 1e-9)
        self.items, self.last_log = 0, now
        loggers.tensorboard.log_dict(run.step, values)
        self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        self.loss = loss


def _evaluate(run: _Run, loggers: RunLoggers, lr: float, scheduled_c: float | None) -> None:
    """Validate, log a metrics.jsonl row, tell the task, and keep best.pt."""
    metrics = run.evaluate(run.task.eval_splits)
    train_loss = run.take_train_loss()
    row = {
        "epoch": run.step / run.steps_per_epoch,
        "time_s": run.elapsed(),
        "lr": lr,
        "train/loss": train_loss,
        **metrics,
    }
    if (c := run.monitor.noise_scale(scheduled_c)) is not None:
        row["noise/c"] = c
    loggers.metrics.log_dict(run.step, row)
    loggers.tensorboard.log_dict(run.step, metrics)
    run.task.on_evaluate(metrics, run.step)
    run.last_eval = metrics
    shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
    log.info("step %d/%d: train/loss %.4g, %s", run.step, run.max_steps, train_loss, shown)
    if run.is_better(metrics):
        run.best = {**metrics, "step": run.step}
        run.save("best.pt")


def _loop(run: _Run, loggers: RunLoggers, progress: _Progress, stop: StopRequest) -> None:
    cfg = run.cfg.trainer
    eval_every = cfg.eval_every or run.steps_per_epoch
    ckpt_every = cfg.ckpt_every or eval_every
    while run.step < run.max_steps:
        if stop.requested:
            raise KeyboardInterrupt
        if run.task.should_stop():  # early stopping: the task's patience ran out
            log.info("step %d: stopping early, no better validation for a while", run.step)
            break
        step = run.step
        run.monitor.before_step(step)  # units record saturation only in logged steps
        lr, scheduled_c = run.schedules.apply(step)  # this epoch's lr, the schedule's c
        loss, num_items = run.train_step(step, (lr, scheduled_c))  # forward, backward, update
        run.step = step + 1
        progress.step(num_items, run.step)
        if scheduled_c is not None:  # the schedule's c, every step
            loggers.tensorboard.log_dict(run.step, {"noise/c": scheduled_c}, flush=False)
        if run.step % cfg.log_every == 0:
            progress.log_train(run, loggers, loss, lr, scheduled_c)
        if run.step % eval_every == 0 or run.step == run.max_steps:
            _evaluate(run, loggers, lr, scheduled_c)
        if run.step % ckpt_every == 0 or run.step == run.max_steps:
            run.save("last.pt")


def _summary(run: _Run, status: str, error: str | None, test: dict[str, float]) -> dict[str, Any]:
    return build_summary(
        run.config_data,
        status=status,
        error=error,
        experiment=run.info.experiment,
        overrides=run.info.overrides,
        dataset=run.task.dataset_info(),
        device=str(run.device),
        steps=run.step,
        max_steps=run.max_steps,
        steps_per_epoch=run.steps_per_epoch,
        wall_time_s=run.elapsed(),
        started_at=run.started_at,
        final=run.last_eval,
        best=run.best,
        test=test,
        skipped_steps=run.skipped_steps,
        device_info=run.device_info,
        precision=run.precision,
        cuda_graphs=run.graphed.stats() if run.graphed is not None else None,
        code_versions=run.code_versions,
    )


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
    with RunLock(run_dir):  # one process per run folder; a dead holder's lock is taken over
        return _train_locked(cfg, run_dir, info or RunInfo())


def _train_locked(cfg: RunConfig, run_dir: Path, info: RunInfo) -> RunResult:
    leftovers = remove_temporaries(run_dir, run_dir / "checkpoints")
    if leftovers:
        log.warning("%s: removed %d unfinished temporary file(s)", run_dir, len(leftovers))
    summary_path = run_dir / "summary.json"
    run = _Run(cfg, run_dir, info)
    resuming = cfg.resume is not None
    if resuming:
        run.restore()
    elif (run.ckpt_dir / "last.pt").exists() or summary_path.exists():
        raise CheckpointError(f"{run_dir} already holds a run; resume it with resume={run_dir}")
    for name, text in info.record_files.items():
        (run_dir / name).parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(run_dir / name, text)
    set_summary_aside(summary_path)  # not finished until it says so again; kept until then
    run.code_versions.append({"code_version": code_version(), "from_step": run.step})
    run.started = time.monotonic()  # the clock of this session (elapsed_before: earlier ones)
    run.started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    status, error, test = "failed", None, {}
    failure: BaseException | None = None
    loggers: RunLoggers | None = None
    bar = tqdm(
        total=run.max_steps,
        initial=run.step,
        desc=f"{cfg.task.name}/{cfg.act.name}",
        disable=not show_bar(cfg.trainer.progress),  # auto: only when stdout is a terminal
        dynamic_ncols=True,
        unit="step",
    )
    interval = cfg.trainer.progress_interval_s
    run.task.eval_progress = EvalProgress(show_bar=not bar.disable, interval_s=interval)
    progress = _Progress(bar, ProgressLine(run.max_steps, run.step, interval))
    stop = StopRequest()
    try:
        loggers = RunLoggers.open(run_dir, resume_step=run.step if resuming else None)
        with stop.installed(), logging_redirect_tqdm():
            try:
                if run.step < run.max_steps:
                    log.info(progress.line.first_step_message())
                _loop(run, loggers, progress, stop)
            except KeyboardInterrupt:
                # stopped at a step boundary: the state is consistent, save it (further signals
                # wait for the save); a second signal mid-step (forced) saves nothing
                if stop.requested and not stop.forced:
                    stop.saving = True
                    run.save("last.pt")
                raise
            if cfg.trainer.eval_test:
                run.load_test_weights()
                test = run.evaluate(("test",))
                log.info("test: %s", ", ".join(f"{k} {v:.4g}" for k, v in test.items()))
        status = "completed"
    except KeyboardInterrupt as err:
        status, error = "interrupted", f"interrupted at step {run.step}; resume={run_dir}"
        failure = err
        raise
    except Exception as err:  # NaN loss, a full disk, or a bug: the run did not finish
        error = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        failure = err
        raise
    finally:
        bar.close()
        summary = _summary(run, status, error, test)
        if loggers is not None:
            log_hparams(loggers.tensorboard, summary, run.info.choices)  # TensorBoard's HParams
            loggers.close()
        write_summary(summary_path, summary, failure)
    return RunResult(run_dir=run_dir, status=status, summary=summary)
