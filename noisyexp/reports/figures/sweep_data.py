"""The points a sweep figure draws: per row and profile, x from the runs' configs, y over seeds.

Kept apart from the drawing so that the numbers (each point's x, mean, min, max and n, and the
reference row's mean) are plain values, tested without matplotlib. x is read from each run's
resolved config (``summary.json``'s ``config``), never typed into the declaration, so a point
sits where its runs actually trained; a row's metrics are read as its table reads them
(:func:`~noisyexp.reports.records.metric_value`).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from noisyexp.reports.figures.curve_data import paper_table
from noisyexp.reports.figures.sweep_specs import SweepFigure
from noisyexp.reports.records import Group, Run, metric_value

__all__ = ["Spread", "SweepPoint", "spread", "run_x", "sweep_groups", "sweep_points", "references"]


@dataclass(frozen=True)
class Spread:
    """Mean, min, max and sample std (None for one value) of ``n`` runs' values of a metric."""

    mean: float
    low: float
    high: float
    n: int
    std: float | None = None


@dataclass(frozen=True)
class SweepPoint:
    """One row of one profile at one x.

    ``setting`` is empty when the config set x on every unit; else it says what the units ran at
    (``cells c = 0.5, gates c = 0.15``: the preset's unit defaults), and the point is no point of
    the line through the others.
    """

    profile: str | None
    x: float
    setting: str
    group: Group
    values: dict[str, Spread]


def spread(values: list[float]) -> Spread:
    """The :class:`Spread` of one or more values."""
    std = statistics.stdev(values) if len(values) > 1 else None
    return Spread(statistics.fmean(values), min(values), max(values), len(values), std)


def _config_at(config: Any, key: str) -> tuple[bool, Any]:
    """``(found, value)`` of the dotted ``key`` in a nested config mapping."""
    for part in key.split("."):
        if not isinstance(config, dict) or part not in config:
            return False, None
        config = config[part]
    return True, config


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _unit_values(act: dict[str, Any], knob: str) -> dict[str, float] | None:
    """``{role: value}`` of ``knob`` on the gate and cell units: their own, else the paper's."""
    from noisyexp.activations import paper_defaults  # torch: only for a run that leaves x unset
    from noisyexp.config.act import ROLES

    values = {}
    for role, kind in ROLES.items():
        unit = act.get(role)
        if not isinstance(unit, dict) or not isinstance(unit.get("type"), str):
            return None
        value = unit.get(knob)
        if value is None:
            try:
                value = paper_defaults(unit["type"], kind).get(knob)
            except ValueError:  # a unit type this install does not know
                return None
        if not _is_number(value):
            return None
        values[role] = float(value)
    return values


def run_x(run: Run, spec: SweepFigure) -> tuple[float, str] | None:
    """``(x, setting)`` of one run, or None when its config does not give one.

    A number at ``x_key`` is x (``setting`` empty). A null there, with ``x_unset:
    unit_defaults``, means each unit kept its own knob: x is the cells' value, and ``setting``
    names both units' values when the gates' differs.
    """
    found, value = _config_at(run.summary.get("config"), spec.x_key)
    if found and _is_number(value):
        return float(value), ""
    if not found or value is not None or spec.x_unset != "unit_defaults":
        return None
    knob = spec.x_key.split(".", 1)[1]
    act = (run.summary.get("config") or {}).get("act")
    units = _unit_values(act, knob) if isinstance(act, dict) else None
    if units is None:
        return None
    if units["gate"] == units["cell"]:
        return units["cell"], ""
    return units["cell"], f"cells {knob} = {units['cell']:g}, gates {knob} = {units['gate']:g}"


def sweep_groups(spec: SweepFigure, groups: list[Group]) -> list[Group]:
    """The rows with runs that may give points: a listed preset, no override but ``x_key``."""
    return [
        group
        for group in groups
        if group.runs
        and group.experiment in spec.experiments
        and all(o.split("=", 1)[0].strip() == spec.x_key for o in group.overrides)
    ]


def _metrics(spec: SweepFigure) -> dict[str, dict[str, Any]]:
    table = paper_table(spec.table_id)
    by_key = {metric["key"]: metric for metric in table.get("metrics") or ()}
    return {key: by_key[key] for key in spec.metrics}


def sweep_points(spec: SweepFigure, groups: list[Group]) -> list[SweepPoint]:
    """Every point of the figure, sorted by profile, x and setting; a row whose runs differ in
    x gives one point per x, and a point needs one run with a metric value."""
    metrics = _metrics(spec)
    points = []
    for group in sweep_groups(spec, groups):
        by_x: dict[tuple[float, str], list[Run]] = {}
        for run in group.runs:
            at = run_x(run, spec)
            if at is not None:
                by_x.setdefault(at, []).append(run)
        for (x, setting), runs in by_x.items():
            values = {}
            for key, metric in metrics.items():
                present = [v for v in (metric_value(run, metric) for run in runs) if v is not None]
                if present:
                    values[key] = spread(present)
            if values:
                points.append(SweepPoint(group.profile, x, setting, group, values))
    return sorted(points, key=lambda p: (p.profile or "", p.x, p.setting, p.group.sort_key()))


def references(spec: SweepFigure, groups: list[Group]) -> dict[str | None, dict[str, Spread]]:
    """profile -> the table's reference row's spread of each metric (its plain preset runs)."""
    reference = paper_table(spec.table_id).get("reference")
    metrics = _metrics(spec)
    found: dict[str | None, dict[str, Spread]] = {}
    for group in groups:
        if not reference or group.experiment != reference or group.overrides or not group.runs:
            continue
        for key, metric in metrics.items():
            present = [
                v for v in (metric_value(run, metric) for run in group.runs) if v is not None
            ]
            if present:
                found.setdefault(group.profile, {})[key] = spread(present)
    return found
