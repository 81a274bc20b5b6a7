"""The published data sets' file lists: which form of a file is checked and where it comes from."""

from __future__ import annotations

import re
from pathlib import Path

from noisyexp.data import published

_MD5 = re.compile(r"[0-9a-f]{32}")


def test_every_published_file_has_well_formed_md5s_and_https_sources() -> None:
    digests = [md5 for file in published.PTB_FILES for md5 in file.md5s]
    digests += [md5 for pair in published.MNIST_FILES.values() for md5 in pair]
    digests += [md5 for pair in published.MULTI30K_MD5.values() for md5 in pair]
    assert digests and all(_MD5.fullmatch(md5) for md5 in digests)
    assert len(set(digests)) == len(digests)  # a copy-paste slip would repeat one
    assert [file.name for file in published.PTB_FILES] == [
        "ptb.train.txt",
        "ptb.valid.txt",
        "ptb.test.txt",
    ]
    assert all(url.startswith("https://") for f in published.PTB_FILES for url in f.urls)


def test_mnist_checks_a_raw_file_where_present_else_the_gz_from_each_mirror(
    tmp_path: Path,
) -> None:
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"")
    files = {file.name: file for file in published.mnist_files(tmp_path)}
    raw = files["t10k-labels-idx1-ubyte"]
    assert raw.md5s == (published.MNIST_FILES["t10k-labels-idx1-ubyte"][1],) and not raw.urls
    gz = files["train-images-idx3-ubyte.gz"]
    assert gz.md5s == published.MNIST_FILES["train-images-idx3-ubyte"]  # packed or unpacked
    assert len(gz.urls) == 2 and all(u.endswith("/train-images-idx3-ubyte.gz") for u in gz.urls)
    assert len(files) == 4


def test_multi30k_lists_only_published_stems_and_downloads_only_the_gz() -> None:
    files = published.multi30k_files(
        {"train.fr": "train.fr", "val.en": None, "dev.xx": "dev.xx.gz"}
    )
    by_name = {file.name: file for file in files}
    assert sorted(by_name) == ["train.fr", "val.en.gz"]  # dev.xx is no published file
    assert by_name["train.fr"].urls == ()  # an unpacked copy has no address to fetch it from
    assert by_name["train.fr"].md5s == published.MULTI30K_MD5["train.fr"]
    (url,) = by_name["val.en.gz"].urls
    assert url.startswith("https://") and url.endswith("/task1/raw/val.en.gz")
