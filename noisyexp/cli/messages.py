"""How a user error reaches the terminal: one line, ``noisyexp: error: <message>``.

Hydra and OmegaConf wrap the error that matters in one or two of their own; :func:`one_line`
digs it out, and names the options of a config group when an option does not exist.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["CONF_DIR", "QuietHydraErrors", "UsageError", "debug_requested", "one_line"]

#: the shipped Hydra configs (noisyexp/conf)
CONF_DIR = Path(__file__).resolve().parent.parent / "conf"

_MISSING_OPTION = re.compile(r"Could not find '(\w+)/([^']+)'")
_MISSING_LAUNCHER = re.compile(r"Could not (?:load|find) 'hydra/launcher/([^']+)'")
#: Hydra launcher configs that come with a plugin package (the ``sweeps`` extra), not with us
_PLUGIN_LAUNCHERS = ("joblib", "submitit_local", "submitit_slurm")
_MISSING_PLUGIN = re.compile(
    rf"Could not (?:load|find) '(hydra/launcher/(?:{'|'.join(_PLUGIN_LAUNCHERS)}))'"
    r"|No module named '(hydra_plugins[\w.]*)'"
)


class UsageError(Exception):
    """A command line that cannot mean anything (shown as one line, exit status 2)."""


def debug_requested(args: Sequence[str]) -> bool:
    """``debug=true`` on the command line or ``NOISYEXP_DEBUG=1``: show tracebacks."""
    return os.environ.get("NOISYEXP_DEBUG", "") not in ("", "0") or "debug=true" in args


def one_line(error: BaseException) -> str:
    """The first informative line of an exception and of its cause (Hydra wraps OmegaConf's)."""
    plugin = _MISSING_PLUGIN.search(str(error))
    if plugin:  # the launchers are an extra: say how to get them
        what = plugin.group(1) or plugin.group(2)
        return f"{what} is not installed: pip install 'noisyexp[sweeps]' (Hydra's launchers)"
    launcher = _MISSING_LAUNCHER.search(str(error))
    if launcher:
        options = sorted(p.stem for p in (CONF_DIR / "hydra" / "launcher").glob("*.yaml"))
        return (
            f"unknown hydra/launcher option {launcher.group(1)!r}; choose one of: "
            f"{', '.join([*options, 'basic'])}"
        )
    missing = _MISSING_OPTION.search(str(error))
    if missing and (CONF_DIR / missing.group(1)).is_dir():  # say which options there are
        group, name = missing.groups()
        options = sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))
        return f"unknown {group} option {name!r}; choose one of: {', '.join(options)}"
    parts = []
    current: BaseException | None = error
    while current is not None and len(parts) < 2:
        text = str(current).strip()
        if text:
            first = text.splitlines()[0].strip()
            full_key = next(
                (ln.strip() for ln in text.splitlines() if ln.strip().startswith("full_key:")),
                "",
            )
            parts.append(f"{first} ({full_key})" if full_key else first)
        current = current.__cause__
    return "; ".join(dict.fromkeys(parts)) or type(error).__name__


class QuietHydraErrors:
    """stderr proxy that drops Hydra's "Error executing job with overrides" line.

    Hydra writes that line itself before re-raising a job's exception; we report the exception
    as one line of our own, so the user sees one line, not two.
    """

    _PREFIX = "Error executing job with overrides:"

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if text.startswith(self._PREFIX):
            return len(text)
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
