"""The machine-readable record of a run (``summary.json``), written once its numbers are final."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import torch

import noisyexp

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
    """Write JSON through a temporary file and ``os.replace``: readers never see half a file."""
    path = Path(path)
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as tmp:
            json.dump(payload, tmp, indent=2, sort_keys=False)
            tmp.write("\n")
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def environment() -> dict[str, str]:
    """Versions that affect the numbers."""
    return {
        "code_version": code_version(),
        "noisyexp_version": noisyexp.__version__,
        "torch_version": torch.__version__,
    }
