"""Whole-file writes that a reader, or a crash, never sees half done.

The data goes to a temporary file in the target's own folder (the same file system, so
``os.replace`` is an atomic rename) and is then renamed over the target; on any failure the
temporary file is removed and the target is left as it was. Before the rename the temporary
file is flushed to disk and read back: a target is only ever replaced by a complete, verified
copy (a full disk fails the write and keeps the old file). A process killed mid-write (SIGKILL)
leaves its temporary file behind; :func:`remove_temporaries` clears such leftovers at the next
start.

``mkstemp`` creates its file readable by its owner only (0600); the temporary file is given the
mode an ordinary ``open(path, "w")`` would leave instead (the existing target's mode, else
0666 less the umask), so a run's summary and checkpoints are as readable as its other files.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
from pathlib import Path

__all__ = [
    "current_umask",
    "open_mode",
    "remove_temporaries",
    "write_bytes_atomic",
    "write_text_atomic",
]

#: the names :func:`write_bytes_atomic` gives its temporary files: ``.<target>.<random>.tmp``
_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{6,}\.tmp$")


def current_umask() -> int:
    """The process's umask, read without changing it where Linux tells it (``/proc``).

    ``os.umask`` can only be read by setting it; that briefly gives other threads a umask of 0,
    so it is the fallback only.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def open_mode(target: Path) -> int:
    """The permission bits ``open(target, "w")`` would leave: an existing file keeps its own,
    a new one gets 0666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Replace ``path`` with ``data`` in one step, creating its parent folders; returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as temp_file:
            os.fchmod(temp_file.fileno(), open_mode(path))  # mkstemp's 0600 -> open()'s mode
            temp_file.write(data)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        if hashlib.sha256(Path(temp_name).read_bytes()).digest() != hashlib.sha256(data).digest():
            raise OSError(f"{path}: the written copy does not read back intact")
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    """:func:`write_bytes_atomic` of ``text`` as UTF-8, newlines untranslated on every platform."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def remove_temporaries(*folders: Path) -> list[Path]:
    """Delete the temporary files a killed :func:`write_bytes_atomic` left in ``folders``.

    Only call this while no other process writes there (the run folder's lock is held).
    """
    removed = []
    for folder in folders:
        if not Path(folder).is_dir():
            continue
        for entry in Path(folder).iterdir():
            if _TEMPORARY.match(entry.name) and entry.is_file():
                entry.unlink(missing_ok=True)
                removed.append(entry)
    return removed
