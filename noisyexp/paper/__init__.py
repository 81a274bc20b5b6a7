"""The paper's tables as a registry: one file per table, read by everything that shows one.

``tables/<id>.yaml`` is the whole of a paper table: its rows keyed by the experiment preset that
reproduces each (with the paper's numbers), its metrics, its learning-curve figures and the
sweeps ``noisyexp paper`` runs for it in each profile. Tables, figures, the claims report, the
profiles and the docs read :func:`paper_tables`; adding a table = its file (or a
:func:`register_table` call from a plugin) plus its presets. ``figures_digitized.csv`` is a
verbatim copy of ``docs/paper_figures_digitized.csv`` (columns ``figure,series,x,y``), the curves
recovered from the vector plots of the paper's PDFs; ``claims.yaml`` lists the paper's claims and
the rule that judges each from the records (:mod:`noisyexp.reports.claims`); ``profiles/`` holds
each profile's name, description and overrides, run by :mod:`.reproduce`.

The data files are read lazily, on first call, and cached.

Layer rule: may import every layer below it (core to training); reports and the CLI read it.
"""

from __future__ import annotations

import copy
import csv
import functools
import io
from importlib import resources
from pathlib import Path
from typing import Any

from noisyexp.core.errors import ConfigError
from noisyexp.core.safe_yaml import load_yaml

__all__ = [
    "DIGITIZED_FILE",
    "SOURCE",
    "TABLES_FOLDER",
    "digitized_curves",
    "paper_tables",
    "profile_sweeps",
    "reference",
    "register_table",
]

TABLES_FOLDER = "tables"
DIGITIZED_FILE = "figures_digitized.csv"
#: where the paper's numbers come from (every table names its own source too)
SOURCE = "Gulcehre, Moczulski, Denil, Bengio, Noisy Activation Functions, ICML 2016 (and arXiv v3)"
#: keys every table entry has
_REQUIRED = ("id", "title", "tasks", "metrics", "rows")
_registered: list[dict[str, Any]] = []


def _read_text(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def _check_entry(entry: Any, where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: a paper table is a mapping of keys to values")
    missing = [key for key in _REQUIRED if key not in entry]
    if missing:
        raise ConfigError(f"{where}: a paper table needs {', '.join(missing)}")
    for row in entry["rows"]:
        if "experiment" not in row or "label" not in row:
            raise ConfigError(f"{where}: every row needs an experiment and a label")
    return entry


@functools.cache
def _shipped_tables() -> tuple[dict[str, Any], ...]:
    folder = Path(str(resources.files(__name__).joinpath(TABLES_FOLDER)))
    return tuple(_check_entry(load_yaml(p), str(p)) for p in sorted(folder.glob("*.yaml")))


def paper_tables() -> list[dict[str, Any]]:
    """Every paper table in output order (``order``); each has ``id, title, tasks, metrics,
    rows`` and may have ``reference, notes, solved, median, figures, sweep_figures,
    outcome_figures, sweeps``.
    Copies: a caller may change what it gets."""
    tables = [*_shipped_tables(), *_registered]
    return copy.deepcopy(sorted(tables, key=lambda t: (t.get("order", 1_000), t["id"])))


def register_table(entry: dict[str, Any]) -> None:
    """Add a paper table from outside the package (a plugin's), with the keys of a table file.

    Raises:
        ConfigError: a key is missing, or the id is taken.
    """
    entry = _check_entry(copy.deepcopy(entry), f"table {entry.get('id')!r}")
    if entry["id"] in {t["id"] for t in paper_tables()}:
        raise ConfigError(f"paper table {entry['id']!r} is already registered")
    _registered.append(entry)


def reference() -> dict[str, Any]:
    """The tables with the source they come from (the shape ``reference.json`` used to have)."""
    return {"schema": 2, "source": SOURCE, "tables": paper_tables()}


def profile_sweeps(profile: str) -> dict[str, dict[str, Any]]:
    """The sweeps the tables ask of ``profile``: sweep name -> its plan (experiments, seeds,
    overrides, sweep), in table order."""
    sweeps: dict[str, dict[str, Any]] = {}
    for table in paper_tables():
        for name, per_profile in (table.get("sweeps") or {}).items():
            if profile in (per_profile or {}):
                if name in sweeps:
                    raise ConfigError(f"sweep {name!r} of profile {profile} is in two tables")
                sweeps[name] = per_profile[profile]
    return sweeps


@functools.cache
def digitized_curves() -> dict[str, dict[str, tuple[tuple[float, ...], tuple[float, ...]]]]:
    """The digitised paper curves as ``{figure: {series: (xs, ys)}}``, points sorted by x.

    Series names are normalised: the PDF text uses non-breaking spaces in some legends (the NTM
    figure), which become plain spaces here so callers can type them.
    """
    points: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for row in csv.DictReader(io.StringIO(_read_text(DIGITIZED_FILE))):
        series = " ".join(row["series"].replace("\xa0", " ").split())
        points.setdefault(row["figure"], {}).setdefault(series, []).append(
            (float(row["x"]), float(row["y"]))
        )
    curves: dict[str, dict[str, tuple[tuple[float, ...], tuple[float, ...]]]] = {}
    for figure, by_series in points.items():
        curves[figure] = {}
        for series, pairs in by_series.items():
            pairs.sort(key=lambda pair: pair[0])
            curves[figure][series] = (
                tuple(x for x, _ in pairs),
                tuple(y for _, y in pairs),
            )
    return curves
