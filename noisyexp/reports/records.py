"""Reading run directories: summaries, metrics, grouping by preset/overrides, aggregation.

The layer shared by ``noisyexp tables`` and ``noisyexp figures``, so both place a run in the same
row. Grouping rules (one row per group):

* a run belongs to the table whose rows name its experiment preset, else to the table that lists
  its task (so extra presets and preset-less runs still show up);
* within a table, runs are grouped by (experiment preset, profile, overrides), where the overrides
  leave out ``seed``, ``experiment``, ``profile`` and bookkeeping keys (:data:`IGNORED_OVERRIDES`)
  and, for runs of a ``make paper`` profile, the profile's budgets (``trainer.*``, ``task.*``),
  so a sweep ``act.c=0.1,0.5,1 seed=1,2,3`` gives one row per c, aggregated over the seeds;
* a paper row is attached only to the groups that ran its preset unchanged (one per profile); a
  paper row without runs gets an empty group, so the renderers can show it as missing.

A metric is read from ``summary["test"]``, then ``summary["final"]`` (the last evaluation), then the
last ``metrics.jsonl`` line that has it. A bad file is skipped with its reason, never a crash.

The statistics of the rows these groups make live in :mod:`.intervals` (means, t-intervals,
Welch) and :mod:`.stats` (solved counts, Fisher).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from noisyexp.config.schema import canonical_act_name

__all__ = [
    "IGNORED_OVERRIDES",
    "RUN_SECTION",
    "REQUIRED_KEYS",
    "Run",
    "Skipped",
    "Group",
    "read_run",
    "collect_runs",
    "override_key",
    "group_runs",
    "metric_value",
    "budget_label",
]

#: in a ``make paper`` profile's runs, override keys with these prefixes are its budget: no split
PROFILE_BUDGET_PREFIXES: tuple[str, ...] = ("trainer.", "task.")
#: override keys (before ``=``) that never split a row; ``hydra.*`` and ``paths.*`` too
#: overrides that change how a run executes, not what it computes: never a separate row
IGNORED_OVERRIDES: frozenset[str] = frozenset(
    {
        "seed",
        "experiment",
        "profile",
        "trainer.device",
        "trainer.log_every",
        "trainer.ckpt_every",
        "trainer.num_threads",
        "trainer.progress",
        "trainer.progress_interval_s",
        "trainer.track_saturation",
        "debug",
    }
)
_IGNORED_PREFIXES = ("hydra.", "hydra/", "paths.")

#: summary.json keys without which a run cannot be placed in a table
REQUIRED_KEYS: tuple[str, ...] = ("status", "task", "seed")


@dataclass(frozen=True)
class Run:
    """One readable run directory: its summary and the rows of its ``metrics.jsonl``."""

    path: Path
    summary: dict[str, Any]
    metrics: tuple[dict[str, Any], ...] = ()

    @property
    def experiment(self) -> str | None:
        return self.summary.get("experiment")

    @property
    def task(self) -> str:
        return self.summary["task"]

    @property
    def profile(self) -> str | None:
        return self.summary.get("profile")


@dataclass(frozen=True)
class Skipped:
    """A summary that was not used, and why (status, bad JSON, missing keys, no table)."""

    path: Path
    reason: str
    task: str | None = None
    experiment: str | None = None


@dataclass
class Group:
    """The runs of one table row: same preset, profile and (non-ignored) overrides."""

    experiment: str | None
    task: str
    profile: str | None
    overrides: tuple[str, ...]
    runs: list[Run] = field(default_factory=list)
    paper_row: dict[str, Any] | None = None

    def label(self) -> str:
        return self.experiment if self.experiment else f"(task={self.task})"

    def sort_key(self) -> tuple[str, str, tuple[str, ...]]:
        return (self.label(), self.profile or "", self.overrides)


# ----------------------------------------------------------------------------------------------
# reading runs


def _read_metrics(path: Path) -> tuple[dict[str, Any], ...]:
    """Rows of a ``metrics.jsonl``; unreadable lines (a torn last write) are dropped."""
    if not path.is_file():
        return ()
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return tuple(rows)


#: the types of summary.json fields the tables read (a record with another type is skipped)
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "status": (str,),
    "profile": (str, type(None)),
    "seed": (int,),
    "config": (dict,),
    "dataset": (dict, type(None)),
    "final": (dict,),
    "best": (dict,),
    "test": (dict,),
    "steps": (int, float),
    "epochs": (int, float),
    "wall_time_s": (int, float, type(None)),
}


def _is_bool_for(value: Any, types: tuple[type, ...]) -> bool:
    """True for a bool where a number is expected (JSON's true is not a seed or a time)."""
    return isinstance(value, bool) and bool not in types


def read_run(summary_path: Path) -> Run | Skipped:
    """Read one ``summary.json`` and the ``metrics.jsonl`` beside it.

    Returns:
        A :class:`Run` for a completed run, else a :class:`Skipped` saying why.
    """
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Skipped(summary_path, f"unreadable summary.json ({type(exc).__name__})")
    if not isinstance(summary, dict):
        return Skipped(summary_path, "summary.json is not a JSON object")
    missing = [key for key in REQUIRED_KEYS if key not in summary]
    if missing:
        return Skipped(summary_path, f"summary.json lacks key(s): {', '.join(missing)}")
    task, experiment = summary.get("task"), summary.get("experiment")
    if not isinstance(task, str) or not isinstance(experiment, (str, type(None))):
        return Skipped(summary_path, "summary.json has a non-string task or experiment")
    overrides = summary.get("overrides", [])
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        return Skipped(summary_path, "summary.json 'overrides' is not a list of strings")
    for key, types in _FIELD_TYPES.items():
        value = summary.get(key)
        if key in summary and not (isinstance(value, types) and not _is_bool_for(value, types)):
            names = "/".join("null" if t is type(None) else t.__name__ for t in types)
            return Skipped(summary_path, f"summary.json {key!r} is not {names}")
    if summary["status"] != "completed":
        error = summary.get("error")
        reason = f"status {summary['status']}" + (f": {error}" if error else "")
        return Skipped(summary_path, reason, task, experiment)
    metrics = _read_metrics(summary_path.parent / "metrics.jsonl")
    return Run(summary_path.parent, summary, metrics)


def collect_runs(results_dir: Path) -> tuple[list[Run], list[Skipped]]:
    """Every ``summary.json`` under ``results_dir``, split into completed runs and skipped ones.

    Both lists are sorted by path, so the output does not depend on the file system's order.
    """
    runs: list[Run] = []
    skipped: list[Skipped] = []
    for summary_path in sorted(Path(results_dir).rglob("summary.json")):
        if not summary_path.is_file():
            continue
        result = read_run(summary_path)
        (runs if isinstance(result, Run) else skipped).append(result)
    return runs, skipped


# ----------------------------------------------------------------------------------------------
# grouping and aggregation


def override_key(overrides: Iterable[str], *, profiled: bool = False) -> tuple[str, ...]:
    """The overrides that define a row: sorted, leading ``+`` dropped, ignored keys removed.

    ``profiled``: the run belongs to a ``make paper`` profile, whose budgets (``trainer.*``, and
    the reduced model and data sizes ``task.*`` of the ``cpu`` profile) are the profile itself
    (stated in the table header and the profile), so they do not split rows either.
    """
    kept = []
    for override in overrides:
        text = override.lstrip("+")
        key = text.split("=", 1)[0].strip()
        if key in IGNORED_OVERRIDES or key.startswith(_IGNORED_PREFIXES):
            continue
        if profiled and key.startswith(PROFILE_BUDGET_PREFIXES):
            continue
        if key == "act":  # act=noisy_tanh (before the rename), act=nan and act='nan': one row
            option = text.split("=", 1)[1].strip().strip("'\"")
            text = f"act={canonical_act_name(option)}"
        kept.append(text)
    return tuple(sorted(set(kept)))


def _table_of(run: Run, tables: list[dict[str, Any]]) -> str | None:
    for table in tables:
        if any(row["experiment"] == run.experiment for row in table["rows"]):
            return table["id"]
    for table in tables:
        if run.task in table["tasks"]:
            return table["id"]
    return None


def group_runs(
    runs: Iterable[Run], tables: list[dict[str, Any]]
) -> tuple[dict[str, list[Group]], list[Run]]:
    """Place runs in table rows.

    Returns:
        ``{table id: groups}`` with every paper row present (empty when it has no runs), the paper
        rows first in the paper's order, then extra groups sorted; and the runs no table takes.
    """
    by_key: dict[tuple[Any, ...], Group] = {}
    orphans: list[Run] = []
    for run in runs:
        table_id = _table_of(run, tables)
        if table_id is None:
            orphans.append(run)
            continue
        overrides = override_key(run.summary.get("overrides", []), profiled=bool(run.profile))
        key = (
            table_id,
            run.experiment or "",
            run.task if not run.experiment else "",
            run.profile or "",
            overrides,
        )
        group = by_key.setdefault(key, Group(run.experiment, run.task, run.profile, overrides))
        group.runs.append(run)
    grouped: dict[str, list[Group]] = {}
    for table in tables:
        mine = [g for k, g in by_key.items() if k[0] == table["id"]]
        grouped[table["id"]] = _order_rows(table, mine)
    return grouped, orphans


def _order_rows(table: dict[str, Any], groups: list[Group]) -> list[Group]:
    """Paper rows in the paper's order (one per profile, or a missing one), then the rest."""
    ordered: list[Group] = []
    used: set[int] = set()
    for row in table["rows"]:
        plain = sorted(
            (g for g in groups if g.experiment == row["experiment"] and not g.overrides),
            key=Group.sort_key,
        )
        if not plain:
            plain = [Group(row["experiment"], "", None, ())]
        for group in plain:
            group.paper_row = row
            used.add(id(group))
        ordered.extend(plain)
    ordered.extend(sorted((g for g in groups if id(g) not in used), key=Group.sort_key))
    return ordered


#: a metric source's ``section`` that reads the summary's own fields (``epochs``, ``steps``)
RUN_SECTION = "run"


def _lookup_at(run: Run, key: str, at: dict[str, float]) -> float | None:
    """``key`` on the first ``metrics.jsonl`` line that has it and whose fields equal ``at``
    (e.g. ``{"epoch": 10}``); a line of the same epoch without ``key`` does not hide it."""
    for row in run.metrics:
        if _is_number(row.get(key)) and all(row.get(k) == v for k, v in at.items()):
            return float(row[key])
    return None


def _lookup(run: Run, key: str, section: str | None = None) -> float | None:
    if section == RUN_SECTION:  # the summary's own fields (epochs, steps, wall_time_s)
        value = run.summary.get(key)
        return float(value) if _is_number(value) else None
    if section is not None:  # one summary section only (e.g. "best": the early-stopping point)
        values = run.summary.get(section)
        ok = isinstance(values, dict) and _is_number(values.get(key))
        return float(values[key]) if ok else None
    for section in ("test", "final"):
        values = run.summary.get(section)
        if isinstance(values, dict) and _is_number(values.get(key)):
            return float(values[key])
    for row in reversed(run.metrics):
        if _is_number(row.get(key)):
            return float(row[key])
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _in_epochs(run: Run, steps: float) -> float | None:
    """``steps`` of ``run`` as epochs, from the run's own steps and epochs; None without them."""
    total, epochs = run.summary.get("steps"), run.summary.get("epochs")
    if not (_is_number(total) and _is_number(epochs)) or total <= 0:
        return None
    return steps * float(epochs) / float(total)


def budget_label(run: Run) -> str | None:
    """The budget the run was trained under, in words ("12,000 steps", "13 epochs"), from its
    config; None when the config states neither. A step cap is named before an epoch cap (the
    profiles set one or the other; the tables' headers show both as configured)."""
    trainer = (run.summary.get("config") or {}).get("trainer") or {}
    steps, epochs = trainer.get("max_steps"), trainer.get("max_epochs")
    if _is_number(steps) and steps > 0:
        return f"{int(steps):,} steps"
    if _is_number(epochs) and epochs > 0:
        return f"{epochs:g} epochs"
    return None


def metric_value(run: Run, metric: dict[str, Any]) -> float | None:
    """The value of a table metric for one run, or None when the run did not record it.

    ``metric["sources"]`` lists ``{"key", "factor", "section", "at", "in_epochs"}`` alternatives
    tried in order (``section``: read only that summary section, e.g. ``"best"``, or
    ``"run"`` for the summary's own fields, e.g. ``epochs``; ``at``: read the ``metrics.jsonl``
    line with these values, e.g. ``{"epoch": 10}``, for a point on the curve; ``in_epochs``: a
    step count turned into epochs by the run's own steps per epoch);
    ``metric["solved_below"]`` makes it the first ``metrics.jsonl`` step where
    ``solved_below.key`` falls below ``solved_below.threshold``.
    """
    solved = metric.get("solved_below")
    if solved:
        for row in run.metrics:
            value = row.get(solved["key"])
            if _is_number(value) and value < solved["threshold"] and _is_number(row.get("step")):
                return float(row["step"])
        return None
    for source in metric.get("sources", [{"key": metric["key"]}]):
        if "at" in source:
            value = _lookup_at(run, source["key"], source["at"])
        else:
            value = _lookup(run, source["key"], source.get("section"))
        if value is not None and source.get("in_epochs"):
            value = _in_epochs(run, value)
        if value is not None:
            return value * source.get("factor", 1.0)
    return None
