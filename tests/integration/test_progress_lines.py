"""Without a terminal a run logs progress lines between evaluations; on one it draws a bar."""

from __future__ import annotations

import io
import logging
import re
import sys

from noisyexp.training.trainer import train

PROGRESS = re.compile(r"^step (\d+)/6 \(\d+\.\d %\), [\d.e+-]+ steps/s, ETA \S+")
EVALUATION = re.compile(r"^step (\d+)/6: train/loss")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "noisyexp.training.trainer"]


def _tiny(compose_config, *extra: str):
    return compose_config(
        "task=gaussians",
        "trainer.max_steps=6",
        "trainer.eval_every=3",
        "trainer.progress_interval_s=0",
        *extra,
    )


def test_progress_lines_appear_between_evaluations(compose_config, tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # a log file, not a terminal
    caplog.set_level(logging.INFO, logger="noisyexp.training.trainer")
    train(_tiny(compose_config, "trainer.progress=null"), tmp_path / "run")
    messages = _messages(caplog)
    first = next(i for i, m in enumerate(messages) if m.startswith("training: first step"))
    assert "(1 of 6)" in messages[first]
    assert messages[first + 1].startswith("step 1/6 (16.7 %), first step took")
    kinds = []  # ("p", step) for a progress line, ("e", step) for an evaluation line
    for message in messages[first + 2 :]:
        if match := PROGRESS.match(message):
            kinds.append(("p", int(match.group(1))))
        elif match := EVALUATION.match(message):
            kinds.append(("e", int(match.group(1))))
    assert kinds == [("p", 2), ("p", 3), ("e", 3), ("p", 4), ("p", 5), ("p", 6), ("e", 6)]


def test_a_long_interval_keeps_the_log_quiet(compose_config, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="noisyexp.training.trainer")
    train(_tiny(compose_config, "trainer.progress_interval_s=3600"), tmp_path / "run")
    assert not [m for m in _messages(caplog) if "steps/s" in m]  # only the first step's line
    assert sum(m.startswith("step 1/6 (") for m in _messages(caplog)) == 1


def test_a_terminal_gets_a_bar_with_steps_per_second(compose_config, tmp_path, caplog, monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", Terminal())
    monkeypatch.setattr(sys, "stderr", terminal)
    caplog.set_level(logging.INFO, logger="noisyexp.training.trainer")
    train(_tiny(compose_config, "trainer.progress=null"), tmp_path / "run")
    assert re.search(r"6/6 \[.*(step/s|s/step)", terminal.getvalue())  # tqdm's rate and ETA
    assert not [m for m in _messages(caplog) if PROGRESS.match(m)]  # the bar, not lines
    assert any(m.startswith("training: first step") for m in _messages(caplog))
