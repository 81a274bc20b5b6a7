"""Atomic writes and checkpoints: a failed write leaves the old file and no temporary behind."""

from __future__ import annotations

import pytest
import torch

from noisyexp.core import atomic, checkpoint
from noisyexp.core.checkpoint import load_checkpoint, save_checkpoint
from noisyexp.core.errors import CheckpointError


def test_text_is_written_and_parents_created(tmp_path):
    target = tmp_path / "a" / "b.txt"
    assert atomic.write_text_atomic(target, "héllo\n") == target
    assert target.read_bytes() == "héllo\n".encode()


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "t.txt"
    target.write_text("old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic.write_text_atomic(target, "new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]


def test_checkpoint_roundtrips_with_weights_only(tmp_path):
    payload = {
        "model": {"w": torch.arange(3.0)},
        "optimizer": {},
        "step": 7,
        "config": {"seed": 1},
        "rng": {"torch": torch.get_rng_state()},
    }
    save_checkpoint(tmp_path / "c" / "last.pt", payload)
    loaded = load_checkpoint(tmp_path / "c" / "last.pt")
    assert loaded["step"] == 7 and torch.equal(loaded["model"]["w"], torch.arange(3.0))
    assert torch.load(tmp_path / "c" / "last.pt", weights_only=True)["format"] == (
        checkpoint.CHECKPOINT_FORMAT
    )


@pytest.mark.parametrize(
    "content,match",
    [(b"garbage", "not a checkpoint"), (None, "no checkpoint")],
)
def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path, content, match):
    path = tmp_path / "last.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(path)


def test_a_torch_file_of_something_else_is_refused(tmp_path):
    torch.save({"state": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a noisyexp checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
