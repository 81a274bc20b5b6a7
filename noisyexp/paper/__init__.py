"""The paper's own numbers, as package data, so tables and figures never retype them.

``reference.json`` holds one entry per comparison table (Table 1 LTE, Table 2 PTB, Table 5 unique
counting, and the figure-derived NTM, MNIST and char-GRU comparisons), each row keyed by the
experiment preset that reproduces it. ``figures_digitized.csv`` is a verbatim copy of
``docs/paper_figures_digitized.csv`` (columns ``figure,series,x,y``), the curves recovered from the
vector plots of the paper's PDFs.

``claims.yaml`` lists the paper's claims and the rule that judges each from the records
(:mod:`noisyexp.reports.claims`); ``profiles/`` holds the sweeps of ``noisyexp paper``, which
:mod:`.reproduce` runs. The data files are read lazily, on first call, and cached.

Layer rule: may import every layer below it (core to training); reports and the CLI read it.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from importlib import resources
from typing import Any

__all__ = ["REFERENCE_FILE", "DIGITIZED_FILE", "reference", "paper_tables", "digitized_curves"]

REFERENCE_FILE = "reference.json"
DIGITIZED_FILE = "figures_digitized.csv"


def _read_text(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


@functools.cache
def reference() -> dict[str, Any]:
    """The parsed ``reference.json`` (do not mutate: it is cached)."""
    return json.loads(_read_text(REFERENCE_FILE))


def paper_tables() -> list[dict[str, Any]]:
    """The comparison tables in output order; each has ``id, title, tasks, metrics, rows``."""
    return reference()["tables"]


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
