"""A downloaded data file gets the mode ``open(path, "w")`` would, not its temporary's 0600."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from noisyexp.data.files import RemoteFile, ensure_files


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_a_downloaded_file_is_as_readable_as_a_plain_one(tmp_path, mask):
    source = tmp_path / "server" / "a.txt"
    source.parent.mkdir()
    source.write_bytes(b"hello")
    file = RemoteFile("a.txt", (hashlib.md5(b"hello").hexdigest(),), urls=(source.as_uri(),))
    saved = os.umask(mask)
    try:
        ensure_files(tmp_path / "data", [file], dataset="toy")
    finally:
        os.umask(saved)
    target = tmp_path / "data" / "a.txt"
    assert target.read_bytes() == b"hello"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
