"""README.md stays a five-minute read, every relative link of it and of docs/ resolves, and the
Python examples they show run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCUMENTS = (README, *sorted((ROOT / "docs").glob("*.md")))
#: the documents whose ```python blocks are complete programs (units.md's trains 1,000 steps)
RUNNABLE = (README, pytest.param(ROOT / "docs" / "units.md", marks=pytest.mark.slow))

_FENCE = re.compile(r"^```.*?^```[ \t]*$", re.M | re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)


def _prose(text: str) -> str:
    """The text without fenced code blocks and inline code (links there are not links)."""
    return _INLINE_CODE.sub("", _FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = _INLINE_CODE.sub(lambda m: m.group(0)[1:-1], heading).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading anchor of a markdown text, duplicates numbered as GitHub numbers them."""
    seen: dict[str, int] = {}
    found = set()
    for heading in _HEADING.findall(_FENCE.sub("", text)):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def test_anchors_follow_githubs_rule():
    text = "# Table 4: NMT (paper: Europarl; ours: Multi30k)\n## `noisyexp train`\n## A\n## A\n"
    want = {"table-4-nmt-paper-europarl-ours-multi30k", "noisyexp-train", "a", "a-1"}
    assert anchors(text) == want
    assert slug("NTM associative recall (Fig 9 ICML / Fig 11 v3)") == (
        "ntm-associative-recall-fig-9-icml--fig-11-v3"
    )


def test_the_readme_is_short_and_its_contents_fit_on_a_screen():
    size = len(README.read_bytes())
    assert size < 20 * 1024, f"README.md is {size} bytes: move detail into docs/"
    text = README.read_text(encoding="utf-8")
    contents = text.split("\n## Contents\n", 1)[1].split("\n## ", 1)[0]
    entries = [line for line in contents.splitlines() if line.startswith("- ")]
    assert 3 <= len(entries) <= 10
    for entry in entries:  # each entry is a link to a section of the README
        target = re.search(r"\]\(#([^)]+)\)", entry)
        assert target and target.group(1) in anchors(text), entry


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_a_file_that_exists(document: Path):
    text = document.read_text(encoding="utf-8")
    broken = []
    for target in _LINK.findall(_prose(text)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path_part, _, fragment = target.partition("#")
        path = (document.parent / path_part).resolve() if path_part else document
        if not path.exists():
            broken.append(f"{target} (no {path_part})")
        elif (
            fragment
            and path.suffix == ".md"
            and fragment not in anchors(path.read_text(encoding="utf-8"))
        ):
            broken.append(f"{target} (no heading #{fragment})")
    assert not broken, broken


@pytest.mark.parametrize("document", RUNNABLE, ids=["README.md", "docs/units.md"])
def test_the_python_examples_run_as_written(document: Path, capsys):
    blocks = re.findall(r"^```python\n(.*?)^```", document.read_text(encoding="utf-8"), re.M | re.S)
    assert blocks, f"{document.name} shows no Python example"
    for code in blocks:
        namespace: dict[str, object] = {"__name__": "__example__"}
        exec(compile(code, str(document), "exec"), namespace)  # an example that fails, fails here
