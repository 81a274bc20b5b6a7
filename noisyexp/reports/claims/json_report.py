"""The claims report as JSON (``claims.json``): the rule, and per claim and profile the numbers
behind each verdict, for scripts that should not parse the Markdown.

Numbers are rounded to 10 digits and non-finite ones are null, so the file is valid JSON and the
same on every platform.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from noisyexp.reports.claims.coverage import SweepCoverage
from noisyexp.reports.claims.data import Rule, paper_value
from noisyexp.reports.claims.text import budget_text
from noisyexp.reports.claims.verdicts import Judgement
from noisyexp.reports.intervals import CONFIDENCE

__all__ = ["render_json"]


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
    out["budget"] = budget_text(runs) if runs else None
    if judgement.commands:
        out["commands"] = judgement.commands
    return out


def render_json(
    rule: Rule,
    results: list[dict[str, Any]],
    not_encoded: list,
    covered: list[SweepCoverage] | None = None,
) -> str:
    """The report as JSON: the rule, per claim its data and per profile the judgements."""
    claims = []
    for result in results:
        claim = result["claim"]
        keys = ("id", "text", "source", "table", "rows", "metric", "direction", "test")
        item = {key: claim[key] for key in keys}
        item.update(
            profile=claim["profile"],
            paper_budget=claim.get("paper_budget"),
            paper=[paper_value(claim, row) for row in claim["rows"]],
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
    if covered is not None:
        data["coverage"] = [
            {**dataclasses.asdict(c), "status": c.status, "command": c.command} for c in covered
        ]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
