"""Judging a claim against the records by the one rule: which runs form a row, and the verdict.

The rule (``alpha``, ``min_n``) and the tests (Welch, Fisher, level) are applied alike to every
claim, every ablation and every profile, so no claim has a verdict path of its own and a verdict
changes only with the records or the claims file.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from noisyexp.reports.claims.data import Rule, claim_metric
from noisyexp.reports.intervals import CONFIDENCE, Comparison, Stat, aggregate, welch
from noisyexp.reports.records import Run, metric_value, override_key
from noisyexp.reports.stats import SOLVED_BELOW, fisher_exact

__all__ = ["VERDICTS", "Judgement", "index_runs", "run_command", "judge", "evaluate"]


#: the verdicts, in the order the report counts them
VERDICTS = ("reproduced", "refuted", "inconclusive", "not run")


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
    row has fewer than ``rule.min_n`` values, when a steps-to-threshold metric (``solved_below``)
    has runs that never got there, or no test is possible; reproduced when the effect
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
    if test == "welch" and metric.get("solved_below"):
        # steps to a threshold: a run that never got there is censored, not absent; the mean of
        # the others is a biased sample of the row, so no test is made on it
        censored = [
            f"{side['experiment']} {len(side['runs']) - side['stat'].n} of {len(side['runs'])}"
            for side in sides
            if side["stat"].n < len(side["runs"])
        ]
        if censored:
            reason = f"runs that never got there ({'; '.join(censored)}): censored"
            return Judgement("inconclusive", reason, sides)
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
    """The claim's own profile, then every other profile with records of a compared row (none
    for a claim with ``other_profiles: false``: its metric means something at its budget only)."""
    if not claim.get("other_profiles", True):
        return [claim["profile"]]
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
        metric=claim_metric(claim),
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
