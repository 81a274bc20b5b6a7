"""The statistics that the hand-written prose of README.md and docs/results.md quotes are ones the
committed records give today.

The tables and the claims summary are generated blocks, checked byte for byte elsewhere
(test_readme_tables.py); the paragraphs between them are written by hand and quote numbers out
of those tables. This test takes every p-value (``p = 0.004``), interval (``[−8.6, −4.4]``) and
mean ± std (``113.2 ± 0.8``) of that prose and looks for it among the ones the tables and the
claims report print when rebuilt from ``results/paper/``: a quoted number that no record gives
any more (a row gained seeds, a run was redone) fails here until the prose is mended. A quote
may round a printed number (``0.73 ± 0.38`` for ``0.727 ± 0.380``), never differ from it.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from noisyexp.reports import claims, tables

ROOT = Path(__file__).resolve().parents[2]
#: the documents whose prose discusses the records
DOCUMENTS = (ROOT / "README.md", ROOT / "docs" / "results.md")

_BLOCK = re.compile(r"<!-- BEGIN (\S+) -->.*?<!-- END \1 -->", re.S)
_NUMBER = r"[-+]?\d+(?:,\d{3})*(?:\.\d+)?"
_PATTERNS = {
    "p-value": re.compile(r"\bp\s+=\s+(\d\.\d+)"),
    "interval": re.compile(rf"\[({_NUMBER}),\s+({_NUMBER})\]"),
    "mean ± std": re.compile(rf"(?<![\d.])({_NUMBER})\s+±\s+({_NUMBER})"),
}
#: a quote may round half up or half to even (Python's format)
_ROUNDINGS = (ROUND_HALF_UP, ROUND_HALF_EVEN)


def _plain(text: str) -> str:
    """Typographic minus signs and thin spaces as the tables print them."""
    return text.replace("\u2212", "-").replace("\u2009", " ").replace("\u202f", " ")


def _rounds_to(printed: str, quoted: str) -> bool:
    """Whether ``quoted`` is ``printed`` itself or ``printed`` rounded to fewer decimals."""
    quoted_d, printed_d = Decimal(quoted.replace(",", "")), Decimal(printed.replace(",", ""))
    places = Decimal(1).scaleb(quoted_d.as_tuple().exponent)
    if places < Decimal(1).scaleb(printed_d.as_tuple().exponent):
        return False  # the quote claims more digits than the record prints
    return any(printed_d.quantize(places, rounding=mode) == quoted_d for mode in _ROUNDINGS)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[str, ...]]]:
    """Every statistic the tables and the claims report print, rebuilt from the records."""
    out = tmp_path_factory.mktemp("generated")
    records = ROOT / "results" / "paper"
    tables.main(records, out / "tables", echo=None)
    claims.main(records, out)
    text = _plain("\n".join(path.read_text(encoding="utf-8") for path in sorted(out.rglob("*.md"))))
    found = {}
    for kind, pattern in _PATTERNS.items():
        found[kind] = [m if isinstance(m, tuple) else (m,) for m in pattern.findall(text)]
    return found


def _quotes(document: Path) -> list[tuple[str, tuple[str, ...]]]:
    prose = _plain(_BLOCK.sub("", document.read_text(encoding="utf-8")))
    return [
        (kind, m if isinstance(m, tuple) else (m,))
        for kind, pattern in _PATTERNS.items()
        for m in pattern.findall(prose)
    ]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_quoted_statistic_is_one_the_records_give(
    document: Path, generated: dict[str, list[tuple[str, ...]]]
) -> None:
    quotes = _quotes(document)
    assert quotes, f"{document.name} quotes no statistic: the patterns no longer match its prose"
    stale = [
        f"{kind} {', '.join(values)}"
        for kind, values in quotes
        if not any(
            all(_rounds_to(p, q) for p, q in zip(printed, values, strict=True))
            for printed in generated[kind]
        )
    ]
    assert not stale, f"{document.name} quotes what no record gives (mend the prose): {stale}"


def test_a_quote_matches_only_the_number_or_its_rounding() -> None:
    assert _rounds_to("0.727", "0.73") and _rounds_to("113.2", "113.2")
    assert _rounds_to("-0.702", "-0.70") and _rounds_to("+0.855", "+0.86")
    assert _rounds_to("19,300", "19300")
    assert not _rounds_to("0.727", "0.72")  # a wrong digit
    assert not _rounds_to("0.73", "0.727")  # more digits than the record prints
    assert not _rounds_to("112.2", "113.2")
