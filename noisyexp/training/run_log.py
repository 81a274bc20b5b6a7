"""Where a run's numbers go: ``metrics.jsonl`` (one line per evaluation) and TensorBoard.

Both loggers share ``log_dict(step, values)`` and ``close()``.
"""

from __future__ import annotations

import json
import math
import time
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

    def log_hparams(
        self,
        hparams: dict[str, bool | int | float | str],
        metrics: dict[str, float],
        *,
        step: int,
        status: str,
    ) -> None:
        """The run's HParams record (TensorBoard's hparams plugin) in this run's own folder.

        ``hparams`` go to a session start record, ``metrics`` are scalars at ``step``; a final
        ``status`` (completed, failed) also writes the session end record. See
        :mod:`noisyexp.training.hparams` for what is recorded and why no experiment record.
        """
        from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
        from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

        start = plugin_data_pb2.SessionStartInfo(start_time_secs=time.time())
        for name, value in hparams.items():
            if isinstance(value, bool):  # before int: a bool is an int in Python
                start.hparams[name].bool_value = value
            elif isinstance(value, (int, float)):
                start.hparams[name].number_value = value
            else:
                start.hparams[name].string_value = str(value)
        records = [(metadata.SESSION_START_INFO_TAG, {"session_start_info": start})]
        ends = {"completed": api_pb2.STATUS_SUCCESS, "failed": api_pb2.STATUS_FAILURE}
        if status in ends:
            end = plugin_data_pb2.SessionEndInfo(status=ends[status], end_time_secs=time.time())
            records.append((metadata.SESSION_END_INFO_TAG, {"session_end_info": end}))
        for tag, content in records:
            data = plugin_data_pb2.HParamsPluginData(
                version=metadata.PLUGIN_DATA_VERSION, **content
            )
            plugin = SummaryMetadata.PluginData(
                plugin_name=metadata.PLUGIN_NAME, content=data.SerializeToString()
            )
            value = Summary.Value(tag=tag, metadata=SummaryMetadata(plugin_data=plugin))
            self._writer.file_writer.add_summary(Summary(value=[value]))  # step 0: never purged
        self.log_dict(step, metrics)

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
