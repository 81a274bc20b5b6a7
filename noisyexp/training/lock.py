"""One process per run folder: ``<run dir>/.lock`` holds the pid and host of the one training it.

The lock is an advisory ``flock`` on that file, so the operating system drops it when its holder
dies, even by SIGKILL: a lock file whose lock can be taken is stale, and is taken over with a
message naming the process that left it. The file is truncated, never deleted, on release (so
two processes never lock two different files of the same name).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from noisyexp.core.errors import ConfigError

try:  # POSIX; elsewhere the pid recorded in the file is the only evidence
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_NAME", "RunInUseError", "RunLock", "check_not_in_use", "lock_holder"]

log = logging.getLogger(__name__)
LOCK_NAME = ".lock"


class RunInUseError(ConfigError):
    """Another live process holds the run folder's lock."""


def _read(handle: int) -> dict[str, Any]:
    os.lseek(handle, 0, os.SEEK_SET)
    data = os.read(handle, 4096)
    try:
        holder = json.loads(data.decode("utf-8")) if data.strip() else {}
    except (UnicodeDecodeError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _describe(holder: dict[str, Any]) -> str:
    if not holder:
        return "another process"
    return f"pid {holder.get('pid')} on {holder.get('host')} (since {holder.get('started')})"


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _try_lock(handle: int, holder: dict[str, Any]) -> bool:
    if fcntl is None:  # pragma: no cover - Windows: trust a live pid on this host
        same_host = holder.get("host") == socket.gethostname()
        return not (holder and same_host and _pid_alive(holder.get("pid")))
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class RunLock:
    """``with RunLock(run_dir):`` — exclusive use of ``run_dir`` for one training process.

    Raises:
        RunInUseError: a live process holds it (the message names its pid and host).
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self._handle: int | None = None

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # 0666 less the umask: the mode open(path, "w") gives the run's other files
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        holder = _read(handle)
        if not _try_lock(handle, holder):
            os.close(handle)
            raise RunInUseError(
                f"{self.path.parent} is in use by {_describe(holder)}; wait for it to finish or "
                f"stop it (a crashed holder's lock is taken over by itself)"
            )
        if holder and holder.get("pid") != os.getpid():
            log.warning(
                "%s: taking over the stale lock of %s (it is not running any more)",
                self.path.parent,
                _describe(holder),
            )
        mine = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        os.ftruncate(handle, 0)
        os.lseek(handle, 0, os.SEEK_SET)
        os.write(handle, (json.dumps(mine) + "\n").encode("utf-8"))
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._handle, 0)
        os.close(self._handle)  # closing drops the flock
        self._handle = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_holder(run_dir: Path) -> dict[str, Any] | None:
    """Who holds ``run_dir``'s lock now (pid, host, started), or None; changes nothing."""
    path = Path(run_dir) / LOCK_NAME
    try:
        handle = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        holder = _read(handle)
        if fcntl is None:  # pragma: no cover
            return None if _try_lock(handle, holder) else holder
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return holder or {"pid": None, "host": None, "started": None}
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None
    finally:
        os.close(handle)


def check_not_in_use(run_dir: Path) -> None:
    """Raise :class:`RunInUseError` when a live process holds ``run_dir``'s lock."""
    holder = lock_holder(run_dir)
    if holder is not None:
        raise RunInUseError(
            f"{run_dir} is in use by {_describe(holder)}; wait for it to finish or stop it"
        )
