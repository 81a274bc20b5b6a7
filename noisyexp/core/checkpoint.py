"""Checkpoints as plain data: state dicts, RNG states and the config, written atomically.

Everything saved is a tensor, a number, a string, or a list/dict of those, so the file loads with
``torch.load(path, weights_only=True)`` — no pickled classes. Every record of the file carries a
CRC-32 checksum (the zip archive ``torch.save`` writes); it is checked after each write, before
the file replaces the previous one, and on every load. ``last.pt`` keeps its predecessor as
``previous.pt``: a damaged ``last.pt`` falls back to it, with a warning.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import torch

from noisyexp.core.atomic import write_bytes_atomic
from noisyexp.core.errors import CheckpointError

__all__ = [
    "CHECKPOINT_FORMAT",
    "PREVIOUS_NAME",
    "RESUME_KEYS",
    "load_checkpoint",
    "load_with_fallback",
    "save_checkpoint",
]

log = logging.getLogger(__name__)
#: the checkpoint ``last.pt`` replaced most recently (its fallback)
PREVIOUS_NAME = "previous.pt"

CHECKPOINT_FORMAT = "noisyexp-checkpoint-1"
_REQUIRED = ("format", "model", "step", "config", "rng")
#: what a checkpoint to resume from holds besides (``best.pt``, read for its weights, has none)
RESUME_KEYS = ("optimizer",)


def _damaged_record(source: Any) -> str | None:
    """The first zip record whose CRC-32 does not match, or None when every record is intact."""
    try:
        with zipfile.ZipFile(source) as archive:
            return archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        return str(err) or type(err).__name__


def save_checkpoint(path: Path, payload: dict[str, Any], *, keep_previous: bool = False) -> None:
    """Write ``payload`` to ``path`` atomically (:func:`noisyexp.core.atomic.write_bytes_atomic`).

    A run killed mid-write leaves the previous checkpoint intact, never a truncated one. With
    ``keep_previous`` the file being replaced stays as ``previous.pt`` beside it (a hard link
    where the file system has them, so no extra space).
    """
    path = Path(path)
    buffer = io.BytesIO()
    torch.save({"format": CHECKPOINT_FORMAT, **payload}, buffer)
    data = buffer.getvalue()
    damaged = _damaged_record(io.BytesIO(data))
    if damaged is not None:  # pragma: no cover - torch.save itself went wrong
        raise CheckpointError(f"{path}: the new checkpoint fails its checksum ({damaged})")
    if keep_previous and path.is_file():
        _keep_previous(path)
    write_bytes_atomic(path, data)


def _keep_previous(path: Path) -> None:
    previous = path.with_name(PREVIOUS_NAME)
    temp = path.with_name(f".{PREVIOUS_NAME}.{os.getpid()}link.tmp")
    temp.unlink(missing_ok=True)
    try:
        os.link(path, temp)
    except OSError:  # no hard links here: a copy
        shutil.copyfile(path, temp)
    os.replace(temp, previous)


def load_checkpoint(path: Path, *, require: tuple[str, ...] = ()) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` (holding the keys ``require`` names
    too, e.g. :data:`RESUME_KEYS`).

    Raises:
        CheckpointError: the file is missing, unreadable, or not a noisyexp checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive
        raise CheckpointError(f"{path} is not a checkpoint (not a torch.save file)")
    damaged = _damaged_record(path)
    if damaged is not None:
        raise CheckpointError(f"{path} is damaged (checksum mismatch in {damaged})")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a bad file; all mean "not one"
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{path} is not a readable checkpoint ({first_line})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a noisyexp checkpoint")
    missing = [key for key in (*_REQUIRED, *require) if key not in payload]
    if missing:
        raise CheckpointError(f"{path} lacks {', '.join(missing)}")
    return payload


def load_with_fallback(path: Path) -> tuple[dict[str, Any], Path]:
    """Load ``path`` (``last.pt``); if it is damaged, the ``previous.pt`` beside it, saying so.

    Returns the payload and the file it came from.

    Raises:
        CheckpointError: neither file is a good checkpoint (the error is ``path``'s).
    """
    path = Path(path)
    try:
        return load_checkpoint(path, require=RESUME_KEYS), path
    except CheckpointError as err:
        previous = path.with_name(PREVIOUS_NAME)
        if not previous.is_file():
            raise
        try:
            payload = load_checkpoint(previous, require=RESUME_KEYS)
        except CheckpointError:
            raise err from None
        log.warning(
            "%s; falling back to %s (step %s), the previous good checkpoint",
            err,
            previous.name,
            payload.get("step"),
        )
        return payload, previous
