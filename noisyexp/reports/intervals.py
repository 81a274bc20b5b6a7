"""Parametric statistics of table rows: a row's mean, sample std and t-interval of the mean, and
for two rows the difference of means with its Welch interval and Welch's two-sided t-test.

Kept apart from reading runs (:mod:`.records`) so that figures, which only read runs, never import
scipy; the outcome statistics for solved-or-not rows (counts, Fisher) are in :mod:`.stats`.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

__all__ = ["CONFIDENCE", "Comparison", "Stat", "aggregate", "welch"]

#: level of every interval in the tables (the t-interval of a mean, Welch's of a difference)
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Stat:
    """Mean and sample standard deviation (n - 1) of ``n`` values out of ``total`` runs.

    ``ci_low``, ``ci_high``: the :data:`CONFIDENCE` t-interval of the mean,
    ``mean ± t(1 - alpha/2, n - 1) · std / sqrt(n)``; None for fewer than 2 values. ``median``:
    of the values present (where runs either solve a task or not, it says what a typical run
    does, which a mean between the two modes does not).
    """

    mean: float | None
    std: float | None
    n: int
    total: int
    ci_low: float | None = None
    ci_high: float | None = None
    median: float | None = None


@dataclass(frozen=True)
class Comparison:
    """``a - b`` for two rows: the difference of means, its Welch interval and Welch's t-test.

    ``low``, ``high``, ``p`` and ``df`` (Welch's, Satterthwaite's degrees of freedom) are None
    when a side has fewer than 2 values (``why == "n < 2"``) or a side has zero spread
    (``why == "std 0"``): every run of that row ended at the same value (on Table 5, the
    plateau), where the t-test's normal model does not hold, and with one side's variance taken
    as 0 the test would treat that row's mean as a known constant and give a p-value that looks
    like evidence; a solved count and Fisher's test (:mod:`.stats`) fit such rows instead.
    """

    diff: float | None
    low: float | None = None
    high: float | None = None
    p: float | None = None
    df: float | None = None
    why: str = ""


def aggregate(values: list[float | None]) -> Stat:
    """Mean, sample std and the t-interval of the mean of the values that are present.

    std and the interval are None for fewer than 2 values.
    """
    present = [v for v in values if v is not None]
    if not present:
        return Stat(None, None, 0, len(values))
    mean = statistics.fmean(present)
    if len(present) < 2:
        return Stat(mean, None, 1, len(values), median=mean)
    from scipy import stats  # imported here: reading runs (figures) does not need scipy

    std = statistics.stdev(present)
    quantile = float(stats.t.ppf(0.5 + CONFIDENCE / 2, len(present) - 1))
    half = quantile * std / math.sqrt(len(present))
    median = statistics.median(present)
    return Stat(mean, std, len(present), len(values), mean - half, mean + half, median)


def _no_spread(stat: Stat) -> bool:
    """Every value the same, up to float rounding (1e-9 of the mean's size, at least 1e-9)."""
    return stat.std is not None and stat.std <= 1e-9 * max(1.0, abs(stat.mean or 0.0))


def welch(a: Stat, b: Stat) -> Comparison:
    """``a - b``: difference of means, its Welch interval and Welch's two-sided t-test p-value.

    The interval is ``diff ± t(1 - alpha/2, df) · se`` with ``se = sqrt(sa²/na + sb²/nb)`` and
    Satterthwaite's ``df``; p is ``scipy.stats.ttest_ind_from_stats(..., equal_var=False)``.
    """
    if a.mean is None or b.mean is None:
        return Comparison(None, why="no value")
    diff = a.mean - b.mean
    if a.std is None or b.std is None:
        return Comparison(diff, why="n < 2")
    if _no_spread(a) or _no_spread(b):
        return Comparison(diff, why="std 0")
    va, vb = a.std**2 / a.n, b.std**2 / b.n
    se = math.sqrt(va + vb)
    from scipy import stats

    df = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df)) * se
    test = stats.ttest_ind_from_stats(a.mean, a.std, a.n, b.mean, b.std, b.n, equal_var=False)
    return Comparison(diff, diff - half, diff + half, float(test.pvalue), df)
