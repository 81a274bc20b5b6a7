"""The machine-readable record of a run (``summary.json``), written once its numbers are final."""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path
from typing import Any

import torch

import noisyexp
from noisyexp.atomic import write_text_atomic

__all__ = ["SUMMARY_SCHEMA", "code_version", "write_json_atomic"]

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
