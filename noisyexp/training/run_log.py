"""Where a run's numbers go: ``metrics.jsonl`` (one line per evaluation) and TensorBoard.

Both loggers share ``log_dict(step, values)`` and ``close()``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from noisyexp.core.atomic import write_text_atomic

__all__ = ["JsonlLogger", "TensorBoardLogger", "read_jsonl"]


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/inf; keep the line valid
    return value


class JsonlLogger:
    """Appends one JSON object per call; on resume, drops lines past the checkpoint's step."""

    def __init__(self, path: Path, *, resume_step: int | None = None) -> None:
        self.path = Path(path)
        if resume_step is not None and self.path.exists():
            kept = [row for row in read_jsonl(self.path) if row.get("step", 0) <= resume_step]
            # atomic: a full disk keeps the old file rather than truncating it
            write_text_atomic(self.path, "".join(json.dumps(row) + "\n" for row in kept))
        elif resume_step is None and self.path.exists():
            self.path.unlink()
        self._handle = open(self.path, "a")  # noqa: SIM115 - kept open for the run

    def log_dict(self, step: int, values: dict[str, Any]) -> None:
        row = {"step": step, **{key: _plain(value) for key, value in values.items()}}
        self._handle.write(json.dumps(row) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


class TensorBoardLogger:
    """Scalars to a TensorBoard event file in the run directory.

    On resume ``purge_step`` discards events written after the checkpoint, so the curves have no
    doubled segment.
    """

    def __init__(self, log_dir: Path, *, purge_step: int | None = None) -> None:
        from torch.utils.tensorboard import SummaryWriter  # import cost only when used

        self._writer = SummaryWriter(log_dir=str(log_dir), purge_step=purge_step)

    def log_dict(self, step: int, values: dict[str, Any], *, flush: bool = True) -> None:
        for key, value in values.items():
            if isinstance(value, (int, float)):
                self._writer.add_scalar(key, value, global_step=step)
        if flush:
            self._writer.flush()

    def close(self) -> None:
        self._writer.close()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """All readable lines of a JSONL file (a torn last line from a killed run is skipped)."""
    rows = []
    with open(path) as handle:
        for line in handle:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows
