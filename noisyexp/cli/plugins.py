"""Extensions from outside the package: modules named in ``NOISYEXP_PLUGINS``.

``NOISYEXP_PLUGINS=my_units,my_tasks noisyexp train act=my_unit`` imports each module before any
config is composed, so what it registers (``activations.register_unit``, a schedule added to
``SCHEDULES``, ``tasks.register_task``, an optimizer in ``OPTIMIZERS``, a paper table) is there
for the schemas and the registries; a ``conf/`` folder beside the module's file joins Hydra's
config search path, so its YAML files are options like the shipped ones.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from noisyexp.core.errors import ConfigError

__all__ = ["ENV_VAR", "load_plugins"]

ENV_VAR = "NOISYEXP_PLUGINS"


def load_plugins(names: str | None = None) -> list[Path]:
    """Import the plugin modules (default: ``$NOISYEXP_PLUGINS``, comma-separated).

    Returns:
        Their ``conf/`` folders, for Hydra's search path.

    Raises:
        ConfigError: a module cannot be imported (its own error, in one line).
    """
    text = os.environ.get(ENV_VAR, "") if names is None else names
    folders = []
    for name in (n.strip() for n in text.split(",")):
        if not name:
            continue
        try:
            module = importlib.import_module(name)
        except Exception as err:  # any failure of the user's module: say which and why
            raise ConfigError(f"{ENV_VAR}: cannot import {name!r}: {err}") from None
        where = getattr(module, "__file__", None)
        conf = Path(where).parent / "conf" if where else None
        if conf is not None and conf.is_dir():
            folders.append(conf)
    return folders
