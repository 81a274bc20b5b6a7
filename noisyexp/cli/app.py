"""The ``noisyexp`` command: dispatch to a command module, and turn user errors into one line.

A user error ends with one line ``noisyexp: error: ...`` on stderr and exit status 2;
``debug=true`` (or ``NOISYEXP_DEBUG=1``) shows the traceback instead. Each command lives in its
own module (``train_command``, ``paper_command``, ``report_commands``, ``translate_command``).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from noisyexp import __version__
from noisyexp.cli.messages import CONF_DIR, UsageError, debug_requested, one_line
from noisyexp.cli.plugins import load_plugins

__all__ = ["COMMANDS", "CONF_DIR", "EXIT_INTERRUPTED", "EXIT_USAGE", "main", "usage"]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Command:
    """A subcommand: what it does in one line, and where it lives (imported when run)."""

    summary: str
    module: str
    function: str

    def run(self, args: list[str]) -> int:
        import importlib

        return getattr(importlib.import_module(self.module), self.function)(args)


#: command name -> the command (one registry: the dispatch and ``--help`` read it)
COMMANDS = {
    "train": Command(
        "train one run, or a sweep with -m (Hydra overrides: task=ptb act=nan ...)",
        "noisyexp.cli.train_command",
        "train_command",
    ),
    "paper": Command(
        "run every experiment of a profile (quick, cpu, full, long), then tables and figures",
        "noisyexp.cli.paper_command",
        "paper_command",
    ),
    "tables": Command(
        "build the paper's tables from the run records (results/paper/) and ad-hoc runs",
        "noisyexp.cli.report_commands",
        "tables_command",
    ),
    "figures": Command(
        "plot learning curves and learned unit shapes from the run records",
        "noisyexp.cli.report_commands",
        "figures_command",
    ),
    "claims": Command(
        "write the claims report (each claim of the paper, its records, a verdict)",
        "noisyexp.cli.report_commands",
        "claims_command",
    ),
    "translate": Command(
        "translate stdin's lines with a trained translation run (task=nmt)",
        "noisyexp.cli.translate_command",
        "translate_command",
    ),
}

_EXAMPLES = """\
examples:
  noisyexp train                                  # the embedded default (no download)
  noisyexp train task=ptb act=nan                 # PTB with NAN units
  noisyexp train -m experiment=ptb_small_nan act.c=0.1,0.5,1 seed=1,2,3
  noisyexp train resume=results/runs/ptb/nan/<run>  # continue a stopped run
  noisyexp train --help                           # config groups and options
  noisyexp tables                                 # -> results/tables/
  noisyexp paper --profile cpu --data-dir DIR     # the paper, reduced budgets, then tables
  noisyexp translate results/runs/nmt/nah/<run> < input.txt   # with a trained run

options: -h/--help this text, -V/--version the version; NOISYEXP_PLUGINS=mod,... imports
extensions first; NOISYEXP_DEBUG=1 shows tracebacks.
"""


def usage() -> str:
    """``noisyexp --help``: every command with its one line, then examples."""
    width = max(len(name) for name in COMMANDS)
    lines = [
        "usage: noisyexp <command> [arguments]",
        "",
        "Noisy activation functions (Gulcehre et al., ICML 2016): train, sweep, tabulate.",
        "",
        "commands:",
        *(f"  {name:<{width}}  {command.summary}" for name, command in COMMANDS.items()),
        "",
    ]
    return "\n".join(lines) + "\n" + _EXAMPLES


def _errors() -> tuple[type[BaseException], ...]:
    """What counts as a user error (imported late: Hydra and OmegaConf are slow to import)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from noisyexp.core.errors import NoisyExpError

    return (NoisyExpError, HydraException, OmegaConfBaseException, UsageError, OSError)


def _run(command: Callable[[list[str]], int], rest: list[str]) -> int:
    errors = _errors()
    try:
        load_plugins()  # what NOISYEXP_PLUGINS registers is there for every command
        return command(rest)
    except SystemExit as done:  # Hydra and argparse exit by themselves after --help, -sc
        return done.code if isinstance(done.code, int) else int(done.code is not None)
    except KeyboardInterrupt:
        print("noisyexp: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except errors as err:
        if debug_requested(rest):
            raise
        print(f"noisyexp: error: {one_line(err)}", file=sys.stderr)
        return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``noisyexp`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage(), end="")
        return 0 if args else EXIT_USAGE
    if args[0] in ("-V", "--version", "version"):
        print(f"noisyexp {__version__}")
        return 0
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
    return _run(COMMANDS[command].run, rest)


if __name__ == "__main__":
    sys.exit(main())
