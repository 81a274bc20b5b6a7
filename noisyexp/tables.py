"""Paper tables from run summaries: ours (mean ± std over seeds) beside the paper's numbers.

``noisyexp tables`` reads every completed run under a results folder (:mod:`noisyexp.runs` finds,
groups and aggregates them) and writes each table as Markdown, CSV and LaTeX. Nothing here is
typed in by hand: our numbers come from the runs, the paper's from ``paper/reference.json``.

The paper's number stands only beside the group that ran the preset unchanged; sweep groups and
presets the paper does not have show "–" for the paper; paper rows without runs show "missing".
Output is deterministic and written atomically, so a reader never sees half a table.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from noisyexp.atomic import write_text_atomic
from noisyexp.paper import paper_tables
from noisyexp.runs import (
    Group,
    Run,
    Skipped,
    Stat,
    aggregate,
    collect_runs,
    group_runs,
    metric_value,
)

__all__ = ["render_markdown", "render_csv", "render_latex", "main"]

_DASH = "–"


# ----------------------------------------------------------------------------------------------
# the table as cells


@dataclass
class _Cell:
    """One metric of one row, formatted and raw."""

    stat: Stat
    paper: float | None
    paper_text: str
    diff: float | None


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
    if not group.runs:
        return "missing"
    stat = cell.stat
    if stat.mean is None:
        return f"n/a (0/{stat.total})" if stat.total else "n/a"
    text = f"{_fmt(stat.mean, decimals)} ± {_fmt(stat.std, decimals)}"
    return text if stat.n == stat.total else f"{text} ({stat.n}/{stat.total})"


def _seeds(group: Group) -> str:
    return ",".join(str(s) for s in sorted({run.summary["seed"] for run in group.runs}, key=str))


def _table_rows(table: dict[str, Any], groups: list[Group]) -> list[dict[str, Any]]:
    """Rows as plain dicts: display text and raw numbers, shared by the three renderers."""
    rows = []
    for group in groups:
        cells = [_cells(group, metric) for metric in table["metrics"]]
        status = "missing" if not group.runs else ("paper" if group.paper_row else "extra")
        rows.append({"group": group, "cells": cells, "status": status})
    return rows


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
    for metric in table["metrics"]:
        names += [f"{metric['label']} (ours)", f"{metric['label']} (paper)", f"{metric['label']} Δ"]
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
    for metric, cell in zip(table["metrics"], row["cells"], strict=True):
        decimals = metric.get("decimals", 3)
        cells += [
            _ours_text(group, cell, decimals),
            cell.paper_text,
            _fmt(cell.diff, decimals, sign=True),
        ]
    return cells


def render_markdown(table: dict[str, Any], groups: list[Group], skipped: list[Skipped] = ()) -> str:
    """The table as a Markdown section: title, budget header, the table, notes, skipped runs."""
    lines = [f"## {table['title']}", "", f"Paper: {table['source']}.", ""]
    lines += [f"- {line}" for line in _header_lines(groups)]
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
    """The table as CSV: one line per row, raw numbers (empty when absent) and the budget."""
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
    ]
    for metric in table["metrics"]:
        header += [f"{metric['key']}:{part}" for part in ("mean", "std", "n", "paper", "diff")]
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
        ]
        for cell in row["cells"]:
            line += [
                _raw(cell.stat.mean),
                _raw(cell.stat.std),
                cell.stat.n,
                _raw(cell.paper),
                _raw(cell.diff),
            ]
        writer.writerow(line)
    return buffer.getvalue()


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
}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(char, char) for char in text)


def render_latex(table: dict[str, Any], groups: list[Group]) -> str:
    """The table as a LaTeX ``table`` float (booktabs), the budget in the caption."""
    columns = _columns(table)
    spec = "llll" + "r" * (len(columns) - 4)
    caption = f"{table['title']}. Paper: {table['source']}. " + " ".join(
        line.rstrip(".") + "." for line in _header_lines(groups)
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


def main(
    results_dir: Path,
    out_dir: Path,
    *,
    echo: Callable[[str], None] | None = print,
) -> list[Path]:
    """Write every paper table (``.md``, ``.csv``, ``.tex``), ``tables.md``, sweeps and skipped.

    Args:
        results_dir: folder searched (recursively) for ``summary.json`` files.
        out_dir: where the tables go (``results/tables``); created when missing.
        echo: called with one line per skipped run and one per file written; None for silence.

    Returns:
        The paths written, in a fixed order.
    """
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    tables = paper_tables()
    runs, skipped = collect_runs(results_dir)
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
    title = "# Results: ours beside the paper\n\nGenerated by `noisyexp tables`; do not edit.\n\n"
    written.append(write_text_atomic(out_dir / "tables.md", title + "\n".join(sections)))
    written.append(write_text_atomic(out_dir / "sweeps.md", _sweeps_markdown(tables, grouped)))
    written.append(
        write_text_atomic(out_dir / "skipped.md", _skipped_markdown(skipped, orphans, results_dir))
    )
    if echo is not None:
        echo(f"tables: {len(runs)} completed run(s), {len(skipped)} skipped")
        for item in skipped:
            echo(f"  skipped {_relative(item.path, results_dir)}: {item.reason}")
        echo(f"tables: wrote {len(written)} files to {out_dir}")
    return written
