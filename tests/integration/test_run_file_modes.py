"""Every file a run writes has the mode ``open(path, "w")`` gives it (umask respected)."""

from __future__ import annotations

import os
import stat

from noisyexp.tasks.nmt import NMTTask
from noisyexp.training.trainer import train


def _modes(folder) -> dict[str, int]:
    return {
        str(path.relative_to(folder)): stat.S_IMODE(path.stat().st_mode)
        for path in folder.rglob("*")
        if path.is_file()
    }


def test_a_runs_summary_checkpoints_and_logs_share_one_mode(compose_config, tmp_path):
    cfg = compose_config("task=gaussians", "trainer.max_steps=4", "trainer.eval_every=2")
    saved = os.umask(0o027)
    try:
        train(cfg, tmp_path / "run")
    finally:
        os.umask(saved)
    modes = _modes(tmp_path / "run")
    assert {"summary.json", "metrics.jsonl", "checkpoints/last.pt", "checkpoints/best.pt"} <= set(
        modes
    )
    assert any(name.startswith("events.out.tfevents") for name in modes)
    assert modes == dict.fromkeys(modes, 0o640), modes  # 0666 less umask 027, every file


def test_translations_are_written_with_the_plain_mode(tmp_path):
    task = object.__new__(NMTTask)  # only the output writer is exercised here
    task.output_dir = tmp_path / "run"
    saved = os.umask(0o022)
    try:
        task._write("valid.txt", ["a cat", "a dog"])
    finally:
        os.umask(saved)
    written = tmp_path / "run" / "translations" / "valid.txt"
    assert written.read_text() == "a cat\na dog\n"
    assert stat.S_IMODE(written.stat().st_mode) == 0o644
