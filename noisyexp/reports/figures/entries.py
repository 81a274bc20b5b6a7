"""Reading a table's figure declarations (``sweep_figures:``, ``outcome_figures:``) into specs.

Both kinds are lists of mappings with list-valued ``metrics`` and ``experiments`` that must name
the table's metrics and rows, and a name no other figure of the table has; this module checks
that much, once, and each kind's module (:mod:`.sweep_specs`, :mod:`.outcome_specs`) checks its
own keys. Every refusal is one ConfigError naming the table and the figure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from noisyexp.core.errors import ConfigError

__all__ = ["read_entries", "check_entry"]


def read_entries(
    table: dict[str, Any],
    key: str,
    kind: str,
    make: Callable[..., Any],
    fields: Iterable[str],
    lists: tuple[str, ...],
) -> list[tuple[Any, str]]:
    """``[(spec, where)]``: each entry of ``table[key]`` made by ``make(table_id=..., **entry)``.

    Args:
        table: a paper table.
        key: its list of figure entries (``sweep_figures``).
        kind: what the messages call one ("sweep figure").
        make: the spec class.
        fields: the keys an entry may have.
        lists: the keys whose values are non-empty lists of names (made tuples).

    Raises:
        ConfigError: an entry that is not a mapping, has an unknown or missing key, or a list
            key that is not a non-empty list of names.
    """
    specs = []
    for entry in table.get(key) or ():
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"table {table['id']}, {kind} {name!r}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: a {kind} is a mapping of keys to values")
        unknown = sorted(set(entry) - set(fields))
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
        for list_key in lists:
            value = entry.get(list_key)
            if list_key in entry and not (
                isinstance(value, list) and value and all(isinstance(v, str) for v in value)
            ):
                raise ConfigError(f"{where}: {list_key} is a non-empty list of names")
        try:
            spec = make(
                table_id=table["id"],
                **{k: tuple(v) if k in lists else v for k, v in entry.items()},
            )
        except TypeError as err:
            raise ConfigError(f"{where}: {err}") from None
        specs.append((spec, where))
    return specs


def check_entry(
    spec: Any, table: dict[str, Any], where: str, taken: set[str], strings: Iterable[str]
) -> None:
    """The checks every figure kind shares: ``strings`` are strings, the name is the table's
    only one of it, and ``spec.metrics`` and ``spec.experiments`` are the table's.

    Raises:
        ConfigError: naming ``where``.
    """
    for key in strings:
        if not isinstance(getattr(spec, key), str):
            raise ConfigError(f"{where}: {key} is a string")
    if not spec.name or spec.name in taken:
        raise ConfigError(f"{where}: a figure needs a name no other figure of its table has")
    metrics = {m.get("key") for m in table.get("metrics") or ()}
    missing = [m for m in spec.metrics if m not in metrics]
    if missing:
        raise ConfigError(f"{where}: metric(s) {', '.join(missing)} are not the table's")
    rows = {row["experiment"] for row in table["rows"]}
    missing = [e for e in spec.experiments if e not in rows]
    if missing:
        raise ConfigError(f"{where}: experiment(s) {', '.join(missing)} are not rows of the table")
