"""A run's TensorBoard HParams record: what identifies it and how it ended.

Written at the end of every session of a run (completed, failed or stopped) into the run's own
event folder, beside its curves, so ``tensorboard --logdir <sweep>`` compares a multirun's jobs
in the HParams tab. The hparams are the keys that tell runs apart (task, experiment, unit and its
c/alpha, noise schedule, optimizer and lr, seed, profile) plus every key the command line
overrode; the metrics are the summary's final validation and test numbers, logged as scalars
``final/<split>/<metric>``.

No experiment summary is written: TensorBoard then builds the table from every run's session
record, so runs of different sweeps (different overridden keys) still line up. TensorBoard keeps
the first session record of a run, so a stopped run's record stays when it is resumed; its end
status is written only once the run is final (completed or failed), and the final metrics are
scalars that the resumed session's values replace.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from noisyexp.training.run_log import TensorBoardLogger

__all__ = ["final_metrics", "log_hparams", "run_hparams"]

log = logging.getLogger(__name__)

HParam = bool | int | float | str

#: dotted config keys that identify a run in any sweep (left out when null)
IDENTITY_KEYS = (
    "task.name",
    "act.name",
    "act.c",
    "act.alpha",
    "act.gate.type",
    "act.gate.c",
    "act.gate.alpha",
    "act.cell.type",
    "act.cell.c",
    "act.cell.alpha",
    "noise.name",
    "optim.name",
    "optim.lr",
    "seed",
    "profile",
)
#: config groups: ``act=nan`` on the command line records the option picked
_GROUPS = ("act", "noise", "optim", "trainer", "task", "experiment")
#: overridden keys that only say where a run is, not what it is
_BOOKKEEPING = ("resume", "debug", "paths.", "hydra.", "hydra/")


def _lookup(config: dict[str, Any], key: str) -> Any:
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _plain(value: Any) -> HParam | None:
    """A value TensorBoard can show: bool, number, string (lists and dicts as JSON)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def run_hparams(
    summary: dict[str, Any], choices: dict[str, str] | None = None
) -> dict[str, HParam]:
    """The hparams of a run from its ``summary.json`` contents.

    Args:
        summary: the run's summary (``config``, ``experiment``, ``overrides``).
        choices: Hydra's config group choices (``{"act": "nan", ...}``), for group overrides.

    Returns:
        ``{"experiment": ..., "act.c": 0.5, ...}``; null values are left out.
    """
    config, choices = summary["config"], choices or {}
    values: dict[str, Any] = {"experiment": summary.get("experiment")}
    values.update((key, _lookup(config, key)) for key in IDENTITY_KEYS)
    for name, value in config.get("noise", {}).items():  # the schedule's own knobs
        if name not in ("name", "roles"):
            values[f"noise.{name}"] = value
    for override in summary.get("overrides", []):
        key, _, raw = override.lstrip("+~").partition("=")
        if key == "experiment" or key.startswith(_BOOKKEEPING):
            continue
        if key in _GROUPS:
            values[key] = choices.get(key, raw.strip("'\""))
        else:
            values[key] = _lookup(config, key)
    plain = {key: _plain(value) for key, value in values.items()}
    return {key: value for key, value in plain.items() if value is not None}


def final_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """``final/valid/<m>`` (the last evaluation) and ``final/test/<m>`` of a summary."""
    metrics = {**summary.get("final", {}), **summary.get("test", {})}
    return {
        f"final/{key}": float(value)
        for key, value in metrics.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }


def log_hparams(
    tensorboard: TensorBoardLogger, summary: dict[str, Any], choices: dict[str, str]
) -> None:
    """Write the run's HParams record; a failure is a warning (the summary still gets written)."""
    try:
        tensorboard.log_hparams(
            run_hparams(summary, choices),
            final_metrics(summary),
            step=int(summary["steps"]),
            status=summary["status"],
        )
    except Exception as err:  # TensorBoard's record is a convenience; never lose the summary
        log.warning("TensorBoard HParams record not written: %s", err)
