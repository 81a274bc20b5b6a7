"""Stopping a run cleanly on SIGINT/SIGTERM (Ctrl-C, a cluster's pre-emption)."""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["StopRequest"]

log = logging.getLogger(__name__)


class StopRequest:
    """Turns SIGINT/SIGTERM into a request that the loop honours between two steps.

    Stopping only at a step boundary means the checkpoint saved on the way out is consistent,
    so the resumed run is bit-identical. A second signal before the boundary is reached stops
    at once *without saving* (``forced``): the state in memory is then from the middle of a step,
    and the run resumes from its last periodic checkpoint instead. While the state is being
    saved (``saving``) further signals are only acknowledged, so the save always completes.
    """

    def __init__(self) -> None:
        self.requested = False
        self.forced = False
        self.saving = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: object) -> None:
        if self.saving:
            log.warning("signal %d: saving the last step's state, one moment", signum)
            return
        if self.requested:
            self.forced = True
            raise KeyboardInterrupt
        self.requested = True
        log.warning(
            "stopping after this step (signal %d); send it again to stop at once without "
            "saving (the run then resumes from its last checkpoint)",
            signum,
        )

    @contextmanager
    def installed(self) -> Iterator[StopRequest]:
        try:
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        except ValueError:  # not the main thread (e.g. a launcher's worker): leave signals alone
            pass
        try:
            yield self
        finally:
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)
