"""The paper's claims against the run records: one verdict per claim and profile, by one rule.

Everything about the claims lives in ``noisyexp/paper/claims.yaml`` (their text, source, table,
rows, metric, direction, test, budget, ablation rows) and the verdict rule (``alpha``, ``min_n``)
with them; this module is generic: it reads the records, compares the rows a claim names and applies
the rule, so a claim is added or changed in the data file only. The metric readers come from the
claim's paper table (``paper/tables/<id>.yaml``), as in the tables, so a claim reads the number the
table shows.

Which runs: a row is an experiment preset run unchanged (no overrides beyond a profile's budget,
as a paper row of the tables) under one profile. A claim is judged under its own ``profile``
(the budget nearest the paper's; "not run" with the command when it has none) and under every
other profile that has records of a compared row, each a line of its own: budgets are not mixed.

Tests (:func:`judge`): ``welch``, the difference of means with its 95 % Welch interval and
Welch's two-sided p (:func:`noisyexp.reports.records.welch`); ``fisher``, for outcomes that are
solved or not (Table 5, the NTM), the solved counts with Fisher's exact two-sided p
(:func:`noisyexp.reports.stats.fisher_exact`); ``level``, one row's 95 % t-interval against a
threshold. Output (:func:`main`): ``claims.md`` and ``claims.json``, and ``claims_summary.md``
(one row per claim, pasted into the README by ``make readme``), deterministic (no path, no
time), so the committed report can be checked against the records.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from noisyexp.core.atomic import write_text_atomic
from noisyexp.core.errors import ConfigError
from noisyexp.paper import paper_tables
from noisyexp.reports.records import (
    CONFIDENCE,
    Comparison,
    Run,
    Stat,
    aggregate,
    collect_runs,
    metric_value,
    override_key,
    welch,
)
from noisyexp.reports.stats import SOLVED_BELOW, fisher_exact
from noisyexp.reports.tables import paper_records

__all__ = [
    "CLAIMS_FILE",
    "VERDICTS",
    "Rule",
    "Judgement",
    "load_claims",
    "index_runs",
    "judge",
    "run_command",
    "evaluate",
    "render_markdown",
    "render_json",
    "render_summary",
    "main",
]

CLAIMS_FILE = "claims.yaml"
#: the verdicts, in the order the report counts them
VERDICTS = ("reproduced", "refuted", "inconclusive", "not run")
_TESTS = ("welch", "fisher", "level")
_DASH = "–"


@dataclass(frozen=True)
class Rule:
    """The verdict rule: a p-value below ``alpha`` counts, at ``min_n`` runs per row or more."""

    alpha: float = 0.05
    min_n: int = 3


@dataclass
class Judgement:
    """The outcome of one comparison (a claim's, or an ablation's) under one profile.

    ``sides``: per compared row, ``{"experiment", "runs", "stat"}`` (and ``"solved"``, the count
    of runs below the threshold, for a Fisher test); ``comparison``: Welch's, for that test;
    ``p``: the test's p-value when there is one; ``commands``: what runs a missing row.
    """

    verdict: str
    reason: str
    sides: list[dict[str, Any]] = field(default_factory=list)
    comparison: Comparison | None = None
    p: float | None = None
    commands: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------
# the data file


def _read_claims_text() -> str:
    return resources.files("noisyexp.paper").joinpath(CLAIMS_FILE).read_text(encoding="utf-8")


@functools.cache
def _shipped() -> dict[str, Any]:
    import yaml

    return yaml.safe_load(_read_claims_text())


def load_claims(data: dict[str, Any] | None = None) -> tuple[Rule, list[dict[str, Any]], list]:
    """The rule, the claims and the claims not encoded, checked against the paper tables.

    Args:
        data: a parsed claims file; None for the shipped ``noisyexp/paper/claims.yaml``.

    Raises:
        ConfigError: an unknown table, metric, test or direction, or a claim missing a key.
    """
    data = _shipped() if data is None else data
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise ConfigError(f"{CLAIMS_FILE}: needs a 'claims' list")
    rule_data = data.get("rule") or {}
    rule = Rule(float(rule_data.get("alpha", 0.05)), int(rule_data.get("min_n", 3)))
    tables = {table["id"]: table for table in paper_tables()}
    ids: set[str] = set()
    for claim in data["claims"]:
        where = f"{CLAIMS_FILE}: claim {claim.get('id')!r}"
        missing = [key for key in _REQUIRED if key not in claim]
        if missing:
            raise ConfigError(f"{where} lacks {', '.join(missing)}")
        if claim["id"] in ids:
            raise ConfigError(f"{where} is not unique")
        ids.add(claim["id"])
        if claim["table"] not in tables:
            raise ConfigError(f"{where}: no table {claim['table']!r} among the paper tables")
        keys = [metric["key"] for metric in tables[claim["table"]]["metrics"]]
        if claim["metric"] not in keys:
            raise ConfigError(f"{where}: table {claim['table']} has no metric {claim['metric']!r}")
        if claim["test"] not in _TESTS:
            raise ConfigError(f"{where}: test must be one of {', '.join(_TESTS)}")
        if claim["direction"] not in ("lower", "higher"):
            raise ConfigError(f"{where}: direction must be lower or higher")
        count = 1 if claim["test"] == "level" else 2
        rows = claim["rows"]
        if not isinstance(rows, list) or len(rows) != count:
            raise ConfigError(f"{where}: a {claim['test']} claim compares {count} row(s)")
        if claim["test"] == "level" and "threshold" not in claim:
            raise ConfigError(f"{where}: a level claim needs a threshold")
        if claim["test"] == "fisher" and claim["direction"] != "lower":
            raise ConfigError(f"{where}: a fisher claim counts runs below a threshold: lower")
        for ablation in claim.get("ablations") or []:
            if "row" not in ablation or "label" not in ablation:
                raise ConfigError(f"{where}: every ablation needs a row and a label")
    return rule, data["claims"], list(data.get("not_encoded") or [])


_REQUIRED = ("id", "text", "source", "table", "rows", "metric", "direction", "test", "profile")


def _metric(claim: dict[str, Any]) -> dict[str, Any]:
    table = next(t for t in paper_tables() if t["id"] == claim["table"])
    return next(m for m in table["metrics"] if m["key"] == claim["metric"])


def _paper_value(claim: dict[str, Any], experiment: str) -> float | None:
    table = next(t for t in paper_tables() if t["id"] == claim["table"])
    row = next((r for r in table["rows"] if r["experiment"] == experiment), None)
    value = (row or {}).get("paper", {}).get(claim["metric"])
    return float(value) if isinstance(value, (int, float)) else None


# ----------------------------------------------------------------------------------------------
# the runs


def index_runs(runs: Iterable[Run]) -> dict[tuple[str, str | None], list[Run]]:
    """``{(experiment, profile): runs}`` of the runs that ran their preset unchanged.

    Overrides that are a profile's budget or bookkeeping do not count as changes (the same rule
    as the tables' paper rows: :func:`noisyexp.reports.records.override_key`), so a sweep point
    or a changed learning rate is never a seed of the row.
    """
    index: dict[tuple[str, str | None], list[Run]] = {}
    for run in runs:
        if not run.experiment:
            continue
        if override_key(run.summary.get("overrides", []), profiled=bool(run.profile)):
            continue
        index.setdefault((run.experiment, run.profile), []).append(run)
    return index


@functools.cache
def _profile_sweeps(profile: str) -> dict[str, list[str]]:
    """``{sweep: experiments}`` of a shipped profile; empty for one that is not shipped."""
    from noisyexp.paper import reproduce

    if profile not in reproduce.available_profiles():
        return {}
    loaded = reproduce.load_profile(profile)
    return {name: list(plan.experiments) for name, plan in loaded.sweeps.items()}


def run_command(experiment: str, profile: str | None) -> str:
    """The command that runs ``experiment`` under ``profile``: its ``noisyexp paper`` sweep."""
    for sweep, experiments in _profile_sweeps(profile or "").items():
        if experiment in experiments:
            return f"noisyexp paper --profile {profile} --only {sweep}"
    return f"noisyexp train -m experiment={experiment} seed=1,2,3 (no {profile} sweep runs it)"


# ----------------------------------------------------------------------------------------------
# judging


def _sign(direction: str) -> int:
    return -1 if direction == "lower" else 1


def judge(
    test: str,
    sides: list[dict[str, Any]],
    *,
    direction: str,
    rule: Rule,
    metric: dict[str, Any],
    solved_below: float = SOLVED_BELOW,
    threshold: float | None = None,
    profile: str | None = None,
) -> Judgement:
    """Judge one comparison: ``sides`` are ``{"experiment", "runs"}``, claim row first.

    The rule (stated in the report's header): not run when a row has no runs; inconclusive when a
    row has fewer than ``rule.min_n`` values or no test is possible; reproduced when the effect
    is in the paper's direction with p < ``rule.alpha``; refuted when it is in the opposite one
    with p < ``rule.alpha``; inconclusive otherwise. A level test: reproduced when the row's
    t-interval lies wholly on the paper's side of the threshold, refuted when wholly on the other.
    """
    sides = [dict(side) for side in sides]
    missing = [side["experiment"] for side in sides if not side["runs"]]
    if missing:
        commands = sorted({run_command(name, profile) for name in missing})
        return Judgement("not run", f"no records of {', '.join(missing)}", sides, commands=commands)
    for side in sides:
        values = [metric_value(run, metric) for run in side["runs"]]
        side["stat"] = aggregate(values)
        if test == "fisher":
            side["solved"] = sum(
                1 for value in values if value is not None and value < solved_below
            )
    stats = [side["stat"] for side in sides]
    short = [f"{side['experiment']} n = {side['stat'].n}" for side in sides]
    if any(stat.n == 0 for stat in stats):
        return Judgement("inconclusive", f"metric not recorded ({'; '.join(short)})", sides)
    if test == "level":
        return _judge_level(sides, direction, rule, threshold)
    if test == "fisher":
        (a, b), (na, nb) = [s["solved"] for s in sides], [s.n for s in stats]
        p = fisher_exact(a, na, b, nb)
        # the paper's direction: the claim row solves more often (its metric lower)
        verdict, reason = _by_rule(a / na - b / nb, p, stats, rule, "Fisher")
        return Judgement(verdict, reason, sides, p=p)
    comparison = welch(stats[0], stats[1])
    if comparison.p is None:
        reason = f"no Welch test ({comparison.why})"
        if any(stat.n < rule.min_n for stat in stats):
            reason = _too_few(stats, rule)
        return Judgement("inconclusive", reason, sides, comparison)
    verdict, reason = _by_rule(
        comparison.diff * _sign(direction), comparison.p, stats, rule, "Welch"
    )
    return Judgement(verdict, reason, sides, comparison, comparison.p)


def _by_rule(
    toward_paper: float, p: float, stats: list[Stat], rule: Rule, name: str
) -> tuple[str, str]:
    """Verdict from the effect's sign in the paper's direction and the p-value."""
    if any(stat.n < rule.min_n for stat in stats):
        return "inconclusive", _too_few(stats, rule)
    if p < rule.alpha and toward_paper > 0:
        return "reproduced", f"{name} p < {rule.alpha:g}, the paper's direction"
    if p < rule.alpha and toward_paper < 0:
        return "refuted", f"{name} p < {rule.alpha:g}, against the paper's direction"
    if toward_paper == 0:
        return "inconclusive", "no difference"
    return "inconclusive", f"{name} p = {p:.3f} ≥ {rule.alpha:g}"


def _too_few(stats: list[Stat], rule: Rule) -> str:
    ns = " and ".join(str(stat.n) for stat in stats)
    return f"fewer than {rule.min_n} runs in a row: n = {ns}"


def _judge_level(
    sides: list[dict[str, Any]], direction: str, rule: Rule, threshold: float | None
) -> Judgement:
    stat: Stat = sides[0]["stat"]
    if stat.n < rule.min_n or stat.ci_low is None or stat.ci_high is None:
        return Judgement("inconclusive", _too_few([stat], rule), sides)
    assert threshold is not None
    above, below = stat.ci_low > threshold, stat.ci_high < threshold
    level = f"{CONFIDENCE:.0%}"
    if (above and direction == "higher") or (below and direction == "lower"):
        return Judgement("reproduced", f"the {level} interval is past {threshold:g}", sides)
    if above or below:
        return Judgement("refuted", f"the {level} interval is short of {threshold:g}", sides)
    return Judgement("inconclusive", f"the {level} interval contains {threshold:g}", sides)


def _profiles(claim: dict[str, Any], index: dict[tuple[str, str | None], list[Run]]) -> list:
    """The claim's own profile, then every other profile with records of a compared row."""
    others = {profile for (experiment, profile) in index if experiment in claim["rows"]}
    others.discard(claim["profile"])
    return [claim["profile"], *sorted(others, key=lambda p: p or "")]


def _judge_rows(
    claim: dict[str, Any],
    rows: list[str],
    profile: str | None,
    index: dict[tuple[str, str | None], list[Run]],
    rule: Rule,
) -> Judgement:
    sides = [{"experiment": row, "runs": index.get((row, profile), [])} for row in rows]
    return judge(
        claim["test"],
        sides,
        direction=claim["direction"],
        rule=rule,
        metric=_metric(claim),
        solved_below=float(claim.get("solved_below", SOLVED_BELOW)),
        threshold=claim.get("threshold"),
        profile=profile,
    )


def evaluate(
    claim: dict[str, Any], index: dict[tuple[str, str | None], list[Run]], rule: Rule
) -> list[dict[str, Any]]:
    """One line per profile of the claim: its judgement and those of its ablations.

    Args:
        claim: one claim of the claims file.
        index: the runs, as :func:`index_runs` gives them.
        rule: the verdict rule.

    Returns:
        ``[{"profile", "judgement", "ablations": [(ablation, judgement), ...]}]``.
    """
    lines = []
    for profile in _profiles(claim, index):
        judgement = _judge_rows(claim, claim["rows"], profile, index, rule)
        ablations = []
        for ablation in claim.get("ablations") or []:
            against = ablation.get("against", claim["rows"][-1])
            rows = [ablation["row"], against]
            ablations.append((ablation, _judge_rows(claim, rows, profile, index, rule)))
        lines.append({"profile": profile, "judgement": judgement, "ablations": ablations})
    return lines


# ----------------------------------------------------------------------------------------------
# text


def _fmt(value: float | None, decimals: int, sign: bool = False) -> str:
    if value is None:
        return _DASH
    text = f"{value:+.{decimals}f}" if sign else f"{value:.{decimals}f}"
    return text.lstrip("+-") if float(text) == 0 else text


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _stat_text(stat: Stat, decimals: int) -> str:
    if stat.mean is None:
        return "n/a"
    if stat.n == 1:
        return f"{_fmt(stat.mean, decimals)} (n = 1)"
    return f"{_fmt(stat.mean, decimals)} ± {_fmt(stat.std, decimals)}"


def _rows_text(judgement: Judgement) -> str:
    parts = []
    for side in judgement.sides:
        stat = side.get("stat")
        n = stat.n if stat is not None else len(side["runs"])
        parts.append(f"{side['experiment']} (n = {n})")
    return " vs ".join(parts)


def _ours_text(claim: dict[str, Any], judgement: Judgement, decimals: int) -> str:
    if judgement.verdict == "not run":
        return _DASH
    stats = [side["stat"] for side in judgement.sides]
    if claim["test"] == "fisher":
        return "median " + " vs ".join(_fmt(stat.median, decimals) for stat in stats)
    if claim["test"] == "level":
        stat = stats[0]
        interval = f" [{_fmt(stat.ci_low, decimals)}, {_fmt(stat.ci_high, decimals)}]"
        return _stat_text(stat, decimals) + (interval if stat.ci_low is not None else "")
    return " vs ".join(_stat_text(stat, decimals) for stat in stats)


def _effect_text(claim: dict[str, Any], judgement: Judgement, decimals: int) -> str:
    if judgement.verdict == "not run" or not judgement.sides or "stat" not in judgement.sides[0]:
        return _DASH
    if claim["test"] == "fisher":
        if "solved" not in judgement.sides[0] or judgement.p is None:
            return _DASH
        counts = " vs ".join(f"{s['solved']}/{s['stat'].n}" for s in judgement.sides)
        return f"solved {counts}, Fisher {_p_text(judgement.p)}"
    if claim["test"] == "level":
        return f"threshold {claim['threshold']:g}"
    comp = judgement.comparison
    if comp is None or comp.diff is None:
        return _DASH
    diff = _fmt(comp.diff, decimals, sign=True)
    if comp.p is None:
        return f"{diff} ({comp.why})"
    low, high = _fmt(comp.low, decimals, sign=True), _fmt(comp.high, decimals, sign=True)
    return f"{diff} [{low}, {high}], {_p_text(comp.p)}"


def _paper_text(claim: dict[str, Any], decimals: int) -> str:
    values = [_paper_value(claim, row) for row in claim["rows"]]
    if any(value is None for value in values):
        return _DASH
    if len(values) == 1:
        return _fmt(values[0], decimals)
    effect = _fmt(values[0] - values[1], decimals, sign=True)
    return f"{_fmt(values[0], decimals)} vs {_fmt(values[1], decimals)} ({effect})"


def _budget(runs: Iterable[Run]) -> str:
    budgets = set()
    for run in runs:
        trainer = (run.summary.get("config") or {}).get("trainer") or {}
        steps, epochs = trainer.get("max_steps"), trainer.get("max_epochs")
        if steps is not None:
            budgets.add(f"{steps:,} steps")
        elif epochs is not None:
            budgets.add(f"{epochs:g} epochs")
        else:
            budgets.add("budget not recorded")
    return ", ".join(sorted(budgets)) if budgets else _DASH


def _verdict_text(judgement: Judgement) -> str:
    if judgement.verdict == "not run":
        return "not run: " + "; ".join(f"`{command}`" for command in judgement.commands)
    if judgement.verdict in ("reproduced", "refuted"):
        return f"**{judgement.verdict}** ({judgement.reason})"
    return f"{judgement.verdict} ({judgement.reason})"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


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
        f"ended at the same value), or the metric not recorded;",
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
        "paper's) always, and every other profile with records of a compared row, so budgets "
        "are never mixed. Ablations: each ablation row (one part of the unit) against the "
        "claim's baseline by the same test and rule; *reproduced* there says that part alone "
        "gives the paper's effect.",
        "",
    ]


def render_markdown(rule: Rule, results: list[dict[str, Any]], not_encoded: list) -> str:
    """The report: header with the rule, the claims table, the ablations, what is not encoded."""
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
        metric = _metric(claim)
        decimals = metric.get("decimals", 3)
        for line in result["lines"]:
            judgement: Judgement = line["judgement"]
            runs = [run for side in judgement.sides for run in side["runs"]]
            ours_budget = _budget(runs) if runs else _DASH
            summary = "; ".join(
                f"{ablation['label']}: {ab.verdict}" for ablation, ab in line["ablations"]
            )
            text = claim["text"] + (f" ({claim['note']})" if claim.get("note") else "")
            cells = [
                f"{text} [`{claim['id']}`]",
                claim["source"],
                line["profile"] or _DASH,
                _rows_text(judgement),
                f"{metric['label']} (paper: {claim['direction']})",
                _ours_text(claim, judgement, decimals),
                _effect_text(claim, judgement, decimals),
                _paper_text(claim, decimals),
                f"{ours_budget} / {claim.get('paper_budget', _DASH)}",
                _verdict_text(judgement),
                summary or _DASH,
            ]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
            for ablation, ab in line["ablations"]:
                cells = [
                    f"`{claim['id']}`",
                    line["profile"] or _DASH,
                    ablation["label"],
                    _rows_text(ab),
                    _ours_text(claim, ab, decimals),
                    _effect_text(claim, ab, decimals),
                    _verdict_text(ab),
                ]
                ablation_lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
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
    return "\n".join(lines) + "\n"


def _evidence_text(claim: dict[str, Any], profile: str | None, judgement: Judgement) -> str:
    """One line of a claim in a few words: profile, n per row, the numbers, the test's p."""
    decimals = _metric(claim).get("decimals", 3)
    stats: list[Stat] = [side["stat"] for side in judgement.sides]
    where = f"{profile or _DASH}, n = {' vs '.join(str(stat.n) for stat in stats)}"
    if claim["test"] == "fisher" and judgement.p is not None:
        counts = " vs ".join(f"{s['solved']}/{s['stat'].n}" for s in judgement.sides)
        medians = " vs ".join(_fmt(stat.median, decimals) for stat in stats)
        return f"{where}: solved {counts} (median {medians}), Fisher {_p_text(judgement.p)}"
    ours = _ours_text(claim, judgement, decimals)
    if claim["test"] == "level":
        return f"{where}: {ours} against {claim['threshold']:g}"
    comp = judgement.comparison
    if comp is not None and comp.p is not None:
        return f"{where}: {ours}, Welch {_p_text(comp.p)}"
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
            verdicts.append(f"{verdict} ({line['profile'] or _DASH})")
            if judgement.verdict != "not run":
                evidence.append(_evidence_text(claim, line["profile"], judgement))
        cells = [claim["text"], "; ".join(verdicts), "; ".join(evidence) or _DASH]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
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


def _number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, 10)


def _judgement_json(claim: dict[str, Any], judgement: Judgement) -> dict[str, Any]:
    sides = []
    for side in judgement.sides:
        item: dict[str, Any] = {"experiment": side["experiment"], "runs": len(side["runs"])}
        stat = side.get("stat")
        if stat is not None:
            item.update(
                n=stat.n,
                mean=_number(stat.mean),
                std=_number(stat.std),
                median=_number(stat.median),
                ci_low=_number(stat.ci_low),
                ci_high=_number(stat.ci_high),
            )
        if "solved" in side:
            item["solved"] = side["solved"]
        item["seeds"] = sorted({run.summary["seed"] for run in side["runs"]}, key=str)
        sides.append(item)
    out: dict[str, Any] = {
        "verdict": judgement.verdict,
        "reason": judgement.reason,
        "rows": sides,
        "p": _number(judgement.p),
    }
    comp = judgement.comparison
    if comp is not None:
        out["difference"] = {
            "diff": _number(comp.diff),
            "low": _number(comp.low),
            "high": _number(comp.high),
            "df": _number(comp.df),
            "why": comp.why,
        }
    runs = [run for side in judgement.sides for run in side["runs"]]
    out["budget"] = _budget(runs) if runs else None
    if judgement.commands:
        out["commands"] = judgement.commands
    return out


def render_json(rule: Rule, results: list[dict[str, Any]], not_encoded: list) -> str:
    """The report as JSON: the rule, per claim its data and per profile the judgements."""
    claims = []
    for result in results:
        claim = result["claim"]
        keys = ("id", "text", "source", "table", "rows", "metric", "direction", "test")
        item = {key: claim[key] for key in keys}
        item.update(
            profile=claim["profile"],
            paper_budget=claim.get("paper_budget"),
            paper=[_paper_value(claim, row) for row in claim["rows"]],
            lines=[
                {
                    "profile": line["profile"],
                    **_judgement_json(claim, line["judgement"]),
                    "ablations": [
                        {
                            "row": ablation["row"],
                            "label": ablation["label"],
                            "against": ablation.get("against", claim["rows"][-1]),
                            **_judgement_json(claim, ab),
                        }
                        for ablation, ab in line["ablations"]
                    ],
                }
                for line in result["lines"]
            ],
        )
        claims.append(item)
    data = {
        "schema": 1,
        "rule": {"alpha": rule.alpha, "min_n": rule.min_n, "confidence": CONFIDENCE},
        "claims": claims,
        "not_encoded": not_encoded,
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def main(results_dir: Path, out: Path) -> list[Path]:
    """Judge every claim of ``claims.yaml`` against the records and write the report.

    Args:
        results_dir: a results folder; its ``paper/`` records only, when it has one
            (:func:`noisyexp.reports.tables.paper_records`), else every run under it.
        out: the folder for ``claims.md``, ``claims.json`` and ``claims_summary.md``
            (``results``); created if missing.

    Returns:
        The three paths written.
    """
    rule, claims, not_encoded = load_claims()
    runs, _ = collect_runs(paper_records(Path(results_dir)))
    index = index_runs(runs)
    results = [{"claim": claim, "lines": evaluate(claim, index, rule)} for claim in claims]
    out = Path(out)
    return [
        write_text_atomic(out / "claims.md", render_markdown(rule, results, not_encoded)),
        write_text_atomic(out / "claims.json", render_json(rule, results, not_encoded)),
        write_text_atomic(out / "claims_summary.md", render_summary(rule, results)),
    ]
