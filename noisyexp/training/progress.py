"""What a run shows while it trains and while it evaluates: a bar on a terminal, else log lines.

An evaluation can be hours apart on a big model, and its first step alone can take minutes on
busy cores; without a terminal (a log file, a cluster job, a sweep) the tqdm bar is off, so
:class:`ProgressLine` says every ``trainer.progress_interval_s`` seconds how far the run is,
how fast it goes and when it will end: ``step 40/20000 (0.2 %), 0.7 steps/s, ETA 7h55m``.
:class:`EvalProgress` does the same for one long evaluation (``evaluating test: 3/5 (60%)``).
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

__all__ = ["EvalProgress", "ProgressLine", "format_duration", "show_bar"]

log = logging.getLogger(__name__)


def show_bar(progress: bool | None, streams: tuple[Any, ...] | None = None) -> bool:
    """Whether the tqdm bar is drawn: ``trainer.progress``, or when it is None (auto) only when
    stdout and stderr are both terminals (stdout carries the log; a bar redrawn into a log file
    or a pipe is noise).

    Args:
        progress: ``trainer.progress`` (True, False or None).
        streams: the streams to check (default: ``sys.stdout``, ``sys.stderr``).

    Returns:
        True to draw the bar, False to log progress lines instead.
    """
    if progress is not None:
        return progress
    streams = (sys.stdout, sys.stderr) if streams is None else streams
    return all(callable(getattr(s, "isatty", None)) and s.isatty() for s in streams)


def format_duration(seconds: float) -> str:
    """``7h55m``, ``3m20s``, ``45s``, ``2.5s``, ``2d03h``: two units at most, the larger first.

    Args:
        seconds: a duration (whole seconds from 10 s up, rounded down); inf or NaN gives ``?``.

    Returns:
        The duration in short form.
    """
    if not math.isfinite(seconds):
        return "?"
    if seconds < 10:
        return f"{max(0.0, seconds):.1f}s"
    whole = max(0, int(seconds))
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


class ProgressLine:
    """A progress line at most every ``interval_s`` seconds (time-based, not step-based).

    The rate is measured from the end of this session's first step (a first step pays for
    warm-up, allocation and compiles, and would make the ETA far too pessimistic); the line
    after the first step says how long that step took instead.

    Args:
        total: the run's step budget.
        start_step: the step this session starts at (0, or a resumed run's step).
        interval_s: the least time between two lines.
        clock: seconds, monotonic (a fake in tests).
    """

    def __init__(
        self,
        total: int,
        start_step: int,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total, self.interval_s, self.clock = total, interval_s, clock
        self.start_step = start_step
        self.started = clock()
        self.first_done: tuple[int, float] | None = None  # (step, time) after the first step
        self.last_line = self.started

    def first_step_message(self) -> str:
        """The line logged before the first step, so a slow first step is not taken for a hang."""
        return (
            f"training: first step ({self.start_step + 1} of {self.total}); "
            "a large model's first step can take minutes"
        )

    def update(self, step: int) -> str | None:
        """Call after each step with the steps done; returns a line when one is due, else None."""
        now = self.clock()
        if self.first_done is None:
            self.first_done, self.last_line = (step, now), now
            return f"{self._position(step)}, first step took {format_duration(now - self.started)}"
        if now - self.last_line < self.interval_s:
            return None
        self.last_line = now
        done_step, done_time = self.first_done
        rate = (step - done_step) / max(now - done_time, 1e-9)
        eta = (self.total - step) / rate if rate > 0 else math.inf
        return f"{self._position(step)}, {rate:.3g} steps/s, ETA {format_duration(eta)}"

    def _position(self, step: int) -> str:
        return f"step {step}/{self.total} ({100 * step / max(self.total, 1):.1f} %)"


class EvalProgress:
    """What a task reports as a long evaluation advances: a bar on a terminal, else a log line
    at most every ``trainer.progress_interval_s`` (a one-stream test pass of a large model takes
    minutes)."""

    def __init__(self, show_bar: bool, interval_s: float) -> None:
        self.show_bar, self.interval_s = show_bar, interval_s
        self.bar: tqdm | None = None
        self.last_line = time.monotonic()

    def __call__(self, split: str, done: int, total: int) -> None:
        if self.show_bar:
            if self.bar is None:
                self.bar = tqdm(total=total, desc=f"evaluating {split}", leave=False)
            self.bar.update(1)
            if done >= total:
                self.bar.close()
                self.bar = None
            return
        now = time.monotonic()
        if done == 1:
            self.last_line = now
        elif now - self.last_line >= self.interval_s and done < total:
            self.last_line = now
            log.info("evaluating %s: %d/%d (%.0f%%)", split, done, total, 100 * done / total)
