"""matplotlib as an optional extra: a figure on its own Agg canvas, written as a PNG atomically.

matplotlib is imported inside these functions and used through its Agg canvas, so importing the
figures costs nothing without the extra, no global pyplot state or display is touched, and a
missing matplotlib is one ConfigError that says how to install it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from noisyexp.core.atomic import write_bytes_atomic
from noisyexp.core.errors import ConfigError

__all__ = ["DPI", "require_matplotlib", "new_figure", "save_png"]


#: the PNGs' resolution: a figure's inches times this are its pixels
DPI = 100


def require_matplotlib() -> tuple[Any, Any]:
    """``(Figure, FigureCanvasAgg)``, or a ConfigError saying how to install the extra."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError("figures need matplotlib: pip install 'noisyexp[plots]'") from None
    return Figure, FigureCanvasAgg


def new_figure(figsize: tuple[float, float]) -> Any:
    """A Figure of ``figsize`` inches at :data:`DPI` on its own Agg canvas (no pyplot)."""
    figure_class, canvas_class = require_matplotlib()
    figure = figure_class(figsize=figsize, dpi=DPI)
    canvas_class(figure)
    return figure


def save_png(figure: Any, out_png: Path) -> Path:
    """Render in memory, then write atomically, at the figure's exact pixel size."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return write_bytes_atomic(Path(out_png), buffer.getvalue())
