"""``noisyexp tables|figures|claims``: what the run records say, as files."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from noisyexp.core.errors import ConfigError

__all__ = ["claims_command", "figures_command", "tables_command"]


def _report(
    args: list[str],
    *,
    command: str,
    description: str,
    build: Callable[[Path, Path], list[Path]],
    default_out: str | None = None,
) -> int:
    """``noisyexp <command> [--results DIR] [--out DIR]``: build outputs, list the files."""
    parser = argparse.ArgumentParser(prog=f"noisyexp {command}", description=description)
    parser.add_argument("--results", type=Path, default=Path("results"), help="runs to read")
    out = default_out or command
    parser.add_argument("--out", type=Path, default=None, help=f"default: <results>/{out}")
    options = parser.parse_args(args)
    if not options.results.is_dir():
        raise ConfigError(f"{options.results} is not a folder (--results: where the runs are)")
    for path in build(options.results, options.out or options.results / out):
        print(path)
    return 0


def tables_command(args: list[str]) -> int:
    from noisyexp.reports import tables

    return _report(
        args, command="tables", description="Build the paper's tables.", build=tables.main
    )


def figures_command(args: list[str]) -> int:
    from noisyexp.reports import figures

    return _report(args, command="figures", description="Plot learning curves.", build=figures.main)


def claims_command(args: list[str]) -> int:
    from noisyexp.reports import claims

    return _report(
        args,
        command="claims",
        description="Write the claims report: each claim of the paper, the records it rests "
        "on and a verdict.",
        build=claims.main,
        default_out=".",
    )
