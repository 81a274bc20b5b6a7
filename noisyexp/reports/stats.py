"""Statistics for outcomes that are solved or not: solved counts, steps to solve, Fisher's test.

Table 5's runs (and the NTM's) are bimodal: a run either leaves the loss plateau and solves the
task or ends on the plateau (59.7 % error on the unique-count task, the majority class). A mean
between the two modes describes no run, and Welch's t-test assumes a roughly normal spread that
such outcomes do not have; what they do have is a count of solved runs, which is compared with
Fisher's exact test, and, for the runs that solved, how soon they did.

* :data:`SOLVED_BELOW`: a run is solved when its test error (%) is below it;
* :func:`steps_to_solve`: the first evaluation step whose valid error is below it;
* :func:`solved_count`: k solved of the n runs that recorded the metric, with the steps to solve
  of the runs that got there (a run that never solves has none: it is not counted as a step);
* :func:`fisher_exact`: the two-sided p-value of Fisher's exact test on two solved counts,
  computed exactly in integers from the hypergeometric distribution.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from math import comb
from typing import Any

from noisyexp.reports.records import Run, metric_value

__all__ = [
    "SOLVED_BELOW",
    "SOLVED_METRIC",
    "STEPS_KEY",
    "SolvedCount",
    "is_solved",
    "steps_to_solve",
    "solved_count",
    "fisher_exact",
]

#: a unique-count run is solved when its test error (%) is below this: well under the paper's
#: best row (9.53 %) and far from the plateau (59.7 %), so no run sits near the line
SOLVED_BELOW = 5.0
#: the metric (``summary["test"]``) whose value decides whether a run solved the task
SOLVED_METRIC = "test/error"
#: the ``metrics.jsonl`` key whose first value below the threshold gives the steps to solve
STEPS_KEY = "valid/error"


@dataclass(frozen=True)
class SolvedCount:
    """``solved`` of ``total`` runs (those that recorded the metric) are below the threshold.

    ``steps``: the steps to solve of the runs that got there, sorted; ``runs``: every run of the
    row, so "how many got there" reads ``len(steps)`` of ``runs``.
    """

    solved: int
    total: int
    steps: tuple[float, ...] = ()
    runs: int = 0

    @property
    def steps_median(self) -> float | None:
        """The median steps to solve over the runs that solved; None when none did."""
        return statistics.median(self.steps) if self.steps else None


def is_solved(value: float | None, below: float = SOLVED_BELOW) -> bool | None:
    """True when ``value`` is below the threshold; None when there is no value."""
    return None if value is None else value < below


def steps_to_solve(run: Run, key: str = STEPS_KEY, below: float = SOLVED_BELOW) -> float | None:
    """The first logged evaluation step whose ``key`` is below ``below``; None if it never is."""
    return metric_value(run, {"key": key, "solved_below": {"key": key, "threshold": below}})


def solved_count(
    runs: Iterable[Run],
    metric: dict[str, Any],
    *,
    below: float = SOLVED_BELOW,
    steps_key: str | None = STEPS_KEY,
) -> SolvedCount:
    """How many runs solved the task, and how soon.

    Args:
        runs: the runs of one row.
        metric: the table metric (``paper/tables/<id>.yaml``) whose value decides, e.g. test error.
        below: the threshold: a run whose value is below it is solved.
        steps_key: the ``metrics.jsonl`` key for the steps to solve; None for no steps.

    Returns:
        The count; runs without the metric are left out of ``total``.
    """
    runs = list(runs)
    values = [metric_value(run, metric) for run in runs]
    present = [value for value in values if value is not None]
    steps: list[float] = []
    if steps_key is not None:
        for run in runs:
            step = steps_to_solve(run, steps_key, below)
            if step is not None:
                steps.append(step)
    solved = sum(1 for value in present if value < below)
    return SolvedCount(solved, len(present), tuple(sorted(steps)), len(runs))


def fisher_exact(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of Fisher's exact test: ``k1`` of ``n1`` solved against ``k2`` of ``n2``.

    With the margins fixed, the first row's count ``x`` is hypergeometric,
    ``P(x) = C(K, x) C(N - K, n1 - x) / C(N, n1)`` (``N = n1 + n2``, ``K = k1 + k2``); the p-value
    sums ``P(x)`` over every ``x`` no more likely than the observed one (the usual two-sided
    definition, as R's ``fisher.test`` and ``scipy.stats.fisher_exact``). The sum is exact (the
    comparison of probabilities is one of integers), so ties count without a tolerance.

    Raises:
        ValueError: a count that is not an integer with ``0 <= k <= n``.
    """
    for k, n in ((k1, n1), (k2, n2)):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (k, n)):
            raise ValueError(f"fisher_exact needs integer counts, got {k!r} of {n!r}")
        if not 0 <= k <= n:
            raise ValueError(f"fisher_exact needs 0 <= k <= n, got {k} of {n}")
    total, solved = n1 + n2, k1 + k2

    def weight(x: int) -> int:  # C(N, n1) · P(x), an integer
        return comb(solved, x) * comb(total - solved, n1 - x)

    observed = weight(k1)
    support = range(max(0, solved - n2), min(solved, n1) + 1)
    tail = sum(w for w in map(weight, support) if w <= observed)
    return float(Fraction(tail, comb(total, n1)))
