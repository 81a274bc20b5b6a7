"""Atomic writes leave the mode ``open(path, "w")`` would (not mkstemp's 0600), under any umask."""

from __future__ import annotations

import os
import stat

import pytest
import torch

from noisyexp.core import atomic
from noisyexp.core.checkpoint import PREVIOUS_NAME, save_checkpoint


@pytest.fixture
def umask():
    """``umask(mask)`` sets the process umask for the test; the old one is restored after."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield lambda mask: os.umask(mask)
    os.umask(saved)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _open_mode(path) -> int:
    """What a plain ``open(path, "w")`` gives, measured (the reference, not computed)."""
    with open(path, "w") as handle:
        handle.write("x")
    return _mode(path)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077, 0o002])
def test_a_new_file_gets_the_mode_a_plain_open_gives(tmp_path, umask, mask):
    umask(mask)
    atomic.write_text_atomic(tmp_path / "a.json", "{}\n")
    assert _mode(tmp_path / "a.json") == _open_mode(tmp_path / "plain.json")
    assert _mode(tmp_path / "a.json") == 0o666 & ~mask  # e.g. 0644 under 022


def test_an_existing_file_keeps_its_mode_as_open_would(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "kept.txt"
    target.write_text("old")
    target.chmod(0o660)
    atomic.write_text_atomic(target, "new")
    assert target.read_text() == "new" and _mode(target) == 0o660


def test_the_umask_is_read_without_changing_it(umask):
    umask(0o027)
    assert atomic.current_umask() == 0o027
    assert atomic.current_umask() == 0o027  # reading did not reset it


def test_without_proc_the_umask_is_still_right(tmp_path, umask, monkeypatch):
    umask(0o037)

    def no_proc(*args, **kwargs):
        raise OSError("no /proc here")

    monkeypatch.setattr(atomic, "open", no_proc, raising=False)
    assert atomic.current_umask() == 0o037
    monkeypatch.undo()
    assert atomic.current_umask() == 0o037  # the fallback restored the mask it read


def test_checkpoints_and_their_previous_copy_are_not_private(tmp_path, umask):
    umask(0o027)
    payload = {"model": {"w": torch.zeros(2)}, "optimizer": {}, "step": 1, "config": {}, "rng": {}}
    path = tmp_path / "checkpoints" / "last.pt"
    save_checkpoint(path, payload, keep_previous=True)
    save_checkpoint(path, {**payload, "step": 2}, keep_previous=True)
    assert _mode(path) == 0o640
    assert _mode(path.with_name(PREVIOUS_NAME)) == 0o640
