"""Paper tables from run summaries: ours (mean ± std over seeds) beside the paper's numbers.

``noisyexp tables`` reads every completed run under a results folder
(:mod:`noisyexp.reports.records` finds, groups and aggregates them) and writes each table as
Markdown, CSV and LaTeX. Nothing here is
typed in by hand: our numbers come from the runs, the paper's from ``paper/tables/*.yaml``.
Where the folder holds ``paper/`` (the records of ``make paper``), the paper tables read only that,
and the other runs (ad-hoc reruns under ``results/runs``) get tables of their own under
``<out>/runs/``, so they neither count as seeds of a paper row nor overwrite its table.

The paper's number stands only beside the group that ran the preset unchanged; sweep groups and
presets the paper does not have show "–" for the paper; paper rows without runs show "missing".
Output is deterministic and written atomically, so a reader never sees half a table; it holds no
path outside the results folder and no timestamp, so the same records give the same bytes anywhere.

Statistics (:func:`noisyexp.reports.records.aggregate`, :func:`noisyexp.reports.records.welch`):
every row shows n, the mean ± sample std over its seeds and the 95% t-interval of the mean (a row
with n = 1 shows its value and "n = 1"). Each table names its reference row in its ``paper/tables``
entry (``"reference": "<preset>"``); every other paper preset of the table is compared to the
reference preset's runs under the same profile and overrides: the difference of means, its 95% Welch
interval and Welch's two-sided t-test p-value (uncorrected for the several comparisons of a table).
A metric marked ``"describe": true`` says where the runs ended (the noise scale, a curriculum's
length), not a result: the Markdown and LaTeX show only its mean ± std and nothing compares it.

A table with ``"solved": {"metric": ..., "steps_key": ...}`` (Table 5, whose runs either solve the
task or end on a plateau) also shows, after that metric, each row's solved count (test error below
:data:`noisyexp.reports.stats.SOLVED_BELOW`), its median steps to solve over the runs that got
there, and Fisher's exact p of its count against the reference row's (:mod:`.stats`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from noisyexp.core.atomic import write_text_atomic
from noisyexp.paper import paper_tables
from noisyexp.reports.records import (
    CONFIDENCE,
    Comparison,
    Group,
    Run,
    Skipped,
    Stat,
    aggregate,
    collect_runs,
    group_runs,
    metric_value,
    welch,
)
from noisyexp.reports.stats import SOLVED_BELOW, SolvedCount, fisher_exact, solved_count

__all__ = [
    "PAPER_DIR",
    "RUNS_DIR",
    "paper_records",
    "render_markdown",
    "render_csv",
    "render_latex",
    "main",
]

#: under a results folder, the ``make paper`` records that the paper tables read (and only they)
PAPER_DIR = "paper"
#: under the output folder, the tables of the runs outside ``paper/`` (never the paper tables)
RUNS_DIR = "runs"

_DASH = "–"


# ----------------------------------------------------------------------------------------------
# the table as cells


@dataclass
class _Cell:
    """One metric of one row, formatted and raw.

    ``diff``: our mean minus the paper's; ``compare``: this row against the table's reference row
    (None when the row is not compared: the reference itself, sweeps, extra presets).
    """

    stat: Stat
    paper: float | None
    paper_text: str
    diff: float | None
    compare: Comparison | None = None


def _cells(group: Group, metric: dict[str, Any]) -> _Cell:
    stat = aggregate([metric_value(run, metric) for run in group.runs])
    row = group.paper_row
    paper = row["paper"].get(metric["key"]) if row else None
    note = (row.get("paper_note") or {}).get(metric["key"]) if row else None
    decimals = metric.get("decimals", 3)
    paper_text = _fmt(paper, decimals) if paper is not None else (note or _DASH)
    diff = stat.mean - paper if stat.mean is not None and paper is not None else None
    return _Cell(stat, paper, paper_text, diff)


def _fmt(value: float | None, decimals: int, sign: bool = False) -> str:
    if value is None:
        return _DASH
    text = f"{value:+.{decimals}f}" if sign else f"{value:.{decimals}f}"
    # -0.00 and +0.00 read as a difference where there is none
    return text.lstrip("+-") if float(text) == 0 else text


def _ours_text(group: Group, cell: _Cell, decimals: int) -> str:
    """``mean ± std``, ``value (n = 1)``, ``missing`` (no runs) or ``n/a (0/k)`` (not recorded)."""
    if not group.runs:
        return "missing"
    stat = cell.stat
    if stat.mean is None:
        return f"n/a (0/{stat.total})" if stat.total else "n/a"
    if stat.n == 1:
        text = f"{_fmt(stat.mean, decimals)} (n = 1)"
        return text if stat.total == 1 else f"{_fmt(stat.mean, decimals)} (n = 1 of {stat.total})"
    text = f"{_fmt(stat.mean, decimals)} ± {_fmt(stat.std, decimals)}"
    return text if stat.n == stat.total else f"{text} ({stat.n}/{stat.total})"


def _interval_text(low: float | None, high: float | None, decimals: int, sign: bool = False) -> str:
    if low is None or high is None:
        return _DASH
    return f"[{_fmt(low, decimals, sign)}, {_fmt(high, decimals, sign)}]"


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _compare_text(group: Group, cell: _Cell, decimals: int, reference: str | None) -> str:
    """The Welch column: ``ref.`` on the reference row, ``diff [low, high], p = …`` on the rows
    compared to it (``diff (n < 2)`` or ``diff (std 0)`` when no test is possible), else "–"."""
    if reference is not None and group.experiment == reference and group.runs:
        return "ref." if cell.stat.mean is not None else _DASH
    comp = cell.compare
    if comp is None or comp.diff is None:
        return _DASH
    diff = _fmt(comp.diff, decimals, sign=True)
    if comp.p is None:
        return f"{diff} ({comp.why})"
    return f"{diff} {_interval_text(comp.low, comp.high, decimals, sign=True)}, {_p_text(comp.p)}"


def _seeds(group: Group) -> str:
    return ",".join(str(s) for s in sorted({run.summary["seed"] for run in group.runs}, key=str))


def _reference_group(table: dict[str, Any], group: Group, groups: list[Group]) -> Group | None:
    """The reference preset's group that ``group`` is compared to, or None.

    Only the table's other paper presets are compared, each to the reference preset's runs of the
    same profile and the same overrides (so like is compared with like: a sweep value without a
    reference run at that value is not compared).
    """
    reference = table.get("reference")
    presets = {row["experiment"] for row in table["rows"]}
    if not reference or not group.runs or group.experiment not in presets - {reference}:
        return None
    for other in groups:
        same = (other.profile, other.overrides) == (group.profile, group.overrides)
        if other.experiment == reference and other.runs and same:
            return other
    return None


def _table_rows(table: dict[str, Any], groups: list[Group]) -> list[dict[str, Any]]:
    """Rows as plain dicts: display text and raw numbers, shared by the three renderers."""
    rows = []
    for group in groups:
        cells = [_cells(group, metric) for metric in table["metrics"]]
        reference = _reference_group(table, group, groups)
        if reference is not None:
            for metric, cell in zip(table["metrics"], cells, strict=True):
                if not metric.get("describe"):
                    cell.compare = welch(cell.stat, _cells(reference, metric).stat)
        status = "missing" if not group.runs else ("paper" if group.paper_row else "extra")
        row = {"group": group, "cells": cells, "status": status, "reference": reference}
        if table.get("solved"):
            row["solved"] = _solved(table, group)
            row["fisher"] = None
            if reference is not None:
                mine, theirs = row["solved"], _solved(table, reference)
                if mine.total and theirs.total:
                    row["fisher"] = fisher_exact(
                        mine.solved, mine.total, theirs.solved, theirs.total
                    )
        rows.append(row)
    return rows


def _solved(table: dict[str, Any], group: Group) -> SolvedCount:
    """The row's solved count (its ``solved`` metric below :data:`SOLVED_BELOW`) and steps."""
    spec = table["solved"]
    metric = next(m for m in table["metrics"] if m["key"] == spec["metric"])
    return solved_count(group.runs, metric, below=SOLVED_BELOW, steps_key=spec.get("steps_key"))


def _solved_columns() -> list[str]:
    below = f"{SOLVED_BELOW:g} %"
    return [
        f"Solved k/n (test error < {below})",
        f"Steps to valid error < {below} (median, runs that got there)",
        "Solved vs ref., Fisher p",
    ]


def _solved_cells(group: Group, row: dict[str, Any], reference: str | None) -> list[str]:
    """``k/n``; the median steps to solve with how many runs got there; Fisher's p (or ref.)."""
    count: SolvedCount = row["solved"]
    if not group.runs:
        return [_DASH, _DASH, _DASH]
    solved = f"{count.solved}/{count.total}" if count.total else f"n/a (0/{count.runs})"
    got = f"{len(count.steps)}/{count.runs}"
    steps = f"{_fmt(count.steps_median, 0)} ({got})" if count.steps else f"{_DASH} ({got})"
    if reference is not None and group.experiment == reference:
        fisher = "ref." if count.total else _DASH
    else:
        fisher = _DASH if row["fisher"] is None else _p_text(row["fisher"])
    return [solved, steps, fisher]


def _statistics_line(table: dict[str, Any]) -> str:
    """The header line that says which statistics and which test the table shows."""
    level = f"{CONFIDENCE:.0%}"
    line = (
        f"Statistics: ours = mean ± sample std over seeds (a single run: its value, n = 1); "
        f"{level} CI = t-interval of the mean; Δ paper = our mean − the paper's"
    )
    reference = table.get("reference")
    if not reference:
        return line + "."
    label = next((r["label"] for r in table["rows"] if r["experiment"] == reference), reference)
    line = (
        f"{line}; Δ ref. = our mean − the mean of the reference row {reference} ({label}) "
        f"under the same profile and overrides, with its {level} Welch interval and the p-value "
        f"of Welch's two-sided t-test (unequal variances, no correction for multiple "
        f"comparisons; needs n ≥ 2 on both sides)."
    )
    if not table.get("solved"):
        return line
    below = f"{SOLVED_BELOW:g} %"
    return (
        f"{line} Solved k/n = runs whose test error is below {below} (runs either solve the "
        f"task or end on the plateau); steps to solve = the first evaluation step whose valid "
        f"error is below {below}, the median over the runs that got there (how many, in "
        f"brackets); Fisher p = two-sided Fisher's exact test of the solved counts against the "
        f"reference row's. Welch's test also needs a non-zero std on both sides: (std 0) marks "
        f"a row whose runs all ended at one value."
    )


def _distinct(values: Iterable[Any]) -> str:
    shown = sorted({str(v) for v in values if v not in (None, "")})
    return ", ".join(shown) if shown else _DASH


def _budget(run: Run) -> str:
    trainer = (run.summary.get("config") or {}).get("trainer") or {}
    parts = [
        f"{key}={'null' if trainer[key] is None else trainer[key]}"
        for key in ("max_steps", "max_epochs")
        if key in trainer
    ]
    return ", ".join(parts) if parts else "budget not recorded"


def _header_lines(groups: list[Group]) -> list[str]:
    """The budget under which our numbers were run, from the runs themselves."""
    runs = [run for group in groups for run in group.runs]
    if not runs:
        return ["Ours: no completed runs yet."]
    budgets: dict[str, set[str]] = {}
    for run in runs:
        budgets.setdefault(_budget(run), set()).add(run.experiment or f"task={run.task}")
    datasets = {
        f"{(run.summary.get('dataset') or {}).get('name', '?')}:"
        f"{(run.summary.get('dataset') or {}).get('checksum', '?')}"
        for run in runs
    }
    wall = sum(float(run.summary.get("wall_time_s") or 0.0) for run in runs)
    lines = [f"Budget: {b} ({', '.join(sorted(e))})" for b, e in sorted(budgets.items())]
    lines += [
        f"Profile: {_distinct(run.profile for run in runs)}; "
        f"seeds: {_distinct(run.summary['seed'] for run in runs)}; runs: {len(runs)}; "
        f"total wall time: {wall / 60:.1f} min",
        f"Code: {_distinct(run.summary.get('code_version') for run in runs)}; "
        f"device: {_distinct(run.summary.get('device') for run in runs)}",
        f"Data: {_distinct(datasets)}",
    ]
    return lines


# ----------------------------------------------------------------------------------------------
# renderers


def _columns(table: dict[str, Any]) -> list[str]:
    names = ["Row", "Paper row", "Overrides", "Profile", "n"]
    level = f"{CONFIDENCE:.0%}"
    for metric in table["metrics"]:
        label = metric["label"]
        names += [f"{label} (ours)"]
        if metric.get("describe"):  # where a run ended, not a result: no statistics columns
            continue
        if table.get("median"):
            names.append(f"{label} median")
        names += [f"{label} {level} CI", f"{label} (paper)", f"{label} Δ paper"]
        if table.get("reference"):
            names.append(f"{label} Δ ref. [{level} CI], Welch p")
        if (table.get("solved") or {}).get("metric") == metric["key"]:
            names += _solved_columns()
    return names


def _display_row(table: dict[str, Any], row: dict[str, Any]) -> list[str]:
    group: Group = row["group"]
    cells = [
        group.label(),
        group.paper_row["label"] if group.paper_row else _DASH,
        " ".join(group.overrides) or _DASH,
        group.profile or _DASH,
        str(len(group.runs)),
    ]
    reference = table.get("reference")
    for metric, cell in zip(table["metrics"], row["cells"], strict=True):
        decimals = metric.get("decimals", 3)
        if metric.get("describe"):  # a row without it (no curriculum, no noise): nothing to say
            cells.append(
                _DASH
                if group.runs and cell.stat.mean is None
                else _ours_text(group, cell, decimals)
            )
            continue
        cells.append(_ours_text(group, cell, decimals))
        if table.get("median"):
            cells.append(_fmt(cell.stat.median, decimals))
        cells += [
            _interval_text(cell.stat.ci_low, cell.stat.ci_high, decimals),
            cell.paper_text,
            _fmt(cell.diff, decimals, sign=True),
        ]
        if reference:
            cells.append(_compare_text(group, cell, decimals, reference))
        if (table.get("solved") or {}).get("metric") == metric["key"]:
            cells += _solved_cells(group, row, reference)
    return cells


def render_markdown(table: dict[str, Any], groups: list[Group], skipped: list[Skipped] = ()) -> str:
    """The table as a Markdown section: title, budget header, the table, notes, skipped runs."""
    lines = [f"## {table['title']}", "", f"Paper: {table['source']}.", ""]
    lines += [f"- {line}" for line in [*_header_lines(groups), _statistics_line(table)]]
    columns = _columns(table)
    align = ["---"] * 4 + ["---:"] * (len(columns) - 4)
    lines += ["", "| " + " | ".join(columns) + " |", "|" + "|".join(align) + "|"]
    for row in _table_rows(table, groups):
        cells = [c.replace("|", "\\|") for c in _display_row(table, row)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [""] + [f"Note: {note}" for note in table.get("notes", [])]
    if skipped:
        lines += ["", f"Skipped runs for this table: {len(skipped)} (reasons in skipped.md)."]
    return "\n".join(lines).rstrip() + "\n"


def render_csv(table: dict[str, Any], groups: list[Group]) -> str:
    """The table as CSV: one line per row, raw numbers (empty when absent) and the budget.

    Per metric ``<key>:n, mean, std, median, ci_low, ci_high`` (the 95% t-interval of the mean),
    ``paper, paper_diff`` (our mean − the paper's) and ``diff, diff_low, diff_high, p``: our mean −
    the mean of the row named in ``compared_to``, its 95% Welch interval and Welch's p-value.
    A table with a ``solved`` metric adds ``solved:k, n, steps_median, steps_n, fisher_p``.
    """
    header = [
        "table",
        "row",
        "paper_row",
        "overrides",
        "profile",
        "status",
        "n",
        "seeds",
        "budget",
        "code_version",
        "dataset_checksum",
        "compared_to",
    ]
    parts = ("n", "mean", "std", "median", "ci_low", "ci_high", "paper", "paper_diff")
    parts += ("diff", "diff_low", "diff_high", "p")
    for metric in table["metrics"]:
        header += [f"{metric['key']}:{part}" for part in parts]
    if table.get("solved"):
        header += [f"solved:{part}" for part in _SOLVED_PARTS]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in _table_rows(table, groups):
        group: Group = row["group"]
        runs = group.runs
        line = [
            table["id"],
            group.label(),
            group.paper_row["label"] if group.paper_row else "",
            " ".join(group.overrides),
            group.profile or "",
            row["status"],
            len(runs),
            _seeds(group),
            "; ".join(sorted({_budget(r) for r in runs})),
            "; ".join(sorted({str(r.summary.get("code_version")) for r in runs})),
            "; ".join(
                sorted({str((r.summary.get("dataset") or {}).get("checksum")) for r in runs})
            ),
            row["reference"].label() if row["reference"] is not None else "",
        ]
        for cell in row["cells"]:
            comp = cell.compare or Comparison(None)
            line += [
                cell.stat.n,
                _raw(cell.stat.mean),
                _raw(cell.stat.std),
                _raw(cell.stat.median),
                _raw(cell.stat.ci_low),
                _raw(cell.stat.ci_high),
                _raw(cell.paper),
                _raw(cell.diff),
                _raw(comp.diff),
                _raw(comp.low),
                _raw(comp.high),
                _raw(comp.p),
            ]
        if table.get("solved"):
            count: SolvedCount = row["solved"]
            line += [
                count.solved if count.total else "",
                count.total,
                _raw(count.steps_median),
                len(count.steps),
                _raw(row["fisher"]),
            ]
        writer.writerow(line)
    return buffer.getvalue()


#: CSV columns of a table with a ``solved`` metric: solved runs, runs with a value, the median
#: steps to solve, how many runs got there, Fisher's p against the reference row
_SOLVED_PARTS = ("k", "n", "steps_median", "steps_n", "fisher_p")


def _raw(value: float | None) -> str:
    return "" if value is None else repr(round(value, 10))


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "–": "--",
    "±": r"$\pm$",
    "Δ": r"$\Delta$",
    "−": r"$-$",
    "≥": r"$\geq$",
    "<": r"$<$",
    ">": r"$>$",
}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(char, char) for char in text)


def render_latex(table: dict[str, Any], groups: list[Group]) -> str:
    """The table as a LaTeX ``table`` float (booktabs), the budget in the caption."""
    columns = _columns(table)
    spec = "llll" + "r" * (len(columns) - 4)
    caption = f"{table['title']}. Paper: {table['source']}. " + " ".join(
        line.rstrip(".") + "." for line in [*_header_lines(groups), _statistics_line(table)]
    )
    lines = [
        r"% generated by noisyexp tables; do not edit",
        r"\begin{table}[ht]",
        r"\centering",
        r"\small",
        rf"\caption{{{_latex_escape(caption)}}}",
        rf"\label{{tab:{table['id']}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(_latex_escape(c) for c in columns) + r" \\",
        r"\midrule",
    ]
    for row in _table_rows(table, groups):
        lines.append(" & ".join(_latex_escape(c) for c in _display_row(table, row)) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------
# files


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _skipped_markdown(skipped: list[Skipped], orphans: list[Run], root: Path) -> str:
    lines = ["# Skipped runs", ""]
    if not skipped and not orphans:
        return "\n".join([*lines, "None: every summary.json was a completed run in a table.", ""])
    lines += ["| Summary | Reason |", "|---|---|"]
    for item in skipped:
        lines.append(f"| {_relative(item.path, root)} | {item.reason.replace('|', '/')} |")
    for run in orphans:
        where = _relative(run.path / "summary.json", root)
        lines.append(f"| {where} | completed, but no table takes task {run.task!r} |")
    return "\n".join(lines) + "\n"


def _sweeps_markdown(tables: list[dict[str, Any]], grouped: dict[str, list[Group]]) -> str:
    """Every preset run with more than one override set, each as a small table of its groups."""
    lines = ["# Sweeps", "", "Rows per override set of one preset, aggregated over seeds.", ""]
    found = False
    for table in tables:
        groups = [g for g in grouped[table["id"]] if g.runs]
        swept = sorted({g.label() for g in groups if g.overrides})
        for label in swept:
            found = True
            members = [g for g in groups if g.label() == label]
            section = render_markdown(
                {**table, "title": f"{label} ({table['title']})", "notes": []}, members
            )
            lines += [section.replace("## ", "## Sweep: ", 1), ""]
    if not found:
        lines.append("No sweeps found (no run of a preset with extra overrides).")
    return "\n".join(lines).rstrip() + "\n"


def _skipped_for(table: dict[str, Any], skipped: list[Skipped]) -> list[Skipped]:
    presets = {row["experiment"] for row in table["rows"]}
    return [s for s in skipped if s.experiment in presets or s.task in table["tasks"]]


def paper_records(results_dir: Path) -> Path:
    """The folder the paper tables read: ``<results>/paper`` when it exists, else ``results_dir``.

    So ``--results results`` reads only the committed records of ``make paper``, while
    ``--results results/paper`` (the records themselves) and a folder of plain runs (the demo's
    ``results/demo``) read everything under them, as before.
    """
    results_dir = Path(results_dir)
    paper_dir = results_dir / PAPER_DIR
    return paper_dir if paper_dir.is_dir() else results_dir


_TITLE = "# Results: ours beside the paper\n\nGenerated by `noisyexp tables`; do not edit.\n\n"
_RUNS_TITLE = (
    "# Ad-hoc runs: the runs outside paper/\n\n"
    "Generated by `noisyexp tables` from the runs of the results folder that are not under "
    f"`{PAPER_DIR}/` (reruns, sweeps, trials); the paper tables, one folder up, read only "
    f"`{PAPER_DIR}/`. Do not edit.\n\n"
)


def _write_set(
    runs: list[Run], skipped: list[Skipped], root: Path, out_dir: Path, title: str
) -> list[Path]:
    """Every table of ``runs`` (``.md``, ``.csv``, ``.tex``), ``tables.md``, sweeps, skipped."""
    tables = paper_tables()
    grouped, orphans = group_runs(runs, tables)
    written: list[Path] = []
    sections = []
    for table in tables:
        groups, mine = grouped[table["id"]], _skipped_for(table, skipped)
        markdown = render_markdown(table, groups, mine)
        sections.append(markdown)
        written.append(write_text_atomic(out_dir / f"{table['id']}.md", markdown))
        written.append(write_text_atomic(out_dir / f"{table['id']}.csv", render_csv(table, groups)))
        written.append(
            write_text_atomic(out_dir / f"{table['id']}.tex", render_latex(table, groups))
        )
    written.append(write_text_atomic(out_dir / "tables.md", title + "\n".join(sections)))
    written.append(write_text_atomic(out_dir / "sweeps.md", _sweeps_markdown(tables, grouped)))
    written.append(
        write_text_atomic(out_dir / "skipped.md", _skipped_markdown(skipped, orphans, root))
    )
    return written


def main(
    results_dir: Path,
    out_dir: Path,
    *,
    echo: Callable[[str], None] | None = print,
) -> list[Path]:
    """Write every paper table (``.md``, ``.csv``, ``.tex``), ``tables.md``, sweeps and skipped.

    The paper tables read only :func:`paper_records` (``<results>/paper`` when there is one), so
    a user's own runs elsewhere in the folder (``results/runs``: a rerun of seed 0 three times)
    never enter them as seeds. Those runs get the same set of tables of their own, under
    ``<out_dir>/runs/`` (:data:`RUNS_DIR`), written only when there are any.

    Args:
        results_dir: folder searched (recursively) for ``summary.json`` files.
        out_dir: where the tables go (``results/tables``); created when missing.
        echo: called with one line per skipped run and one per file written; None for silence.

    Returns:
        The paths written, in a fixed order: the paper tables, then those of the other runs.
    """
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    runs, skipped = collect_runs(results_dir)
    records = paper_records(results_dir)
    if records == results_dir:
        paper_runs, paper_skipped, other_runs, other_skipped = runs, skipped, [], []
    else:
        paper_runs = [run for run in runs if run.path.is_relative_to(records)]
        paper_skipped = [item for item in skipped if item.path.is_relative_to(records)]
        other_runs = [run for run in runs if not run.path.is_relative_to(records)]
        other_skipped = [item for item in skipped if not item.path.is_relative_to(records)]
    written = _write_set(paper_runs, paper_skipped, results_dir, out_dir, _TITLE)
    runs_dir = out_dir / RUNS_DIR
    if other_runs or other_skipped:
        written += _write_set(other_runs, other_skipped, results_dir, runs_dir, _RUNS_TITLE)
    if echo is not None:
        where = f" under {PAPER_DIR}/" if records != results_dir else ""
        echo(f"tables: {len(paper_runs)} completed run(s){where}, {len(paper_skipped)} skipped")
        if other_runs or other_skipped:
            echo(
                f"tables: {len(other_runs)} completed run(s) outside {PAPER_DIR}/, "
                f"{len(other_skipped)} skipped: their own tables in {runs_dir}"
            )
        for item in skipped:
            echo(f"  skipped {_relative(item.path, results_dir)}: {item.reason}")
        echo(f"tables: wrote {len(written)} files to {out_dir}")
    return written
