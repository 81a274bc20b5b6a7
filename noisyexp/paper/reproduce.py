"""``noisyexp paper``: run every preset of a profile over its seeds, then the tables and figures.

A profile (``noisyexp/paper/profiles/<name>.yaml``, or any YAML file of the same shape) lists
named sweeps; each becomes one ``noisyexp train -m`` call, so Hydra's launcher does the
parallel work (joblib on this machine, submitit on a SLURM cluster). Every job runs with
``profile=<name> resume=auto`` in a directory named after its sweep point
(``<results>/paper/<profile>/<sweep>/experiment=...,seed=...``), which is what makes a second
``make paper`` skip the runs that finished and resume the ones that were stopped.

The sweeps run one after another; a sweep that fails (missing data, a diverged run) is reported
and the others still run. ``<results>/paper/<profile>/paper.json`` records each sweep's command,
status and wall time.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from noisyexp.core.errors import ConfigError
from noisyexp.paper import picks, profile_sweeps
from noisyexp.training.resume import previous_status
from noisyexp.training.summary import write_json_atomic

__all__ = [
    "LAUNCHERS",
    "SweepPlan",
    "Profile",
    "SweepResult",
    "available_profiles",
    "job_dirname",
    "load_profile",
    "pending_plans",
    "resolve_picks",
    "sweep_command",
    "run_profile",
]

#: ``--launcher`` choices: Hydra launcher configs of ``conf/hydra/launcher`` (and Hydra's own)
LAUNCHERS = ("local", "basic", "slurm")

#: keys every job gets from ``noisyexp paper`` itself; never part of a run directory's name
_BOOKKEEPING_KEYS = ("profile", "resume", "paths.results_dir", "paths.data_dir")


@dataclass
class SweepPlan:
    """One ``noisyexp train -m`` call: presets × seeds × the values of ``sweep``'s keys."""

    experiments: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=lambda: [1])
    overrides: list[str] = field(default_factory=list)  # e.g. trainer.max_steps=2000
    sweep: dict[str, list[Any]] = field(default_factory=dict)  # e.g. {"act.c": [0.1, 0.5]}
    # the value of a key picked per experiment from an earlier sweep's records (picks.py), e.g.
    # {"from": "mnist_lr_grid", "key": "optim.lr", "metric": "valid/nll", "section": "best"}
    pick: dict[str, Any] = field(default_factory=dict)

    def jobs(self) -> int:
        count = len(self.experiments) * len(self.seeds)
        for values in self.sweep.values():
            count *= len(values)
        return count

    def points(self) -> list[dict[str, Any]]:
        """Every job's swept values: experiment, seed and each ``sweep`` key."""
        points = [{"experiment": e, "seed": s} for e in self.experiments for s in self.seeds]
        for key, values in self.sweep.items():
            points = [{**point, key: value} for point in points for value in values]
        return points


def job_dirname(point: dict[str, Any]) -> str:
    """The directory Hydra names a job after (``override_dirname``: sorted ``key=value``)."""
    return ",".join(f"{key}={point[key]}" for key in sorted(point))


def pending_plans(plan: SweepPlan, sweep_dir: Path) -> list[SweepPlan]:
    """``plan`` without its completed jobs, as few grids as cover the rest.

    Relaunching a completed job would only be skipped by the job itself, after Hydra had
    rewritten its ``.hydra/`` records; so completed jobs are left out of the command. The rest
    is grouped into grids (experiments × seeds at one point of the ``sweep`` keys): all of
    ``plan`` when nothing completed, e.g. ``seed=3`` of every experiment when seeds grew.
    """
    pending = [
        point
        for point in plan.points()
        if previous_status(sweep_dir / job_dirname(point)) != "completed"
    ]
    if len(pending) == plan.jobs():
        return [plan]
    seeds: dict[tuple, list[int]] = {}  # (sweep values, experiment) -> pending seeds
    for point in pending:
        swept = tuple((key, point[key]) for key in plan.sweep)
        seeds.setdefault((swept, point["experiment"]), []).append(point["seed"])
    grids: dict[tuple, list[str]] = {}  # (sweep values, seeds) -> experiments
    for (swept, experiment), its_seeds in seeds.items():
        grids.setdefault((swept, tuple(its_seeds)), []).append(experiment)
    return [
        SweepPlan(
            experiments=experiments,
            seeds=list(its_seeds),
            overrides=list(plan.overrides),
            sweep={key: [value] for key, value in swept},
        )
        for (swept, its_seeds), experiments in grids.items()
    ]


@dataclass
class Profile:
    """A named set of sweeps with budgets; ``overrides`` apply to every job."""

    name: str
    description: str = ""
    overrides: list[str] = field(default_factory=list)
    sweeps: dict[str, SweepPlan] = field(default_factory=dict)


@dataclass
class SweepResult:
    """How one sweep of ``noisyexp paper`` went."""

    name: str
    jobs: int
    status: str  # "completed" | "failed" | "dry-run" | "waiting" (a pick's grid is not done)
    wall_s: float
    commands: list[list[str]]  # one per grid of jobs still to run (none when all completed)


def available_profiles() -> list[str]:
    """Names of the profiles shipped in ``noisyexp/paper/profiles``."""
    folder = resources.files("noisyexp.paper").joinpath("profiles")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_profile(name_or_path: str) -> Profile:
    """A shipped profile by name (``cpu``, ``full``) or a profile YAML file by path.

    A file without ``sweeps`` runs what the paper tables ask of its ``name``
    (:func:`noisyexp.paper.profile_sweeps`); a file with them runs those alone.

    Raises:
        ConfigError: unknown profile, unreadable file, unknown key or wrong type in it.
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    path = Path(name_or_path)
    if not path.suffix:
        if name_or_path not in available_profiles():
            raise ConfigError(
                f"unknown profile {name_or_path!r}; choose one of "
                f"{', '.join(available_profiles())} or give a .yaml file"
            )
        path = Path(str(resources.files("noisyexp.paper").joinpath("profiles", f"{path}.yaml")))
    if not path.is_file():
        raise ConfigError(f"profile file {path} does not exist")
    try:
        from noisyexp.core.safe_yaml import (
            load_yaml,
        )  # bounded, plain data: a YAML error is one line

        data = load_yaml(path)
        if not isinstance(data, dict):
            raise ConfigError(f"bad profile {path}: not a mapping of keys to values")
        if "sweeps" not in data:  # a shipped profile: each paper table names its sweeps
            data["sweeps"] = profile_sweeps(str(data.get("name", "")))
        loaded = OmegaConf.merge(OmegaConf.structured(Profile), OmegaConf.create(data))
        profile: Profile = OmegaConf.to_object(loaded)
    except OmegaConfBaseException as err:
        raise ConfigError(f"bad profile {path}: {str(err).splitlines()[0]}") from None
    earlier: dict[str, SweepPlan] = {}
    for sweep_name, plan in profile.sweeps.items():
        where = f"profile {profile.name}: sweep {sweep_name}"
        if not plan.experiments or not plan.seeds:
            raise ConfigError(f"{where} needs experiments and seeds")
        if plan.pick:
            if plan.sweep:
                raise ConfigError(f"{where}: a sweep with pick sweeps nothing else")
            source = earlier.get(str(plan.pick.get("from")))
            grid = (source.experiments, source.sweep) if source is not None else None
            plan.pick = picks.check_pick(plan.pick, where, plan.experiments, grid)
        earlier[sweep_name] = plan
    return profile


def resolve_picks(
    profile: Profile, sweep_name: str, paper_dir: Path
) -> tuple[list[SweepPlan], list[picks.Pick], str]:
    """The sweep as plans to run: itself, or for a ``pick`` sweep one plan per picked value.

    Args:
        profile: a loaded profile.
        sweep_name: one of its sweeps.
        paper_dir: ``<results>/paper``, where the picked-from sweep's runs are.

    Returns:
        ``(plans, picks, waiting)``: ``waiting`` says why nothing can run yet (a grid run that
        has not completed), with ``plans`` empty.
    """
    plan = profile.sweeps[sweep_name]
    if not plan.pick:
        return [plan], [], ""
    pick = plan.pick
    source = profile.sweeps[pick["from"]]
    grid_dir = Path(paper_dir) / profile.name / pick["from"]
    candidates = {
        experiment: [
            (
                value,
                [
                    grid_dir
                    / job_dirname({"experiment": experiment, "seed": seed, pick["key"]: value})
                    for seed in source.seeds
                ],
            )
            for value in source.sweep[pick["key"]]
        ]
        for experiment in plan.experiments
    }
    chosen, waiting = picks.choose(pick, candidates)
    if waiting:
        return [], [], waiting
    by_value: dict[Any, list[str]] = {}
    for item in chosen:
        by_value.setdefault(item.value, []).append(item.experiment)
    plans = [
        SweepPlan(
            experiments=experiments,
            seeds=list(plan.seeds),
            overrides=list(plan.overrides),
            sweep={pick["key"]: [value]},
        )
        for value, experiments in by_value.items()
    ]
    return plans, chosen, ""


def _values(items: Sequence[Any]) -> str:
    return ",".join(str(item) for item in items)


def _key(override: str) -> str:
    return override.lstrip("+~").split("=", 1)[0]


def _per_job(override: str) -> str:
    """``task.k=v`` as the one-value sweep ``task.k=choice(v)``, other overrides as they are.

    In a multirun Hydra composes the primary config without the swept keys, i.e. with the
    default task, where a key of the experiments' own task (``task.hidden_size`` for NMT) does
    not exist; a one-value sweep is applied in each job instead, after its experiment picked
    the task. The job records it as the plain ``task.k=v``.
    """
    key, _, value = override.partition("=")
    if key.lstrip("+~").startswith("task.") and value and not value.startswith("choice("):
        return f"{key}=choice({value})"
    return override


def sweep_command(
    profile: Profile,
    sweep_name: str,
    *,
    results_dir: Path,
    data_dir: Path,
    launcher: str = "local",
    jobs: int | None = None,
    extra_overrides: Sequence[str] = (),
    plan: SweepPlan | None = None,
) -> list[str]:
    """The ``noisyexp train -m`` command line of one sweep of ``profile`` (or of ``plan``, a
    part of it).

    Only the swept keys (experiment, seed, ``sweep``'s keys) name a job's directory, so the same
    sweep point always lands in the same directory, whatever budget or launcher was used.
    """
    plan = plan or profile.sweeps[sweep_name]
    fixed = [*profile.overrides, *plan.overrides, *extra_overrides]
    excluded = sorted({*_BOOKKEEPING_KEYS, *(_key(o) for o in fixed)})
    command = [
        sys.executable,
        "-m",
        "noisyexp",
        "train",
        "-m",
        f"experiment={_values(plan.experiments)}",
        f"seed={_values(plan.seeds)}",
        *(f"{key}={_values(values)}" for key, values in plan.sweep.items()),
        *(_per_job(o) for o in fixed),
        f"profile={profile.name}",
        "resume=auto",
        f"paths.results_dir={results_dir}",
        f"paths.data_dir={data_dir}",
        f"hydra/launcher={launcher}",
        f"hydra.sweep.dir={results_dir}/paper/{profile.name}/{sweep_name}",
        "hydra.sweep.subdir=${hydra.job.override_dirname}",
        f"hydra.job.config.override_dirname.exclude_keys=[{','.join(excluded)}]",
    ]
    if jobs is not None and launcher == "local":
        command.append(f"hydra.launcher.n_jobs={jobs}")
    return command


def run_profile(
    profile: Profile,
    *,
    results_dir: Path,
    data_dir: Path,
    launcher: str = "local",
    jobs: int | None = None,
    only: Sequence[str] = (),
    extra_overrides: Sequence[str] = (),
    dry_run: bool = False,
    echo: Callable[[str], None] = print,
) -> list[SweepResult]:
    """Run the profile's sweeps one after another and record them in ``paper.json``.

    Raises:
        ConfigError: ``only`` names a sweep the profile does not have, or a bad launcher.
    """
    if launcher not in LAUNCHERS:
        raise ConfigError(f"unknown launcher {launcher!r}; choose one of {', '.join(LAUNCHERS)}")
    unknown = sorted(set(only) - set(profile.sweeps))
    if unknown:
        raise ConfigError(
            f"profile {profile.name} has no sweep {', '.join(unknown)} "
            f"(it has {', '.join(profile.sweeps)})"
        )
    names = [name for name in profile.sweeps if not only or name in only]
    record_path = Path(results_dir) / "paper" / profile.name / "paper.json"
    started, started_at = time.monotonic(), datetime.now(timezone.utc).isoformat(timespec="seconds")
    results: list[SweepResult] = []
    for index, name in enumerate(names, 1):
        plan = profile.sweeps[name]
        sweep_dir = Path(results_dir) / "paper" / profile.name / name
        resolved, chosen, waiting = resolve_picks(profile, name, Path(results_dir) / "paper")
        if waiting:  # a pick from a grid that has not finished: nothing to run yet, no failure
            echo(f"[{index}/{len(names)}] sweep {name}: {waiting}; run it again after")
            results.append(SweepResult(name, 0, "waiting", 0.0, []))
            continue
        for item in chosen:
            echo(f"  picked {item.text(plan.pick['key'], plan.pick['metric'])}")
        parts = [part for whole in resolved for part in pending_plans(whole, sweep_dir)]
        commands = [
            sweep_command(
                profile,
                name,
                results_dir=Path(results_dir),
                data_dir=Path(data_dir),
                launcher=launcher,
                jobs=jobs,
                extra_overrides=extra_overrides,
                plan=part,
            )
            for part in parts
        ]
        todo = sum(part.jobs() for part in parts)
        asked = sum(whole.jobs() for whole in resolved)
        done = f", {asked - todo} completed before" if todo < asked else ""
        echo(f"[{index}/{len(names)}] sweep {name}: {todo} run(s){done}")
        if dry_run:
            for command in commands:  # `noisyexp train -m ...` without the interpreter
                echo("  " + " ".join(command[2:]))
            results.append(SweepResult(name, todo, "dry-run", 0.0, commands))
            continue
        sweep_start = time.monotonic()
        returncodes = [subprocess.call(command) for command in commands]
        status = "completed" if not any(returncodes) else "failed"
        wall = time.monotonic() - sweep_start
        echo(f"[{index}/{len(names)}] sweep {name}: {status} in {wall / 60:.1f} min")
        results.append(SweepResult(name, todo, status, round(wall, 1), commands))
    if not dry_run:
        write_json_atomic(
            record_path,
            {
                "profile": asdict(profile),
                "started_at": started_at,
                "wall_s": round(time.monotonic() - started, 1),
                "sweeps": [asdict(result) for result in results],
            },
        )
    return results
