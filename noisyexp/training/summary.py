"""The machine-readable record of a run (``summary.json``), written once its numbers are final."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

import noisyexp
from noisyexp.core.atomic import write_text_atomic

__all__ = [
    "PREVIOUS_SUMMARY",
    "SUMMARY_SCHEMA",
    "build_summary",
    "code_version",
    "set_summary_aside",
    "write_json_atomic",
    "write_summary",
]

#: a completed run's summary while the run is extended (restored if the extension cannot finish)
PREVIOUS_SUMMARY = "summary.previous.json"

SUMMARY_SCHEMA = 1


@functools.cache
def code_version() -> str:
    """``git:<short sha>`` (plus `` (dirty)``) of the source tree, else the package version."""
    source = Path(noisyexp.__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(source), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return f"noisyexp {noisyexp.__version__}"
    return f"git:{sha}" + (" (dirty)" if dirty else "")


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as indented JSON, atomically: readers never see half a file."""
    write_text_atomic(path, json.dumps(payload, indent=2) + "\n")


def environment() -> dict[str, str]:
    """Versions that affect the numbers."""
    return {
        "code_version": code_version(),
        "noisyexp_version": noisyexp.__version__,
        "torch_version": torch.__version__,
    }


def build_summary(
    config: dict[str, Any],
    *,
    status: str,
    error: str | None,
    experiment: str | None,
    overrides: list[str],
    dataset: Any,
    device: str,
    steps: int,
    max_steps: int,
    steps_per_epoch: int,
    wall_time_s: float,
    started_at: str,
    final: dict[str, float],
    best: dict[str, Any],
    test: dict[str, float],
    skipped_steps: int = 0,
    device_info: dict[str, Any] | None = None,
    precision: dict[str, Any] | None = None,
    cuda_graphs: dict[str, Any] | None = None,
    code_versions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The contents of ``summary.json``: ``config`` is the run's config as plain data.

    ``code_versions`` lists every session of the run, ``{"code_version", "from_step"}``, the
    first one first (a resumed run may have been trained by several commits); ``code_version``
    is the last session's.

    ``device_info`` (GPU name, CUDA and cuDNN versions) and ``precision`` (the float32 policy of
    each CUDA path) say on what arithmetic the numbers were computed; ``cuda_graphs`` how many
    steps were replayed from a captured graph (None when ``trainer.cuda_graphs`` is off).
    """
    return {
        "schema": SUMMARY_SCHEMA,
        "status": status,
        "error": error,
        "task": config["task"]["name"],
        "act": config["act"]["name"],
        "noise": config["noise"]["name"],
        "optim": config["optim"]["name"],
        "experiment": experiment,
        "profile": config["profile"],
        "seed": config["seed"],
        "overrides": overrides,
        "config": config,
        **environment(),
        "code_versions": code_versions or [{"code_version": code_version(), "from_step": 0}],
        "dataset": dataclasses.asdict(dataset),
        "device": device,
        "device_info": device_info,
        "precision": precision,
        "cuda_graphs": cuda_graphs,
        "steps": steps,
        "skipped_steps": skipped_steps,
        "max_steps": max_steps,
        "epochs": steps / steps_per_epoch,
        "wall_time_s": round(wall_time_s, 3),
        "started_at": started_at,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "final": final,
        "best": best,
        "test": test,
    }


def set_summary_aside(path: Path) -> None:
    """Move a run's summary to :data:`PREVIOUS_SUMMARY` while the run is extended."""
    if path.exists():
        os.replace(path, path.with_name(PREVIOUS_SUMMARY))


def write_summary(path: Path, summary: dict[str, Any], failure: BaseException | None) -> None:
    """Write the run's summary; an extension that failed for want of disk (or any OS error)
    restores the summary it replaced instead, so a completed run never drops out of the tables.
    """
    previous = path.with_name(PREVIOUS_SUMMARY)
    if isinstance(failure, OSError) and previous.exists():
        os.replace(previous, path)
        logging.getLogger(__name__).warning(
            "%s: the extension failed (%s); the previous summary is kept", path, failure
        )
        return
    try:
        write_json_atomic(path, summary)
    except OSError:
        if previous.exists():
            os.replace(previous, path)
        raise
    previous.unlink(missing_ok=True)
