"""``noisyexp paper``: every preset of a profile over its seeds, then the tables and figures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from noisyexp.core.errors import ConfigError

__all__ = ["paper_command"]


def paper_command(args: list[str]) -> int:
    """Run a profile's sweeps (skipping completed runs, resuming stopped ones), then report."""
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
    failed = [r.name for r in results if r.status == "failed"]
    waiting = [r.name for r in results if r.status == "waiting"]
    done = len(results) - len(failed) - len(waiting)
    total = sum(r.wall_s for r in results)
    print(
        f"noisyexp paper --profile {profile.name}: {done}/{len(results)} "
        f"sweeps completed in {total / 60:.1f} min; tables in {options.results / 'tables'}"
        + (
            f"; waiting (run again once their grid is done): {', '.join(waiting)}"
            if waiting
            else ""
        )
    )
    if failed:
        print(f"noisyexp: error: sweep(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
