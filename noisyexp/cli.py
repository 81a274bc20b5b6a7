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

CONF_DIR = Path(__file__).resolve().parent / "conf"
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


def _resume_arguments(args: list[str]) -> list[str]:
    """Rewrite ``resume=DIR [overrides]`` into the run's saved overrides plus the new ones.

    Raises:
        CheckpointError: DIR is not a run directory with a checkpoint.
    """
    from omegaconf import OmegaConf

    from noisyexp.errors import CheckpointError

    resume = [a for a in args if a.startswith("resume=")]
    if not resume or resume[-1] in (f"resume={AUTO_RESUME}", "resume=null"):
        return args
    if "-m" in args or "--multirun" in args:
        raise _UsageError("resume= continues one run; it cannot be combined with -m")
    run_dir = Path(resume[-1].split("=", 1)[1]).expanduser()
    saved = run_dir / ".hydra" / "overrides.yaml"
    if not saved.is_file():
        raise CheckpointError(f"{run_dir} is not a run directory (no .hydra/overrides.yaml)")
    if not (run_dir / "checkpoints" / "last.pt").is_file():
        raise CheckpointError(f"{run_dir} has no checkpoints/last.pt to resume from")
    previous = [
        str(o) for o in OmegaConf.load(saved) if not str(o).startswith(("resume=", "hydra."))
    ]
    new = [a for a in args if not a.startswith("resume=")]
    return [*previous, *new, f"resume={run_dir.resolve()}", f"hydra.run.dir={run_dir.resolve()}"]


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


def _run_job(cfg: Any) -> dict[str, Any]:
    """Hydra's task function: validate the composed config once, then train."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from noisyexp.config import RunConfig
    from noisyexp.train import RunInfo, previous_status, train

    run_config: RunConfig = OmegaConf.to_object(cfg)  # runs every __post_init__ check
    hydra_cfg = HydraConfig.get()
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


def _train(args: list[str]) -> int:
    import hydra

    from noisyexp.config import register_configs

    args = _quote_option_names(_resume_arguments(args))
    register_configs()
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
    for path in build(options.results, options.out or options.results / command):
        print(path)
    return 0


def _tables(args: list[str]) -> int:
    from noisyexp import tables

    return _report(
        args, command="tables", description="Build the paper's tables.", build=tables.main
    )


def _figures(args: list[str]) -> int:
    from noisyexp import figures

    return _report(args, command="figures", description="Plot learning curves.", build=figures.main)


def _paper(args: list[str]) -> int:
    """``noisyexp paper``: every preset of a profile over its seeds, then tables and figures."""
    from noisyexp import figures, reproduce, tables
    from noisyexp.errors import ConfigError

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
    from noisyexp.translate import load_translator

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

    from noisyexp.errors import NoisyExpError

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
