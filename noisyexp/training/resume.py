"""Resuming a run: what a run directory holds, and which config changes a resume refuses."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from noisyexp.core.errors import CheckpointError

__all__ = [
    "RESUMABLE_KEYS",
    "previous_status",
    "read_summary",
    "restore_rng_for_resume",
    "structural_changes",
]

log = logging.getLogger(__name__)

#: top-level config keys that may change when a run is resumed; any other change is refused
RESUMABLE_KEYS = ("trainer", "paths", "resume", "debug", "profile")


def structural_changes(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Dotted keys whose values differ between a saved and the current config.

    Ignored: the resumable keys; a key the current config does not have at all (a knob removed
    from a schema cannot change what the run does, e.g. the noise knobs of other schedules that
    old runs saved); and a key added since the run started that is left None/False. The act is
    compared by what it builds (:func:`units.effective_act`): an old name and its alias, or a
    paper default written out and left to the registry, are the same run.
    """
    from noisyexp.config.act import effective_act  # torch: only when a run is resumed

    saved, current = dict(saved), dict(current)
    for config in (saved, current):
        if isinstance(config.get("act"), dict):
            config["act"] = effective_act(config["act"])
    changes: list[str] = []

    def walk(old: Any, new: Any, prefix: str) -> None:
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(new):
                if key not in old and new[key] in (None, False):
                    continue  # an option added since the run started, left off: same run
                walk(old.get(key), new[key], f"{prefix}{key}.")
        elif old != new:
            changes.append(prefix.rstrip("."))

    for key in sorted(current):
        if key not in RESUMABLE_KEYS:
            walk(saved.get(key), current[key], f"{key}.")
    return changes


def read_summary(run_dir: Path) -> dict[str, Any] | None:
    """The ``summary.json`` of ``run_dir`` as a dict; None when absent, unreadable or not an object.

    The one reader for code that must decide from a run's record (resume, picks) without the
    reports' validation; torch-free, so planning a sweep stays fast.
    """
    try:
        summary = json.loads((Path(run_dir) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


def previous_status(run_dir: Path) -> str | None:
    """What ``run_dir`` already holds: ``completed``/``failed`` (final), ``resumable``, or None.

    A run killed before it could write its summary (or stopped by a signal) still has
    ``checkpoints/last.pt`` (or its fallback ``previous.pt``) and is ``resumable``; an
    unreadable summary counts as not final.
    """
    run_dir = Path(run_dir)
    status = (read_summary(run_dir) or {}).get("status")
    if status in ("completed", "failed"):
        return status
    if any((run_dir / "checkpoints" / name).is_file() for name in ("last.pt", "previous.pt")):
        return "resumable"
    return None


def restore_rng_for_resume(
    state: dict[str, Any],
    noise_generator: Any,
    device: Any,
    *,
    policy: str,
    reseed: int,
    run_dir: Path,
) -> None:
    """Restore a checkpoint's RNG states on ``device`` under ``trainer.cross_device_resume``.

    A checkpoint written on the same device type resumes bit-exactly. One written on another
    (a CPU run resumed on CUDA, or back) cannot continue its noise stream: CPU and CUDA
    generators are different algorithms. ``reseed`` seeds it from ``reseed`` (a function of
    seed and step, so the resumed run is still reproducible) and warns once; ``refuse`` raises.

    Raises:
        CheckpointError: another device type and ``policy`` is ``refuse``.
    """
    import torch  # only when a run is resumed

    from noisyexp.core.rng import noise_device_type, restore_rng_state

    saved, here = noise_device_type(state), torch.device(device).type
    if saved != here and policy == "refuse":
        raise CheckpointError(
            f"cannot resume {run_dir}: its checkpoint was written on {saved}, this run is on "
            f"{here} (trainer.cross_device_resume=reseed resumes it, not bit-exactly)"
        )
    if not restore_rng_state(state, noise_generator, device, reseed=reseed):
        log.warning(
            "resuming a %s checkpoint on %s: the noise stream is reseeded from (seed, step), "
            "so this resume is not bit-exact",
            saved,
            here,
        )
