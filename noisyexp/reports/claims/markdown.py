"""The claims report as Markdown: ``claims.md`` (the rule, a line per claim and profile, the
ablations, what is not encoded) and ``claims_summary.md`` (a row per claim, for the README).

Deterministic (no path, no time), so the committed report can be checked against the records.
"""

from __future__ import annotations

from typing import Any

from noisyexp.reports.claims.coverage import SweepCoverage
from noisyexp.reports.claims.data import Rule, claim_metric
from noisyexp.reports.claims.text import (
    DASH,
    budget_text,
    cell_text,
    effect_text,
    fmt,
    ours_text,
    p_text,
    paper_text,
    rows_text,
    verdict_text,
)
from noisyexp.reports.claims.verdicts import VERDICTS, Judgement
from noisyexp.reports.intervals import CONFIDENCE, Stat
from noisyexp.reports.stats import SOLVED_BELOW

__all__ = ["render_markdown", "render_summary"]


def _header(rule: Rule) -> list[str]:
    level = f"{CONFIDENCE:.0%}"
    alpha, n = f"{rule.alpha:g}", rule.min_n
    return [
        "# The paper's claims against our records",
        "",
        "Generated from the run records alone (`make readme`: those under `results/paper/`) and "
        "the claims in `noisyexp/paper/claims.yaml`; do not edit. The tables these numbers "
        "come from are in `results/tables/`.",
        "",
        "Verdict rule (two-sided tests, no correction for the many claims; n = runs with a "
        "value per compared row, each a seed of the preset run unchanged under one profile):",
        "",
        f"- **reproduced**: the effect is in the paper's direction with p < {alpha}, at "
        f"n ≥ {n} in every compared row;",
        f"- **refuted**: the effect is in the opposite direction with p < {alpha}, at n ≥ {n} "
        f"(for Welch's test the same as the paper's direction being excluded by the {level} "
        f"interval of the difference);",
        f"- **inconclusive**: anything else: p ≥ {alpha}, fewer than {n} runs in a row (one "
        f"seed is an anecdote, whatever its value), no test possible (std 0: every run of a row "
        f"ended at the same value), the metric not recorded, or steps to a threshold where "
        f"some runs of a row never got there (censored: the others are a biased sample);",
        "- **not run**: a compared row has no records under that profile; the command that "
        "runs it is given (it skips the runs that completed).",
        "",
        f"Tests: Welch = the difference of means (claim row − baseline) with its {level} "
        f"Welch interval and Welch's t-test; Fisher = the solved counts (a run is solved when "
        f"its value is below the claim's threshold: {SOLVED_BELOW:g} % test error on Table 5, "
        f"NLL 0.05 on the NTM) with Fisher's exact test, for outcomes that are solved or not, "
        f"where a mean between the two modes describes no run; level = one row's {level} "
        f"t-interval against a threshold (reproduced when it lies wholly past it).",
        "",
        "One line per claim and profile: the claim's own profile (the budget nearest the "
        "paper's) always, and every other profile with records of a compared row (unless the "
        "claim's metric means something at its own budget only), so budgets are never mixed. "
        "Ablations: each ablation row (one part of the unit) against the "
        "claim's baseline by the same test and rule; *reproduced* there says that part alone "
        "gives the paper's effect. A line that names its own pair (the noise on top of "
        "α > 1: NAN against NAN with c = 0) asks whether what the two rows differ in adds "
        "to the effect; *inconclusive* there is no evidence either way, not evidence of none.",
        "",
    ]


def render_markdown(
    rule: Rule,
    results: list[dict[str, Any]],
    not_encoded: list,
    covered: list[SweepCoverage] | None = None,
) -> str:
    """The report: header with the rule, the claims table, the ablations, what is not encoded,
    and (``covered``) which sweeps the records hold."""
    counts = {verdict: 0 for verdict in VERDICTS}
    for result in results:
        for line in result["lines"]:
            counts[line["judgement"].verdict] += 1
    lines = _header(rule)
    lines += [
        "Lines by verdict: " + ", ".join(f"{v} {counts[v]}" for v in VERDICTS) + ".",
        "",
        "| Claim | Paper source | Profile | Rows (n) | Metric | Ours | Effect [95% CI], p "
        "| Paper | Budget: ours / paper | Verdict | Ablations |",
        "|---|---|---|---|---|---:|---:|---:|---|---|---|",
    ]
    ablation_lines = []
    for result in results:
        claim = result["claim"]
        metric = claim_metric(claim)
        decimals = metric.get("decimals", 3)
        for line in result["lines"]:
            judgement: Judgement = line["judgement"]
            runs = [run for side in judgement.sides for run in side["runs"]]
            ours_budget = budget_text(runs) if runs else DASH
            summary = "; ".join(
                f"{ablation['label']}: {ab.verdict}" for ablation, ab in line["ablations"]
            )
            text = claim["text"] + (f" ({claim['note']})" if claim.get("note") else "")
            cells = [
                f"{text} [`{claim['id']}`]",
                claim["source"],
                line["profile"] or DASH,
                rows_text(judgement),
                f"{metric['label']} (paper: {claim['direction']})",
                ours_text(claim, judgement, decimals),
                effect_text(claim, judgement, decimals),
                paper_text(claim, decimals),
                f"{ours_budget} / {claim.get('paper_budget', DASH)}",
                verdict_text(judgement),
                summary or DASH,
            ]
            lines.append("| " + " | ".join(cell_text(c) for c in cells) + " |")
            for ablation, ab in line["ablations"]:
                cells = [
                    f"`{claim['id']}`",
                    line["profile"] or DASH,
                    ablation["label"],
                    rows_text(ab),
                    ours_text(claim, ab, decimals),
                    effect_text(claim, ab, decimals),
                    verdict_text(ab),
                ]
                ablation_lines.append("| " + " | ".join(cell_text(c) for c in cells) + " |")
    lines += ["", "## Ablations: which part of the unit carries the effect", ""]
    if ablation_lines:
        lines += [
            "| Claim | Profile | Ablation | Rows (n) | Ours | Effect [95% CI], p | Verdict |",
            "|---|---|---|---|---:|---:|---|",
            *ablation_lines,
        ]
    else:
        lines.append("No claim names ablation rows.")
    lines += ["", "## Claims the rule cannot judge from these records", ""]
    lines += [f"- {item['text']}: {item['why']}." for item in not_encoded] or ["None."]
    if covered:
        lines += ["", "## What the records cover", ""]
        names = list(dict.fromkeys(c.profile for c in covered))
        listed = ", ".join(f"`{n}`" for n in names[:-1]) + (" and " if len(names) > 1 else "")
        lines += [
            f"Every sweep the {listed}`{names[-1] if names else ''}` profiles ask for, and the "
            "completed runs the records hold of it; `noisyexp paper` runs the rest (it skips "
            "completed runs; a sweep that picks a value from a grid waits for the grid).",
            "",
            "| Profile | Sweep | Runs done / asked | Status | Command for the rest |",
            "|---|---|---:|---|---|",
            *(
                f"| {c.profile} | {c.sweep} | {c.done} / {c.asked} | {c.status} | "
                + ("–" if c.status == "done" else f"`{c.command}`")
                + " |"
                for c in covered
            ),
        ]
    return "\n".join(lines) + "\n"


def _evidence_text(claim: dict[str, Any], profile: str | None, judgement: Judgement) -> str:
    """One line of a claim in a few words: profile, n per row, the numbers, the test's p."""
    decimals = claim_metric(claim).get("decimals", 3)
    stats: list[Stat] = [side["stat"] for side in judgement.sides]
    where = f"{profile or DASH}, n = {' vs '.join(str(stat.n) for stat in stats)}"
    if claim["test"] == "fisher" and judgement.p is not None:
        counts = " vs ".join(f"{s['solved']}/{s['stat'].n}" for s in judgement.sides)
        medians = " vs ".join(fmt(stat.median, decimals) for stat in stats)
        return f"{where}: solved {counts} (median {medians}), Fisher {p_text(judgement.p)}"
    ours = ours_text(claim, judgement, decimals)
    if claim["test"] == "level":
        return f"{where}: {ours} against {claim['threshold']:g}"
    comp = judgement.comparison
    if comp is not None and comp.p is not None:
        return f"{where}: {ours}, Welch {p_text(comp.p)}"
    return f"{where}: {ours}"


def render_summary(rule: Rule, results: list[dict[str, Any]]) -> str:
    """The claims in one short table: one row per claim, its verdict per profile, the evidence.

    The verdicts are :func:`render_markdown`'s, its own profile first; a profile without
    records says "not run" and gives no evidence. The rule is stated in one line above the table.
    """
    counts = {verdict: 0 for verdict in VERDICTS}
    rows = []
    for result in results:
        claim = result["claim"]
        verdicts, evidence = [], []
        for index, line in enumerate(result["lines"]):
            judgement: Judgement = line["judgement"]
            if index == 0:
                counts[judgement.verdict] += 1
            verdict = judgement.verdict
            if verdict in ("reproduced", "refuted"):
                verdict = f"**{verdict}**"
            verdicts.append(f"{verdict} ({line['profile'] or DASH})")
            if judgement.verdict != "not run":
                evidence.append(_evidence_text(claim, line["profile"], judgement))
        cells = [claim["text"], "; ".join(verdicts), "; ".join(evidence) or DASH]
        rows.append("| " + " | ".join(cell_text(c) for c in cells) + " |")
    alpha, n = f"{rule.alpha:g}", rule.min_n
    head = [
        f"Each claim under its own profile (the budget nearest the paper's; other profiles with "
        f"records after it): **reproduced** or **refuted** = p < {alpha} in or against the "
        f"paper's direction with n ≥ {n} runs per row; inconclusive = anything else; not run = "
        f"no records. Claims by verdict, own profile: "
        + ", ".join(f"{v} {counts[v]}" for v in VERDICTS)
        + ".",
        "",
        "| Claim | Verdict (profile) | Evidence: ours (claim row vs baseline) |",
        "|---|---|---|",
    ]
    return "\n".join(head + rows) + "\n"
