"""Read IDX files (the MNIST format), raw or gzip-compressed."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from noisyexp.core.errors import DataError

__all__ = ["read_idx", "write_idx"]

# IDX type codes -> numpy big-endian dtypes
_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: Path) -> torch.Tensor:
    """Load an IDX file into a tensor of its declared shape.

    Raises:
        DataError: the file is truncated or its header is not IDX.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as err:
        raise DataError(f"cannot read {path}: {err}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number)")
    dtype, ndim = _DTYPES[data[2]], data[3]
    header_end = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header_end + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise DataError(f"{path} holds {len(data)} bytes, its header promises {expected}")
    array = np.frombuffer(data, dtype=dtype, offset=header_end).reshape(shape)
    return torch.from_numpy(array.astype(dtype.newbyteorder("=")))


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` as IDX (gzip-compressed when the name ends in .gz); used by tests."""
    code = {v.str[1:]: k for k, v in _DTYPES.items()}[np.dtype(array.dtype).str[1:]]
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    big_endian = array.astype(np.dtype(array.dtype).newbyteorder(">"))
    payload = header + big_endian.tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as handle:
        handle.write(payload)
