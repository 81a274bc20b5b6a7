"""What one training step of each experiment family costs on a CPU, and its full budget.

For every family base of ``conf/experiment`` (the preset its members' ``defaults`` name) the
script composes the preset as ``noisyexp train experiment=<family>`` would, builds its task,
model and optimizer, and times a few training steps (forward, backward, clipping, update; the
lr and noise schedules applied) on ``--threads`` CPU threads. Each family is timed with its
reference units (the base alone) and with one noisy member, since noisy units cost more. The
table gives the median seconds per step, the steps in an epoch, the preset's step budget
(``trainer.max_steps`` or ``max_epochs`` x steps per epoch, whichever is smaller) and the
hours that budget takes at that speed, training steps only (evaluations come on top; an early
stopping preset may end sooner).

Data: the tasks that read a data set (PTB, Multi30k, MNIST) read ``--data-dir`` (default
``/work/shared/data`` when it exists, else ``data``); a family whose data is missing is listed
as such, not timed. Timings on a shared machine are noisy: run it when the machine is quiet, or
read the numbers as upper bounds.

``--annotate`` writes the measured cost as one ``# CPU cost: ...`` comment line into each family
base's YAML header (replacing an earlier one).

Usage: ``python scripts/bench_presets.py [--threads 1] [--steps 3] [--only ptb_small,nmt]
[--no-noisy] [--annotate] [--json] [--from-json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = ROOT / "conf" / "experiment"

#: family base -> the noisy member timed beside it
FAMILIES = {
    "gaussians": "gaussians_nan",
    "mnist": "mnist_nan",
    "ptb_small": "ptb_small_nan",
    "ptb_medium": "ptb_medium_nan",
    "ptb_large": "ptb_large_nan",
    "ptb_char": "ptb_char_nan",
    "nmt": "nmt_nah",
    "ntm_recall": "ntm_recall_noisy_annealed",
    "ntm_recall_f": "ntm_recall_f_noisy_annealed",
    "ntm_copy": "ntm_copy_noisy_annealed",
    "unique": "unique_nan",
    "unique_f_scalar": "unique_f_scalar_nan",
    "lte": "lte_nah",
}
COST_LINE = re.compile(r"^# CPU cost: .*\n", re.MULTILINE)


@dataclass
class Timing:
    """One preset's measured step time and its budget."""

    family: str
    preset: str
    act: str
    seconds_per_step: float | None  # None: not timed (see ``note``)
    first_step_s: float | None
    steps_per_epoch: int | None
    budget_steps: int | None
    budget: str  # "13 epochs" or "20000 steps"
    note: str = ""

    @property
    def hours(self) -> float | None:
        if self.seconds_per_step is None or self.budget_steps is None:
            return None
        return self.seconds_per_step * self.budget_steps / 3600


def compose(preset: str, data_dir: Path, threads: int):
    """The validated RunConfig of ``experiment=<preset>``, as the CLI composes it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from noisyexp.cli.app import CONF_DIR
    from noisyexp.config.schema import register_configs

    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = hydra_compose(
                "config",
                overrides=[
                    f"experiment={preset}",
                    f"paths.data_dir={data_dir}",
                    "paths.download=false",
                    "trainer.device=cpu",
                    f"trainer.num_threads={threads}",
                ],
            )
    finally:
        GlobalHydra.instance().clear()
    return OmegaConf.to_object(cfg)


def time_preset(family: str, preset: str, data_dir: Path, threads: int, steps: int) -> Timing:
    """Build ``preset``'s task and model and time ``steps`` training steps after a first one."""
    from noisyexp import activations
    from noisyexp.config.act import build_units
    from noisyexp.config.optimizers import make_optimizer
    from noisyexp.core.errors import DataError
    from noisyexp.core.rng import seed_everything
    from noisyexp.tasks import get_task
    from noisyexp.training.step_schedules import StepSchedules

    cfg = compose(preset, data_dir, threads)
    torch.set_num_threads(threads)
    device = torch.device("cpu")
    _, task_class = get_task(cfg.task.name)
    try:
        task = task_class(
            cfg.task,
            data_dir=Path(cfg.paths.data_dir),
            seed=cfg.seed,
            device=device,
            download=False,
        )
    except DataError as err:
        note = f"no data ({str(err).splitlines()[0][:80]})"
        return Timing(family, preset, cfg.act.name, None, None, None, None, "", note)
    seed_everything(cfg.seed)
    model = task.build_model(build_units(cfg.act)).to(device)
    generator = torch.Generator(device=device)
    generator.manual_seed(cfg.seed)
    activations.set_noise_generator(model, generator)
    optimizer = make_optimizer(cfg.optim, model)
    per_epoch = task.steps_per_epoch()
    schedules = StepSchedules(cfg, optimizer, model, per_epoch)
    budgets = [b for b in (cfg.trainer.max_steps,) if b is not None]
    if cfg.trainer.max_epochs is not None:
        budgets.append(cfg.trainer.max_epochs * per_epoch)
    budget_steps = min(budgets)
    if cfg.trainer.max_epochs is not None and budget_steps == cfg.trainer.max_epochs * per_epoch:
        budget = f"{cfg.trainer.max_epochs} epochs"
    else:
        budget = f"{budget_steps} steps"

    def one_step(step: int) -> float:
        started = time.perf_counter()
        model.train()
        schedules.apply(step)
        output = task.train_step(model, step)
        optimizer.zero_grad(set_to_none=True)
        output.loss.backward()
        if cfg.optim.clip_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.clip_norm)
        optimizer.step()
        output.loss.item()  # the trainer reads the loss every step
        return time.perf_counter() - started

    first = one_step(0)
    times = [one_step(step) for step in range(1, steps + 1)]
    return Timing(
        family,
        preset,
        cfg.act.name,
        statistics.median(times),
        first,
        per_epoch,
        budget_steps,
        budget,
    )


def _hours(hours: float | None) -> str:
    if hours is None:
        return "-"
    if hours < 1 / 60:
        return f"{hours * 3600:.0f} s"
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h"


def render(timings: list[Timing], threads: int) -> str:
    """The table as Markdown."""
    lines = [
        f"| family | preset | act | s/step ({threads} thread) | first step s | steps/epoch "
        "| budget | est. training time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in timings:
        if t.seconds_per_step is None:
            lines.append(f"| {t.family} | {t.preset} | {t.act} | {t.note} | | | | |")
            continue
        budget = t.budget if "steps" in t.budget else f"{t.budget} ({t.budget_steps} steps)"
        lines.append(
            f"| {t.family} | {t.preset} | {t.act} | {t.seconds_per_step:.3g} "
            f"| {t.first_step_s:.3g} | {t.steps_per_epoch} | {budget} | {_hours(t.hours)} |"
        )
    return "\n".join(lines)


def cost_line(timings: list[Timing], threads: int, when: str, note: str = "") -> str | None:
    """``# CPU cost: ~0.26 s/step (nan 0.4) on 1 core (...), 13 epochs ≈ 2.2 h (nan 3.4 h)``:
    the base preset's numbers, a noisy member's in parentheses."""
    timed = [t for t in timings if t.seconds_per_step is not None]
    if not timed:
        return None
    base, others = timed[0], timed[1:]
    cores = f"{threads} core" + ("s" if threads > 1 else "")
    speed = "".join(f" ({t.act} {t.seconds_per_step:.2g})" for t in others)
    total = "".join(f" ({t.act} {_hours(t.hours)})" for t in others)
    return (
        f"# CPU cost: ~{base.seconds_per_step:.2g} s/step{speed} on {cores} "
        f"({when}{note and ', ' + note}, scripts/bench_presets.py), "
        f"{base.budget} ≈ {_hours(base.hours)}{total}"
    )


def annotate(path: Path, line: str) -> None:
    """Put ``line`` as the last comment line of ``path``'s header (replacing an earlier one)."""
    text = COST_LINE.sub("", path.read_text(encoding="utf-8"))
    lines = text.splitlines(keepends=True)
    end = 0
    while end < len(lines) and lines[end].startswith("#"):
        end += 1
    lines.insert(end, line + "\n")
    path.write_text("".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = Path("/work/shared/data")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps after the first")
    parser.add_argument("--only", default="", help="comma-separated families")
    parser.add_argument("--no-noisy", action="store_true", help="time the base presets only")
    parser.add_argument(
        "--data-dir", type=Path, default=shared if shared.is_dir() else Path("data")
    )
    parser.add_argument("--annotate", action="store_true", help="write the YAML cost lines")
    parser.add_argument("--note", default="", help="said in the cost lines, e.g. 'busy machine'")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--from-json", type=Path, default=None, help="a saved --json output: table it, no timing"
    )
    options = parser.parse_args(argv)
    only = [name for name in options.only.split(",") if name]
    unknown = sorted(set(only) - set(FAMILIES))
    if unknown:
        parser.error(f"unknown family {', '.join(unknown)}; choose from {', '.join(FAMILIES)}")
    when = date.today().strftime("%Y-%m")
    saved = None
    if options.from_json is not None:
        saved = json.loads(options.from_json.read_text(encoding="utf-8"))
        options.threads = saved["threads"]
        when = saved.get("month", when)
    timings: list[Timing] = []
    for family, noisy in FAMILIES.items():
        if only and family not in only:
            continue
        presets = [family] if options.no_noisy else [family, noisy]
        ours = []
        for preset in presets:
            if saved is not None:
                rows = [r for r in saved["timings"] if r["preset"] == preset]
                ours += [Timing(**{k: v for k, v in r.items() if k != "hours"}) for r in rows]
                continue
            print(f"timing {preset} ...", file=sys.stderr, flush=True)
            ours.append(
                time_preset(family, preset, options.data_dir, options.threads, options.steps)
            )
        timings += ours
        line = cost_line(ours, options.threads, when, options.note)
        if options.annotate and line is not None:
            annotate(EXPERIMENTS / f"{family}.yaml", line)
    if options.json:
        rows = [{**asdict(t), "hours": t.hours} for t in timings]
        record = {"threads": options.threads, "month": when, "timings": rows}
        print(json.dumps(record, indent=2))
    else:
        print(render(timings, options.threads))
    return 0


if __name__ == "__main__":
    sys.exit(main())
