"""The claims data file ``noisyexp/paper/claims.yaml``: read once, checked against the paper tables.

A claim lives in data only, so this module is where a malformed one stops: an unknown table,
metric, test or direction, a wrong number of rows, is one ConfigError naming the claim, raised
before any record is read. It also looks up what a claim's table says (the metric reader, the
paper's value of a row), so a claim reads the number the table shows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

from noisyexp.core.errors import ConfigError
from noisyexp.paper import paper_tables

__all__ = ["CLAIMS_FILE", "Rule", "load_claims", "claim_metric", "paper_value"]


CLAIMS_FILE = "claims.yaml"
_TESTS = ("welch", "fisher", "level")


@dataclass(frozen=True)
class Rule:
    """The verdict rule: a p-value below ``alpha`` counts, at ``min_n`` runs per row or more."""

    alpha: float = 0.05
    min_n: int = 3


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
        if not isinstance(claim.get("other_profiles", True), bool):
            raise ConfigError(f"{where}: other_profiles must be true or false")
        for ablation in claim.get("ablations") or []:
            if "row" not in ablation or "label" not in ablation:
                raise ConfigError(f"{where}: every ablation needs a row and a label")
    return rule, data["claims"], list(data.get("not_encoded") or [])


_REQUIRED = ("id", "text", "source", "table", "rows", "metric", "direction", "test", "profile")


def claim_metric(claim: dict[str, Any]) -> dict[str, Any]:
    """The metric entry (reader, label, decimals) of the claim's paper table."""
    table = next(t for t in paper_tables() if t["id"] == claim["table"])
    return next(m for m in table["metrics"] if m["key"] == claim["metric"])


def paper_value(claim: dict[str, Any], experiment: str) -> float | None:
    """The paper's number for ``experiment``'s row of the claim's table; None when absent."""
    table = next(t for t in paper_tables() if t["id"] == claim["table"])
    row = next((r for r in table["rows"] if r["experiment"] == experiment), None)
    value = (row or {}).get("paper", {}).get(claim["metric"])
    return float(value) if isinstance(value, (int, float)) else None
