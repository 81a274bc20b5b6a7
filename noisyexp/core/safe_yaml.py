"""YAML read with bounds: plain data only, a size limit, and few aliases (no "billion laughs").

Profiles and a run's ``.hydra/`` files are read through :func:`load_yaml`; a file that is too
big, uses too many aliases, or does not parse is a one-line :class:`ConfigError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from noisyexp.core.errors import ConfigError

__all__ = ["MAX_ALIASES", "MAX_BYTES", "load_yaml"]

MAX_BYTES = 1 << 20  #: larger YAML files are refused before parsing
MAX_ALIASES = 100  #: more ``*alias`` references than this are refused before building
MAX_NODES = 100_000  #: more values than this once every alias is expanded are refused


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Values under ``node`` with every alias expanded, memoized (linear in the file's size)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    sizes[key] = MAX_NODES + 1  # a cycle counts as too big
    if isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total = 1 + sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    else:
        total = 1
    sizes[key] = min(total, MAX_NODES + 1)
    return sizes[key]


def load_yaml(path: Path) -> Any:
    """The plain data (dicts, lists, scalars) of a YAML file, within the bounds above.

    The bounds are checked on the parser's events and node graph, before any alias is expanded
    into Python objects, so a "billion laughs" file is refused in milliseconds.

    Raises:
        ConfigError: the file is missing, unreadable, too large, alias-heavy or not YAML.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ConfigError(f"{path} is {size} bytes; YAML files over {MAX_BYTES} are refused")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read {path}: {err}") from None
    try:
        aliases = 0
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise ConfigError(f"{path} uses over {MAX_ALIASES} YAML aliases; refused")
        root = yaml.compose(text, Loader=yaml.SafeLoader)  # the node graph, aliases unexpanded
        if root is not None and _expanded_size(root, {}) > MAX_NODES:
            raise ConfigError(f"{path} expands to over {MAX_NODES} values (YAML aliases); refused")
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{path} is not valid YAML{where}: {problem}") from None
