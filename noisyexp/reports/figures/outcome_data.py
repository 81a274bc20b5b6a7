"""The dots an outcome figure draws: per profile, row and metric, every run's value (or none).

Kept apart from the drawing so that the numbers (each run's value, how many runs have none, the
median) are plain values, tested without matplotlib. A row is the preset run unchanged (no
overrides beyond a profile's budget, as a paper row of the tables), its values read as its table
reads them (:func:`~noisyexp.reports.records.metric_value`).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from noisyexp.reports.figures.curve_data import paper_table
from noisyexp.reports.figures.outcome_specs import OutcomeFigure
from noisyexp.reports.records import Group, Run, budget_label, metric_value

__all__ = ["OutcomeRow", "outcome_rows", "row_labels", "budget_steps", "budget_text"]


@dataclass(frozen=True)
class OutcomeRow:
    """One table row under one profile and one metric: its runs' values, None for no value."""

    profile: str | None
    experiment: str
    metric: str
    values: tuple[float | None, ...]  # one per run, in seed order

    @property
    def present(self) -> list[float]:
        return [value for value in self.values if value is not None]

    @property
    def missing(self) -> int:
        return sum(1 for value in self.values if value is None)

    @property
    def median(self) -> float | None:
        return statistics.median(self.present) if self.present else None


def _seed(run) -> float:
    seed = run.summary.get("seed")
    return float(seed) if isinstance(seed, (int, float)) else float("inf")


def outcome_rows(spec: OutcomeFigure, groups: list[Group]) -> list[OutcomeRow]:
    """Every (profile, row, metric) of the figure with runs, sorted by profile, then in the
    order of ``spec.experiments`` and ``spec.metrics``."""
    table = paper_table(spec.table_id)
    by_key = {metric["key"]: metric for metric in table.get("metrics") or ()}
    order = {name: index for index, name in enumerate(spec.experiments)}
    rows = []
    for group in _plain_groups(spec, groups):
        runs = sorted(group.runs, key=_seed)
        for key in spec.metrics:
            values = tuple(metric_value(run, by_key[key]) for run in runs)
            rows.append(OutcomeRow(group.profile, group.experiment, key, values))
    metric_order = {key: index for index, key in enumerate(spec.metrics)}
    return sorted(
        rows, key=lambda r: (r.profile or "", order[r.experiment], metric_order[r.metric])
    )


def row_labels(spec: OutcomeFigure) -> list[str]:
    """The table's label of each of ``spec.experiments`` (its preset when it has none)."""
    table = paper_table(spec.table_id)
    labels = {row["experiment"]: row.get("label") or row["experiment"] for row in table["rows"]}
    return [labels[name] for name in spec.experiments]


def budget_steps(groups: list[Group], spec: OutcomeFigure, profile: str | None) -> int | None:
    """The ``max_steps`` every run of the profile's rows ran with; None when they differ or
    do not say (an epoch budget)."""
    steps = {
        ((run.summary.get("config") or {}).get("trainer") or {}).get("max_steps")
        for run in _profile_runs(groups, spec, profile)
    }
    (only,) = steps if len(steps) == 1 else (None,)
    return only if isinstance(only, int) and only > 0 else None


def budget_text(groups: list[Group], spec: OutcomeFigure, profile: str | None) -> str:
    """The training budget the profile's runs of the figure ran ("12,000 steps"), in the words
    of the claims report (:func:`records.budget_label`); "" when they differ or do not say."""
    budgets = {budget_label(run) for run in _profile_runs(groups, spec, profile)}
    (only,) = budgets if len(budgets) == 1 else (None,)
    return only or ""


def _plain_groups(spec: OutcomeFigure, groups: list[Group]) -> list[Group]:
    """The figure's rows with runs: a listed preset run unchanged (no overrides)."""
    return [g for g in groups if g.experiment in spec.experiments and not g.overrides and g.runs]


def _profile_runs(groups: list[Group], spec: OutcomeFigure, profile: str | None) -> list[Run]:
    """The profile's runs of the figure's plain rows."""
    return [
        run
        for group in _plain_groups(spec, groups)
        if group.profile == profile
        for run in group.runs
    ]
