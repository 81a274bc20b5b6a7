"""Progress lines between evaluations: time-based, with steps/s and an ETA worked by hand."""

from __future__ import annotations

import io

import pytest

from noisyexp.training import progress as progress_module
from noisyexp.training.progress import EvalProgress, ProgressLine, format_duration, show_bar


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0.0s"),
        (2.46, "2.5s"),
        (59.9, "59s"),
        (60, "1m00s"),
        (200, "3m20s"),
        (7 * 3600 + 55 * 60 + 14, "7h55m"),
        (2 * 86_400 + 3 * 3600 + 59, "2d03h"),
        (float("inf"), "?"),
    ],
)
def test_durations_are_short_and_exact(seconds, shown):
    assert format_duration(seconds) == shown


def test_the_bar_needs_both_streams_to_be_terminals_unless_told():
    assert show_bar(None, (Terminal(), Terminal())) is True
    assert show_bar(None, (io.StringIO(), Terminal())) is False  # stdout to a file: lines
    assert show_bar(None, (Terminal(), object())) is False  # a stream without isatty
    assert show_bar(True, (io.StringIO(),)) is True and show_bar(False, (Terminal(),)) is False


def test_a_line_at_most_every_interval_with_rate_and_eta():
    clock = FakeClock()
    line = ProgressLine(total=20_000, start_step=0, interval_s=60.0, clock=clock)
    assert "first step (1 of 20000)" in line.first_step_message()
    clock.now += 90.0  # a slow first step: reported, and left out of the rate
    assert line.update(1) == "step 1/20000 (0.0 %), first step took 1m30s"
    shown = {}
    for step in range(2, 92):  # then 2 s a step (0.5 steps/s)
        clock.now += 2.0
        shown[step] = line.update(step)
    lines = {step: text for step, text in shown.items() if text is not None}
    assert sorted(lines) == [31, 61, 91]  # 60 s after the last line, not every N steps
    # at step 31: 30 steps in 60 s = 0.5 steps/s; (20000 - 31) / 0.5 = 39938 s = 11h05m38s
    assert lines[31] == "step 31/20000 (0.2 %), 0.5 steps/s, ETA 11h05m"


def test_a_line_in_the_issues_format():
    clock = FakeClock()
    line = ProgressLine(total=20_000, start_step=0, interval_s=60.0, clock=clock)
    line.update(1)
    clock.now += 100.0
    # 80 steps in 100 s = 0.8 steps/s; (20000 - 81) / 0.8 = 24898.75 s = 6h54m58s
    assert line.update(81) == "step 81/20000 (0.4 %), 0.8 steps/s, ETA 6h54m"


def test_a_resumed_run_counts_from_its_own_step():
    clock = FakeClock()
    line = ProgressLine(total=100, start_step=50, interval_s=0.0, clock=clock)
    assert "first step (51 of 100)" in line.first_step_message()
    clock.now += 2.0
    assert line.update(51) == "step 51/100 (51.0 %), first step took 2.0s"
    clock.now += 4.0
    assert line.update(53) == "step 53/100 (53.0 %), 0.5 steps/s, ETA 1m34s"  # 47 / 0.5 s


def test_a_long_evaluation_logs_a_line_a_minute_without_a_progress_bar(monkeypatch, caplog):
    clock = iter([0.0, 0.0, 30.0, 61.0, 62.0, 200.0])
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    progress = EvalProgress(show_bar=False, interval_s=60.0)  # reads the clock once
    with caplog.at_level("INFO", logger="noisyexp.training.progress"):
        for done in range(1, 6):
            progress("test", done, 5)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["evaluating test: 3/5 (60%)"]  # 61 s after window 1; none at the end
