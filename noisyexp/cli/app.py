"""The ``noisyexp`` command: the only module that touches argv, stderr and exit codes.

``noisyexp train [overrides]`` hands its arguments to Hydra (so ``-m``, ``--cfg job``, ``--help``,
``hydra.run.dir=...`` all work as in any Hydra app); ``noisyexp tables`` and ``noisyexp figures``
build the paper's tables and plots from run summaries. A user error ends with one line
``noisyexp: error: ...`` on stderr and exit status 2; ``debug=true`` (or ``NOISYEXP_DEBUG=1``)
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["CONF_DIR", "main"]

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
log = logging.getLogger("noisyexp")
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: ``resume=auto``: continue the run already in the job's directory, skip it if it finished
AUTO_RESUME = "auto"

USAGE = """\
usage: noisyexp <command> [arguments]

Noisy activation functions (Gulcehre et al., ICML 2016): train, sweep, tabulate.

commands:
  train     train one run, or a sweep with -m (Hydra overrides: task=ptb act=nan ...)
  tables    build the paper's tables from results/**/summary.json
  figures   plot learning curves and learned unit shapes from results/
  paper     run every experiment of a profile (cpu, full), then the tables and figures
  translate translate stdin's lines with a trained translation run (task=nmt)

examples:
  noisyexp train                                  # the embedded default (no download)
  noisyexp train task=ptb act=nan                 # PTB with NAN units
  noisyexp train -m experiment=ptb_small_nan act.c=0.1,0.5,1 seed=1,2,3
  noisyexp train resume=results/runs/ptb/nan/<run>  # continue a stopped run
  noisyexp train --help                           # config groups and options
  noisyexp tables                                 # -> results/tables/
  noisyexp paper --profile cpu --data-dir DIR     # the paper, reduced budgets, then tables
  noisyexp translate results/runs/nmt/nah/<run> < input.txt   # with a trained run
"""


class _UsageError(Exception):
    pass


def _debug_requested(args: Sequence[str]) -> bool:
    return os.environ.get("NOISYEXP_DEBUG", "") not in ("", "0") or "debug=true" in args


_MISSING_OPTION = re.compile(r"Could not find '(\w+)/([^']+)'")


def _one_line(error: BaseException) -> str:
    """The first informative line of an exception and of its cause (Hydra wraps OmegaConf's)."""
    missing = _MISSING_OPTION.search(str(error))
    if missing and (CONF_DIR / missing.group(1)).is_dir():  # say which options there are
        group, name = missing.groups()
        options = sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))
        return f"unknown {group} option {name!r}; choose one of: {', '.join(options)}"
    parts = []
    current: BaseException | None = error
    while current is not None and len(parts) < 2:
        text = str(current).strip()
        if text:
            first = text.splitlines()[0].strip()
            full_key = next(
                (ln.strip() for ln in text.splitlines() if ln.strip().startswith("full_key:")),
                "",
            )
            parts.append(f"{first} ({full_key})" if full_key else first)
        current = current.__cause__
    message = "; ".join(dict.fromkeys(parts)) or type(error).__name__
    return message


def _quote_value(value: str) -> str:
    """``value`` as a quoted string of Hydra's override grammar (spaces, non-ASCII, quotes)."""
    return "'" + value.replace("'", "\\'") + "'"


def _resume_arguments(args: list[str]) -> list[str]:
    """Rewrite ``resume=DIR [overrides]`` into the run's saved overrides plus the new ones.

    Raises:
        CheckpointError: DIR is not a run directory with a checkpoint.
        RunInUseError: another process is training in DIR.
    """
    from noisyexp.core.errors import CheckpointError, ConfigError
    from noisyexp.core.safe_yaml import load_yaml
    from noisyexp.training.lock import check_not_in_use

    resume = [a for a in args if a.startswith("resume=")]
    if not resume or resume[-1] in (f"resume={AUTO_RESUME}", "resume=null"):
        return args
    if "-m" in args or "--multirun" in args:
        raise _UsageError("resume= continues one run; it cannot be combined with -m")
    run_dir = Path(resume[-1].split("=", 1)[1]).expanduser()
    saved = run_dir / ".hydra" / "overrides.yaml"
    if not saved.is_file():
        raise CheckpointError(f"{run_dir} is not a run directory (no .hydra/overrides.yaml)")
    if not any((run_dir / "checkpoints" / n).is_file() for n in ("last.pt", "previous.pt")):
        raise CheckpointError(f"{run_dir} has no checkpoints/last.pt to resume from")
    check_not_in_use(run_dir)
    loaded = load_yaml(saved)
    if not isinstance(loaded, list) or not all(isinstance(o, str) for o in loaded):
        raise ConfigError(f"{saved} is not a list of overrides")
    previous = [o for o in loaded if not o.startswith(("resume=", "hydra."))]
    new = [a for a in args if not a.startswith("resume=")]
    where = _quote_value(str(run_dir.resolve()))  # a path with spaces or accents stays one value
    return [*previous, *new, f"resume={where}", f"hydra.run.dir={where}"]


def _unknown_additions(args: list[str], compose: Any) -> None:
    """Refuse ``+key=value`` / ``++key=value`` for a key no schema has (a typo, silently added).

    ``+group=option`` (a config group) and keys under ``hydra.`` or under a free-form dict are
    fine.
    """
    from omegaconf import DictConfig, OmegaConf

    from noisyexp.core.errors import ConfigError

    additions = [a for a in args if a.startswith("+") and "=" in a]
    keys = [a.lstrip("+").split("=", 1)[0] for a in additions]
    keys = [k for k in keys if not (k.startswith("hydra") or (CONF_DIR / k).is_dir())]
    if not keys:
        return
    base = compose([a for a in args if a not in additions])
    missing = object()
    for key in keys:
        if OmegaConf.select(base, key, default=missing) is not missing:
            continue
        parent = OmegaConf.select(base, key.rpartition(".")[0]) if "." in key else base
        if isinstance(parent, DictConfig) and OmegaConf.get_type(parent) is dict:
            continue
        raise ConfigError(f"unknown key {key!r} (from +{key}=...): no config schema has it")


def _checkpoint_config(path: Path) -> dict[str, Any] | None:
    """The config a checkpoint was saved with, read lazily (memory-mapped); None if unreadable."""
    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        return payload["config"] if isinstance(payload.get("config"), dict) else None
    except Exception:  # unreadable here: train() reports it (or falls back to previous.pt)
        return None


def _preflight(args: list[str]) -> None:
    """Compose and check a single run's config before Hydra writes anything in its folder.

    Hydra rewrites ``<run dir>/.hydra/`` before the job starts, so a command refused only then
    (a changed act in an existing run's folder, ``resume=DIR task=other``) would already have
    replaced the files a later ``resume=DIR`` reads. Here every value is validated, unknown
    ``+key`` additions are refused, and an existing run folder is checked (in use by another
    process, holds a different run) while nothing has been written yet.
    """
    if any(a.startswith("-") for a in args):  # -m, --cfg, --help, -sc: Hydra's own business
        return
    from dataclasses import asdict

    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf, open_dict

    from noisyexp.core.errors import CheckpointError
    from noisyexp.training.lock import check_not_in_use
    from noisyexp.training.resume import structural_changes

    def _compose(overrides: list[str], hydra_config: bool = False) -> Any:
        GlobalHydra.instance().clear()
        try:
            with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
                return compose("config", overrides=overrides, return_hydra_config=hydra_config)
        finally:
            GlobalHydra.instance().clear()

    cfg = _compose(args, hydra_config=True)
    _unknown_additions(args, _compose)
    run_dir = Path(str(cfg.hydra.run.dir)).expanduser()
    with open_dict(cfg):
        del cfg["hydra"]
    run_config = OmegaConf.to_object(cfg)  # every __post_init__ check, before any file is written
    checkpoints = [run_dir / "checkpoints" / n for n in ("last.pt", "previous.pt")]
    existing = [p for p in checkpoints if p.is_file()]
    if not existing and not (run_dir / "summary.json").is_file():
        return
    check_not_in_use(run_dir)
    if run_config.resume is None:
        raise CheckpointError(f"{run_dir} already holds a run; resume it with resume={run_dir}")
    saved = _checkpoint_config(existing[0]) if existing else None
    if saved is not None:
        changes = structural_changes(saved, asdict(run_config))
        if "task.name" in changes:  # another task: its name says it, not its every knob
            changes = [c for c in changes if not c.startswith("task.")]
            changes.insert(0, f"task ({saved['task'].get('name')} -> {run_config.task.name})")
        if changes:
            raise CheckpointError(
                f"cannot resume {run_dir}: changed {', '.join(changes)} "
                "(only trainer.*, paths.* may change on resume)"
            )


class _QuietHydraErrors:
    """stderr proxy that drops Hydra's "Error executing job with overrides" line.

    Hydra writes that line itself before re-raising a job's exception; we report the exception
    as one line of our own, so the user sees one line, not two.
    """

    _PREFIX = "Error executing job with overrides:"

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if text.startswith(self._PREFIX):
            return len(text)
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def threads_per_job(n_jobs: int, cores: int) -> int:
    """CPU threads for one job of a parallel local sweep (joblib's ``n_jobs``: -1 = one job per
    core, -2 = all cores but one, ...): the cores shared among the jobs that run at once.

    Each torch process would otherwise take every core, so N jobs would run N × cores threads
    (a GPU box running several seeds at once included). ``trainer.num_threads`` overrides it.
    """
    parallel = cores + 1 + n_jobs if n_jobs < 0 else n_jobs
    return max(1, cores // max(1, parallel))


def _run_job(cfg: Any) -> dict[str, Any]:
    """Hydra's task function: validate the composed config once, then train."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from noisyexp.config.schema import RunConfig
    from noisyexp.training.trainer import RunInfo, previous_status, train

    run_config: RunConfig = OmegaConf.to_object(cfg)  # runs every __post_init__ check
    hydra_cfg = HydraConfig.get()
    if run_config.trainer.num_threads is None:
        n_jobs = OmegaConf.select(hydra_cfg, "launcher.n_jobs", default=None)
        if hydra_cfg.mode == RunMode.MULTIRUN and isinstance(n_jobs, int):
            run_config.trainer.num_threads = threads_per_job(n_jobs, os.cpu_count() or 1)
            log.info("%d CPU thread(s) per job", run_config.trainer.num_threads)
    run_dir = Path(hydra_cfg.runtime.output_dir)
    if run_config.resume == AUTO_RESUME:
        previous = previous_status(run_dir)
        if previous in ("completed", "failed"):
            log.info("%s: already %s, not run again (delete it to rerun)", run_dir, previous)
            return {"status": previous, "run_dir": str(run_dir), "skipped": True}
        run_config.resume = str(run_dir) if previous == "resumable" else None
    choices = {k: str(v) for k, v in hydra_cfg.runtime.choices.items() if v is not None}
    experiment = choices.get("experiment")
    info = RunInfo(
        experiment=None if experiment in (None, "null") else experiment,
        overrides=[str(o) for o in hydra_cfg.overrides.task if not str(o).startswith("resume=")],
        choices={k: v for k, v in choices.items() if not k.startswith("hydra/")},
    )
    result = train(run_config, run_dir, info)
    return {"status": result.status, "run_dir": str(result.run_dir)}


#: config groups whose options a user names on the command line (``act=nan``)
_GROUPS = ("act", "noise", "optim", "trainer", "task", "experiment")
_GROUP_OVERRIDE = re.compile(rf"^(~|\+\+|\+)?({'|'.join(_GROUPS)})=(.+)$")


def _quote_option_names(args: list[str]) -> list[str]:
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


def _quote_paths(args: list[str]) -> list[str]:
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


def _train(args: list[str]) -> int:
    import hydra

    from noisyexp.config.schema import register_configs

    args = _quote_option_names(_quote_paths(_resume_arguments(args)))
    register_configs()
    _preflight(args)
    os.environ.setdefault("HYDRA_FULL_ERROR", "1")  # errors reach us, and become one line
    entry = hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")(
        _run_job
    )
    saved_argv, saved_stderr = sys.argv, sys.stderr
    sys.argv = ["noisyexp", *args]  # Hydra names the completion script after argv[0]
    sys.stderr = _QuietHydraErrors(sys.stderr)
    try:
        entry()
    finally:
        sys.argv, sys.stderr = saved_argv, saved_stderr
    return 0


def _report(args: list[str], *, command: str, description: str, build: Any) -> int:
    """``noisyexp tables|figures [--results DIR] [--out DIR]``: build outputs, list the files."""
    parser = argparse.ArgumentParser(prog=f"noisyexp {command}", description=description)
    parser.add_argument("--results", type=Path, default=Path("results"), help="runs to read")
    parser.add_argument("--out", type=Path, default=None, help=f"default: <results>/{command}")
    options = parser.parse_args(args)
    if not options.results.is_dir():
        from noisyexp.core.errors import ConfigError

        raise ConfigError(f"{options.results} is not a folder (--results: where the runs are)")
    for path in build(options.results, options.out or options.results / command):
        print(path)
    return 0


def _tables(args: list[str]) -> int:
    from noisyexp.reports import tables

    return _report(
        args, command="tables", description="Build the paper's tables.", build=tables.main
    )


def _figures(args: list[str]) -> int:
    from noisyexp.reports import figures

    return _report(args, command="figures", description="Plot learning curves.", build=figures.main)


def _paper(args: list[str]) -> int:
    """``noisyexp paper``: every preset of a profile over its seeds, then tables and figures."""
    from noisyexp.core.errors import ConfigError
    from noisyexp.paper import reproduce
    from noisyexp.reports import figures, tables

    parser = argparse.ArgumentParser(
        prog="noisyexp paper",
        description="Run every experiment of the paper (the sweeps of a profile), skipping runs "
        "that completed and resuming stopped ones, then build the tables and figures.",
    )
    parser.add_argument(
        "--profile",
        default="cpu",
        help=f"{', '.join(reproduce.available_profiles())} or a profile .yaml (default: cpu)",
    )
    parser.add_argument("--results", type=Path, default=Path("results"), help="results folder")
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="datasets folder")
    parser.add_argument("--launcher", default="local", choices=reproduce.LAUNCHERS)
    parser.add_argument("--jobs", type=int, default=None, help="parallel jobs (local launcher)")
    parser.add_argument("--only", default="", help="comma-separated sweep names to run")
    parser.add_argument("--dry-run", action="store_true", help="print the sweeps, run nothing")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every run")
    options = parser.parse_args(args)
    profile = reproduce.load_profile(options.profile)
    results = reproduce.run_profile(
        profile,
        results_dir=options.results,
        data_dir=options.data_dir,
        launcher=options.launcher,
        jobs=options.jobs,
        only=[name for name in options.only.split(",") if name],
        extra_overrides=options.overrides,
        dry_run=options.dry_run,
    )
    if options.dry_run:
        return 0
    tables.main(options.results, options.results / "tables", echo=None)
    try:
        figures.main(options.results, options.results / "figures", echo=None)
    except ConfigError as err:  # matplotlib is an extra: tables are enough without it
        print(f"noisyexp: figures skipped ({err})", file=sys.stderr)
    failed = [r.name for r in results if r.status != "completed"]
    total = sum(r.wall_s for r in results)
    print(
        f"noisyexp paper --profile {profile.name}: {len(results) - len(failed)}/{len(results)} "
        f"sweeps completed in {total / 60:.1f} min; tables in {options.results / 'tables'}"
    )
    if failed:
        print(f"noisyexp: error: sweep(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _translate(args: list[str]) -> int:
    """``noisyexp translate RUN_DIR < input.txt``: one translation per input line, on stdout."""
    from noisyexp.cli.translate import load_translator

    parser = argparse.ArgumentParser(
        prog="noisyexp translate",
        description="Translate sentences (one per line of stdin, or --input) with a trained "
        "translation run (task=nmt); translations go to stdout, one per line.",
    )
    parser.add_argument("run_dir", type=Path, help="the run directory (holds checkpoints/)")
    parser.add_argument("--input", type=Path, default=None, help="a file instead of stdin")
    parser.add_argument("--checkpoint", default="best.pt", help="best.pt (default) or last.pt")
    parser.add_argument("--beam", type=int, default=None, help="beam width (default: the run's)")
    parser.add_argument("--greedy", action="store_true", help="greedy decoding")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    options = parser.parse_args(args)
    translator = load_translator(
        options.run_dir,
        checkpoint=options.checkpoint,
        beam_size=options.beam,
        decoder="greedy" if options.greedy else None,
        device=options.device,
    )
    if options.input is not None:
        lines = options.input.read_text(encoding="utf-8").splitlines()
    else:
        lines = sys.stdin.read().splitlines()
    for line in translator.translate(lines):
        print(line)
    return 0


COMMANDS = {
    "train": _train,
    "tables": _tables,
    "figures": _figures,
    "paper": _paper,
    "translate": _translate,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``noisyexp`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if args else EXIT_USAGE
    command, rest = args[0], args[1:]
    if command == "-sc":  # Hydra's shell completion calls back `noisyexp -sc query=bash`
        command, rest = "train", args
        line = os.environ.get("COMP_LINE", "")
        os.environ["COMP_LINE"] = re.sub(r"^(\s*\S+)\s+train\b", r"\1", line)
    if command not in COMMANDS:
        print(
            f"noisyexp: error: unknown command {command!r} (try: noisyexp --help)", file=sys.stderr
        )
        return EXIT_USAGE
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from noisyexp.core.errors import NoisyExpError

    try:
        return COMMANDS[command](rest)
    except SystemExit as done:  # Hydra exits by itself after --help, --info, -sc
        return done.code if isinstance(done.code, int) else int(done.code is not None)
    except KeyboardInterrupt:
        print("noisyexp: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (NoisyExpError, HydraException, OmegaConfBaseException, _UsageError, OSError) as err:
        if _debug_requested(rest):
            raise
        print(f"noisyexp: error: {_one_line(err)}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
