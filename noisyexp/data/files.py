"""Make sure a data set's files are on disk and intact, downloading them when allowed.

Every loader goes through :func:`ensure_files`, so each data set gets the same behaviour: files
present and matching a known md5 are used; missing files are downloaded when the machine is
online (and checked); offline, or on a mismatch, the user gets one line saying which file, where
it should be, and where to get it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from noisyexp.core.atomic import open_mode
from noisyexp.core.errors import DataError

__all__ = ["RemoteFile", "md5_file", "md5_gunzipped", "ensure_files", "combined_checksum"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set.

    Attributes:
        name: file name inside the data set's folder.
        md5s: accepted md5 digests of the file's *content*; for a ``.gz`` file, the digest of
            either the compressed bytes or the decompressed bytes is accepted (mirrors recompress).
        urls: where to download it from, tried in order.
    """

    name: str
    md5s: tuple[str, ...]
    urls: tuple[str, ...] = field(default_factory=tuple)


def md5_file(path: Path) -> str:
    """md5 hex digest of a file's bytes."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def md5_gunzipped(path: Path) -> str:
    """md5 hex digest of a gzip file's decompressed content."""
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with gzip.open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except (OSError, EOFError) as err:
        raise DataError(f"{path} is not a readable gzip file ({err}); delete it and retry") from err
    return digest.hexdigest()


def _matches(path: Path, md5s: Iterable[str]) -> tuple[bool, str]:
    accepted = set(md5s)
    digest = md5_file(path)
    if digest in accepted:
        return True, digest
    if path.suffix == ".gz":
        inner = md5_gunzipped(path)
        if inner in accepted:
            return True, inner
    return False, digest


def _download(file: RemoteFile, target: Path, timeout: float) -> None:
    """Fetch ``file`` into ``target`` via a temporary file: a broken transfer leaves nothing."""
    errors = []
    for url in file.urls:
        handle, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with (
                os.fdopen(handle, "wb") as tmp,
                urllib.request.urlopen(url, timeout=timeout) as response,
            ):
                os.fchmod(tmp.fileno(), open_mode(target))  # not mkstemp's 0600
                shutil.copyfileobj(response, tmp)
            os.replace(tmp_name, target)
            return
        except (urllib.error.URLError, OSError, TimeoutError) as err:
            errors.append(f"{url}: {err}")
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
    raise DataError("; ".join(errors) or "no download address known")


def ensure_files(
    folder: Path,
    files: Sequence[RemoteFile],
    *,
    dataset: str,
    download: bool = True,
    timeout: float = 30.0,
) -> dict[str, str]:
    """Check (and if needed download) every file of a data set.

    Args:
        folder: the data set's folder, e.g. ``data/ptb``; created when a download is attempted.
        files: the files it must hold.
        dataset: the data set's name, used in messages.
        download: try to download missing files (``False`` = offline mode).
        timeout: seconds per download attempt.

    Returns:
        file name -> md5 that matched, for the run summary.

    Raises:
        DataError: a file is missing and cannot be downloaded, or its checksum does not match.
    """
    folder = Path(folder)
    verified: dict[str, str] = {}
    for file in files:
        path = folder / file.name
        if not path.is_file() and download and file.urls:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                _download(file, path, timeout)
            except (DataError, OSError) as err:
                raise DataError(
                    f"{dataset}: {path} is missing and could not be downloaded ({err}); "
                    f"put {', '.join(f.name for f in files)} in {folder}"
                ) from None
        if not path.is_file():
            raise DataError(
                f"{dataset}: {path} is missing; put {', '.join(f.name for f in files)} in "
                f"{folder} (or set paths.data_dir)"
            )
        ok, digest = _matches(path, file.md5s)
        if not ok:
            raise DataError(
                f"{dataset}: {path} is corrupt (md5 {digest}, expected "
                f"{' or '.join(file.md5s)}); delete it and download it again"
            )
        verified[file.name] = digest
    return verified


def combined_checksum(verified: dict[str, str]) -> str:
    """One md5 over the per-file digests (sorted by name): the data set's id in summaries."""
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(verified):
        digest.update(f"{name}:{verified[name]}\n".encode())
    return digest.hexdigest()
