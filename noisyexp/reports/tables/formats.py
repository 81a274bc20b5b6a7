"""A table as Markdown, CSV and LaTeX, all three from the same rows (:func:`.rows.table_rows`).

Markdown and LaTeX show the display text of the rows; CSV gives the raw numbers (rounded to 10
digits, empty when absent) for scripts, so no one parses the text back into numbers.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from noisyexp.reports.intervals import Comparison
from noisyexp.reports.records import Group, Skipped
from noisyexp.reports.stats import SolvedCount
from noisyexp.reports.tables.header import header_lines, run_budget, statistics_line
from noisyexp.reports.tables.rows import column_names, display_row, table_rows

__all__ = ["render_markdown", "render_csv", "render_latex"]


def _seeds(group: Group) -> str:
    return ",".join(str(s) for s in sorted({run.summary["seed"] for run in group.runs}, key=str))


def render_markdown(table: dict[str, Any], groups: list[Group], skipped: list[Skipped] = ()) -> str:
    """The table as a Markdown section: title, budget header, the table, notes, skipped runs."""
    lines = [f"## {table['title']}", "", f"Paper: {table['source']}.", ""]
    lines += [f"- {line}" for line in [*header_lines(groups), statistics_line(table)]]
    columns = column_names(table)
    align = ["---"] * 4 + ["---:"] * (len(columns) - 4)
    lines += ["", "| " + " | ".join(columns) + " |", "|" + "|".join(align) + "|"]
    for row in table_rows(table, groups):
        cells = [c.replace("|", "\\|") for c in display_row(table, row)]
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
    for row in table_rows(table, groups):
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
            "; ".join(sorted({run_budget(r) for r in runs})),
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
    columns = column_names(table)
    spec = "llll" + "r" * (len(columns) - 4)
    caption = f"{table['title']}. Paper: {table['source']}. " + " ".join(
        line.rstrip(".") + "." for line in [*header_lines(groups), statistics_line(table)]
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
    for row in table_rows(table, groups):
        lines.append(" & ".join(_latex_escape(c) for c in display_row(table, row)) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"
