"""Writing one set of tables for one set of runs: every paper table in the three formats,
``tables.md`` (all of them), ``sweeps.md`` and ``skipped.md``.

The paper records and the ad-hoc runs outside them get the same set, each in its own folder, so
an ad-hoc rerun is never a seed of a paper row nor overwrites a paper table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from noisyexp.core.atomic import write_text_atomic
from noisyexp.paper import paper_tables
from noisyexp.reports.records import Group, Run, Skipped, group_runs
from noisyexp.reports.tables.formats import render_csv, render_latex, render_markdown

__all__ = ["relative_path", "write_table_set"]


def relative_path(path: Path, root: Path) -> str:
    """``path`` under ``root`` (POSIX), so the output names no folder outside the results."""
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
        lines.append(f"| {relative_path(item.path, root)} | {item.reason.replace('|', '/')} |")
    for run in orphans:
        where = relative_path(run.path / "summary.json", root)
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


def write_table_set(
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
