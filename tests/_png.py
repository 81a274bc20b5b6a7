"""Reading a PNG's size from its header, to check a figure's pixels without an image library."""

from __future__ import annotations

import struct
from pathlib import Path


def png_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` in pixels of the PNG at ``path`` (its IHDR chunk)."""
    header = Path(path).read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and header[12:16] == b"IHDR"
    return struct.unpack(">II", header[16:24])
