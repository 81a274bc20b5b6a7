"""Sweeps whose value is picked from another sweep's records: e.g. each unit's learning rate.

A sweep with ``pick:`` runs each of its experiments at the value of ``key`` that the experiment's
runs in the sweep ``from`` (a grid over ``key``, earlier in the same profile) did best on, read
from their ``summary.json`` (``metric`` in ``section``, ``direction``), so a choice such as an
lr comes from the records, never from a hand. Until every run of the grid has completed, the
sweep waits and runs nothing; a second ``noisyexp paper`` picks it up.

This module reads run folders and chooses; :mod:`noisyexp.paper.reproduce` names the folders and
turns the picks into ``noisyexp train -m`` calls.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from noisyexp.core.errors import ConfigError
from noisyexp.training.resume import read_summary

__all__ = ["PICK_KEYS", "Pick", "check_pick", "choose"]

#: the keys of a ``pick:`` mapping (``section`` and ``direction`` may be left out)
PICK_KEYS = ("from", "key", "metric", "section", "direction")
_DEFAULTS = {"section": "final", "direction": "lower"}


@dataclass(frozen=True)
class Pick:
    """The value picked for one experiment, and every candidate's score (grid order)."""

    experiment: str
    value: Any
    scores: tuple[tuple[Any, float], ...]

    def text(self, key: str, metric: str) -> str:
        """``mnist_nan: optim.lr=0.0002 (valid/nll: 5e-05 0.091, 0.0001 0.083, ...)``."""
        scores = ", ".join(f"{value} {score:.4g}" for value, score in self.scores)
        return f"{self.experiment}: {key}={self.value} ({metric}: {scores})"


def check_pick(
    pick: Mapping[str, Any],
    where: str,
    experiments: Sequence[str],
    source: tuple[Sequence[str], Mapping[str, Any]] | None,
) -> dict[str, Any]:
    """The pick with its defaults, or a ConfigError naming ``where``.

    Args:
        pick: the sweep's ``pick:`` mapping.
        where: "profile <name>: sweep <name>", for the message.
        experiments: the experiments of the sweep that picks.
        source: ``(experiments, sweep)`` of the sweep named by ``from`` when it comes earlier in
            the profile; None when it does not.
    """
    unknown = sorted(set(pick) - set(PICK_KEYS))
    if unknown:
        raise ConfigError(f"{where}: pick has unknown key(s) {', '.join(unknown)}")
    missing = [key for key in ("from", "key", "metric") if not pick.get(key)]
    if missing:
        raise ConfigError(f"{where}: pick needs {', '.join(missing)}")
    full = {**_DEFAULTS, **dict(pick)}
    if full["direction"] not in ("lower", "higher"):
        raise ConfigError(f"{where}: pick direction must be lower or higher")
    if source is None:
        raise ConfigError(f"{where}: pick from {full['from']!r}: no such sweep before it")
    grid_experiments, grid = source
    if full["key"] not in grid:
        raise ConfigError(f"{where}: sweep {full['from']} does not sweep {full['key']}")
    others = [key for key in grid if key != full["key"]]
    if others:  # one value of the other keys per job would be ambiguous: refuse
        raise ConfigError(
            f"{where} picks {full['key']} from a grid that also sweeps {', '.join(others)}"
        )
    outside = [e for e in experiments if e not in grid_experiments]
    if outside:
        raise ConfigError(f"{where}: {', '.join(outside)} not in sweep {full['from']}")
    return full


def _score(run_dir: Path, section: str, metric: str) -> float | None:
    """The metric of a completed run; None when the run has not completed or lacks it."""
    summary = read_summary(run_dir)
    if summary is None or summary.get("status") != "completed":
        return None
    values = summary.get(section)
    value = values.get(metric) if isinstance(values, dict) else None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def choose(
    pick: Mapping[str, Any], candidates: Mapping[str, Sequence[tuple[Any, Sequence[Path]]]]
) -> tuple[list[Pick], str]:
    """Each experiment's best value, or why the pick must wait.

    Args:
        pick: a checked pick (:func:`check_pick`).
        candidates: experiment -> ``[(value, run folders of that value's seeds)]`` in grid order.

    Returns:
        ``(picks, "")``, or ``([], reason)`` while some grid run has not completed with the
        metric. A value scores the mean over its seeds; of equal scores the first value wins.
    """
    picks, missing, total = [], 0, 0
    for experiment, values in candidates.items():
        scores = []
        for value, folders in values:
            got = [_score(folder, pick["section"], pick["metric"]) for folder in folders]
            total += len(got)
            missing += sum(score is None for score in got)
            if all(score is not None for score in got) and got:
                scores.append((value, statistics.fmean(got)))
        if len(scores) == len(values):
            sign = 1.0 if pick["direction"] == "lower" else -1.0
            best = min(scores, key=lambda item: sign * item[1])  # min keeps the first of ties
            picks.append(Pick(experiment, best[0], tuple(scores)))
    if missing:
        return [], (
            f"waiting for sweep {pick['from']}: {total - missing} of {total} runs have "
            f"{pick['section']} {pick['metric']}"
        )
    return picks, ""
