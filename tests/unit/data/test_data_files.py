"""Checksummed data files: accepted digests, gz content digests, clear errors."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest
import torch

from noisyexp.core.errors import DataError
from noisyexp.data.batching import epoch_permutation, step_batch_indices
from noisyexp.data.files import RemoteFile, combined_checksum, ensure_files
from noisyexp.data.idx import read_idx, write_idx


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_present_file_with_matching_md5_is_accepted(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"hello")
    verified = ensure_files(tmp_path, [RemoteFile("a.txt", (_md5(b"hello"),))], dataset="toy")
    assert verified == {"a.txt": _md5(b"hello")}


def test_gz_file_is_accepted_by_the_digest_of_its_content(tmp_path):
    with gzip.open(tmp_path / "a.gz", "wb") as handle:
        handle.write(b"payload")
    file = RemoteFile("a.gz", ("0" * 32, _md5(b"payload")))
    assert ensure_files(tmp_path, [file], dataset="toy") == {"a.gz": _md5(b"payload")}


def test_corrupt_file_names_the_file_and_the_fix(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"tampered")
    with pytest.raises(DataError, match=r"a\.txt is corrupt.*delete it"):
        ensure_files(tmp_path, [RemoteFile("a.txt", (_md5(b"hello"),))], dataset="toy")


def test_missing_file_offline_says_where_to_put_it(tmp_path):
    file = RemoteFile("a.txt", (_md5(b"hello"),), urls=("http://127.0.0.1:9/a.txt",))
    with pytest.raises(DataError, match=f"put a.txt in {tmp_path}"):
        ensure_files(tmp_path, [file], dataset="toy", download=False)


def test_failed_download_leaves_no_partial_file(tmp_path):
    file = RemoteFile("a.txt", (_md5(b"hello"),), urls=("http://127.0.0.1:9/a.txt",))
    with pytest.raises(DataError, match="could not be downloaded"):
        ensure_files(tmp_path / "sub", [file], dataset="toy", timeout=2)
    assert not any((tmp_path / "sub").iterdir())


def test_combined_checksum_depends_on_every_file():
    one = combined_checksum({"a": "1", "b": "2"})
    assert one == combined_checksum({"b": "2", "a": "1"})
    assert one != combined_checksum({"a": "1", "b": "3"})


@pytest.mark.parametrize("name", ["x.idx", "x.idx.gz"])
def test_idx_roundtrip_raw_and_gzip(tmp_path, name):
    array = np.arange(3 * 5 * 7, dtype=np.uint8).reshape(3, 5, 7)
    write_idx(tmp_path / name, array)
    loaded = read_idx(tmp_path / name)
    assert loaded.shape == (3, 5, 7) and torch.equal(loaded, torch.from_numpy(array))


def test_idx_header_is_checked(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(DataError, match="not an IDX"):
        read_idx(tmp_path / "bad")
    write_idx(tmp_path / "short", np.zeros((4, 2), dtype=np.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-1])
    with pytest.raises(DataError, match="header promises"):
        read_idx(tmp_path / "short")


def test_batches_are_a_pure_function_of_seed_and_step():
    first = step_batch_indices(10, 3, seed=5, step=4)
    assert torch.equal(first, step_batch_indices(10, 3, seed=5, step=4))
    epoch = torch.cat([step_batch_indices(10, 3, seed=5, step=s) for s in range(3)])
    assert len(set(epoch.tolist())) == 9  # one epoch: no example twice
    assert torch.equal(epoch, epoch_permutation(10, 5, 0)[:9])
    assert not torch.equal(epoch_permutation(10, 5, 0), epoch_permutation(10, 5, 1))
