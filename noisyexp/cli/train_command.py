"""``noisyexp train [overrides]``: one run, or a sweep with ``-m``, through Hydra.

The arguments go to Hydra (so ``-m``, ``--cfg job``, ``--help``, ``hydra.run.dir=...`` work as in
any Hydra app), after three rewrites Hydra's grammar needs: ``act=nan`` quoted (a bare ``nan`` is a
float to Hydra), paths with spaces quoted, and ``resume=DIR`` expanded into that run's saved
overrides. A composed config becomes a run by :func:`resolve_run`, the one place that validates
it, resolves ``resume=auto`` and gathers what the run records about itself; the CLI calls it once
before Hydra starts (so a bad value is refused before any folder exists), and Hydra's job calls it
for each run. Hydra is told not to write ``.hydra/`` itself: the trainer writes those files once
it holds the run folder's lock and the folder's checks have passed.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from noisyexp.cli.messages import CONF_DIR, QuietHydraErrors, UsageError
from noisyexp.cli.plugins import load_plugins
from noisyexp.config.schema import RunConfig, register_configs
from noisyexp.core.errors import CheckpointError, ConfigError
from noisyexp.core.safe_yaml import load_yaml
from noisyexp.training.lock import check_not_in_use
from noisyexp.training.resume import previous_status
from noisyexp.training.trainer import RunInfo

__all__ = [
    "AUTO_RESUME",
    "ResolvedRun",
    "quote_option_names",
    "quote_paths",
    "resolve_run",
    "resume_arguments",
    "threads_per_job",
    "train_command",
]

log = logging.getLogger("noisyexp")

#: ``resume=auto``: continue the run already in the job's directory, skip it if it finished
AUTO_RESUME = "auto"
#: the files a run keeps of its composition (what Hydra would write in ``.hydra/``)
RECORD_FOLDER = ".hydra"


# ---- what Hydra's grammar needs ------------------------------------------------------------
def _quote_value(value: str) -> str:
    """``value`` as a quoted string of Hydra's override grammar (spaces, non-ASCII, quotes)."""
    return "'" + value.replace("'", "\\'") + "'"


#: config groups whose options a user names on the command line (``act=nan``)
_GROUPS = ("act", "noise", "optim", "trainer", "task", "experiment")
_GROUP_OVERRIDE = re.compile(rf"^(~|\+\+|\+)?({'|'.join(_GROUPS)})=(.+)$")


def quote_option_names(args: list[str]) -> list[str]:
    """Quote group options that Hydra's grammar would read as numbers: ``act=nan`` is NAN.

    Hydra parses a bare ``nan`` (or ``inf``) as a float, and a float cannot name a config
    group option; quoting makes it the string it is (also inside sweeps: ``act=nan,nah``).
    """
    quoted = []
    for arg in args:
        match = _GROUP_OVERRIDE.match(arg)
        if match and not any(q in match.group(3) for q in "'\"([{"):
            choices = [
                f"'{c}'" if c.strip().lower() in ("nan", "inf", "+inf", "-inf") else c
                for c in match.group(3).split(",")
            ]
            arg = f"{match.group(1) or ''}{match.group(2)}={','.join(choices)}"
        quoted.append(arg)
    return quoted


#: overrides whose value is a path: quoted for Hydra when it holds spaces or non-ASCII letters
_PATH_KEYS = re.compile(
    r"^(\+{0,2})(resume|hydra\.run\.dir|hydra\.sweep\.dir|paths\.\w+|task\.\w*_dir)=(.*)$"
)
_PLAIN_PATH = re.compile(r"^[\w./:~@%+-]*$", re.ASCII)


def quote_paths(args: list[str]) -> list[str]:
    """Quote path values Hydra's grammar cannot read bare (``hydra.run.dir=/tmp/my runs/ä``)."""
    quoted = []
    for arg in args:
        match = _PATH_KEYS.match(arg)
        if match and match.group(3) and not _PLAIN_PATH.match(match.group(3)):
            value = match.group(3)
            if value[0] not in "'\"" and "${" not in value and "," not in value:
                arg = f"{match.group(1)}{match.group(2)}={_quote_value(value)}"
        quoted.append(arg)
    return quoted


def resume_arguments(args: list[str]) -> list[str]:
    """Rewrite ``resume=DIR [overrides]`` into the run's saved overrides plus the new ones.

    Raises:
        UsageError: ``resume=DIR`` with ``-m``.
        CheckpointError: DIR is not a run directory with a checkpoint.
        ConfigError: its saved overrides are not a list of strings.
        RunInUseError: another process is training in DIR.
    """
    resume = [a for a in args if a.startswith("resume=")]
    if not resume or resume[-1] in (f"resume={AUTO_RESUME}", "resume=null"):
        return args
    if "-m" in args or "--multirun" in args:
        raise UsageError("resume= continues one run; it cannot be combined with -m")
    run_dir = Path(resume[-1].split("=", 1)[1]).expanduser()
    saved = run_dir / RECORD_FOLDER / "overrides.yaml"
    if not saved.is_file():
        raise CheckpointError(f"{run_dir} is not a run directory (no .hydra/overrides.yaml)")
    if not any((run_dir / "checkpoints" / n).is_file() for n in ("last.pt", "previous.pt")):
        raise CheckpointError(f"{run_dir} has no checkpoints/last.pt to resume from")
    check_not_in_use(run_dir)  # fail before composing; the trainer's lock is what guarantees it
    loaded = load_yaml(saved)
    if not isinstance(loaded, list) or not all(isinstance(o, str) for o in loaded):
        raise ConfigError(f"{saved} is not a list of overrides")
    previous = [o for o in loaded if not o.startswith(("resume=", "hydra."))]
    new = [a for a in args if not a.startswith("resume=")]
    where = _quote_value(str(run_dir.resolve()))  # a path with spaces or accents stays one value
    return [*previous, *new, f"resume={where}", f"hydra.run.dir={where}"]


# ---- a composed config becomes a run -------------------------------------------------------
@dataclass
class ResolvedRun:
    """What a composed config means: the validated config, where it runs, what it records.

    ``skip`` is the status of a finished run that ``resume=auto`` leaves alone, else None.
    """

    config: RunConfig
    run_dir: Path
    info: RunInfo
    skip: str | None = None


def threads_per_job(n_jobs: int, cores: int) -> int:
    """CPU threads for one job of a parallel local sweep (joblib's ``n_jobs``: -1 = one job per
    core, -2 = all cores but one, ...): the cores shared among the jobs that run at once.

    Each torch process would otherwise take every core, so N jobs would run N × cores threads
    (a GPU box running several seeds at once included). ``trainer.num_threads`` overrides it.
    """
    parallel = cores + 1 + n_jobs if n_jobs < 0 else n_jobs
    return max(1, cores // max(1, parallel))


def _check_additions(overrides: list[str], config: RunConfig) -> None:
    """Refuse ``+key=value`` / ``++key=value`` for a key no schema has (a typo, silently added).

    ``+group=option`` (a config group) and keys under ``hydra.`` or inside a free-form dict are
    fine.
    """
    for override in overrides:
        if not override.startswith("+") or "=" not in override:
            continue
        key = override.lstrip("+").split("=", 1)[0]
        if key.startswith("hydra") or "/" in key or (CONF_DIR / key).is_dir():
            continue
        node: Any = config
        for part in key.split("."):
            if not dataclasses.is_dataclass(node):  # a free-form dict or a value: not a schema's
                break
            if part not in {f.name for f in dataclasses.fields(node)}:
                raise ConfigError(f"unknown key {key!r} (from +{key}=...): no config schema has it")
            node = getattr(node, part)


def _record_files(cfg: Any, hydra_cfg: Any) -> dict[str, str]:
    """``.hydra/{config,hydra,overrides}.yaml`` as Hydra itself would write them (unresolved)."""
    from omegaconf import OmegaConf

    hydra_node = OmegaConf.create({"hydra": OmegaConf.to_container(hydra_cfg, resolve=False)})
    overrides = OmegaConf.create([str(o) for o in hydra_cfg.overrides.task])
    return {
        f"{RECORD_FOLDER}/config.yaml": OmegaConf.to_yaml(cfg),
        f"{RECORD_FOLDER}/hydra.yaml": OmegaConf.to_yaml(hydra_node),
        f"{RECORD_FOLDER}/overrides.yaml": OmegaConf.to_yaml(overrides),
    }


def resolve_run(cfg: Any, hydra_cfg: Any, *, multirun: bool = False) -> ResolvedRun:
    """The run a composed config (``cfg``, without its ``hydra`` node) and Hydra's node describe.

    Validates every value (each schema's ``__post_init__``) and each ``+key`` addition, shares
    the cores among a local sweep's parallel jobs, resolves ``resume=auto`` against the run
    folder, and gathers the run's :class:`RunInfo` (experiment, overrides, choices, the record
    files the trainer writes once it holds the folder).

    Raises:
        ConfigError: a value a schema rejects, or an unknown ``+key``.
    """
    from omegaconf import OmegaConf

    config: RunConfig = OmegaConf.to_object(cfg)  # runs every __post_init__ check
    task_overrides = [str(o) for o in hydra_cfg.overrides.task]
    _check_additions(task_overrides, config)
    if multirun and config.trainer.num_threads is None:
        n_jobs = OmegaConf.select(hydra_cfg, "launcher.n_jobs", default=None)  # joblib
        cpus = OmegaConf.select(hydra_cfg, "launcher.cpus_per_task", default=None)  # submitit
        if isinstance(n_jobs, int):
            config.trainer.num_threads = threads_per_job(n_jobs, os.cpu_count() or 1)
        elif isinstance(cpus, int) and cpus > 0:  # the cores the scheduler gave this job
            config.trainer.num_threads = cpus
        if config.trainer.num_threads is not None:
            log.info("%d CPU thread(s) per job", config.trainer.num_threads)
    output_dir = OmegaConf.select(hydra_cfg, "runtime.output_dir", default=None)
    run_dir = Path(str(output_dir or hydra_cfg.run.dir)).expanduser()
    skip = None
    if config.resume == AUTO_RESUME:
        previous = previous_status(run_dir)
        if previous in ("completed", "failed"):
            skip = previous
        config.resume = str(run_dir) if previous == "resumable" else None
    choices = {k: str(v) for k, v in hydra_cfg.runtime.choices.items() if v is not None}
    experiment = choices.get("experiment")
    info = RunInfo(
        experiment=None if experiment in (None, "null") else experiment,
        overrides=[o for o in task_overrides if not o.startswith("resume=")],
        choices={k: v for k, v in choices.items() if not k.startswith("hydra/")},
        record_files=_record_files(cfg, hydra_cfg),
    )
    return ResolvedRun(config=config, run_dir=run_dir, info=info, skip=skip)


def _run_job(cfg: Any) -> dict[str, Any]:
    """Hydra's task function: resolve the composed config, then train."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from noisyexp.training.trainer import train

    hydra_cfg = HydraConfig.get()
    resolved = resolve_run(cfg, hydra_cfg, multirun=hydra_cfg.mode == RunMode.MULTIRUN)
    if resolved.skip is not None:
        log.info(
            "%s: already %s, not run again (delete it to rerun)", resolved.run_dir, resolved.skip
        )
        return {"status": resolved.skip, "run_dir": str(resolved.run_dir), "skipped": True}
    result = train(resolved.config, resolved.run_dir, resolved.info)
    return {"status": result.status, "run_dir": str(result.run_dir)}


def _compose(args: list[str]) -> tuple[Any, Any]:
    """Compose ``args`` as Hydra's run will (config, hydra node), without running anything."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import open_dict

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose("config", overrides=args, return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()
    hydra_cfg = cfg.hydra
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg, hydra_cfg


def _with_search_path(args: list[str], folders: list[Path]) -> list[str]:
    if not folders or any(a.startswith("hydra.searchpath=") for a in args):
        return args
    paths = ",".join(_quote_value(f"file://{folder}") for folder in folders)
    return [*args, f"hydra.searchpath=[{paths}]"]


def train_command(args: list[str]) -> int:
    """``noisyexp train [overrides]``: validate a single run's command line, then run Hydra."""
    import hydra

    folders = load_plugins()  # before the schemas are stored: plugins add to the registries
    args = quote_option_names(quote_paths(resume_arguments(args)))
    args = _with_search_path(args, folders)
    register_configs()
    if not any(a.startswith("-") for a in args):  # -m, --cfg, --help: Hydra's own business
        resolve_run(*_compose(args))  # a bad value is refused before any folder exists
    os.environ.setdefault("HYDRA_FULL_ERROR", "1")  # errors reach us, and become one line
    entry = hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")(
        _run_job
    )
    saved_argv, saved_stderr = sys.argv, sys.stderr
    sys.argv = ["noisyexp", *args]  # Hydra names the completion script after argv[0]
    sys.stderr = QuietHydraErrors(sys.stderr)
    try:
        entry()
    finally:
        sys.argv, sys.stderr = saved_argv, saved_stderr
    return 0
