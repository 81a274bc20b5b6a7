"""Helpers of tests that need a second process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def hold_lock(run_dir: Path) -> subprocess.Popen:
    """Another process holding ``run_dir``'s run lock (until killed), as a live trainer would."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from noisyexp.training.lock import RunLock;"
            " RunLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(120)",
            str(run_dir),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder
