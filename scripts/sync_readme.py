"""Paste generated files into markdown files, between `<!-- BEGIN name -->` and `<!-- END name -->`.

No table, verdict or benchmark number in README.md or docs/ is typed: ``noisyexp tables``,
``noisyexp claims`` and ``scripts/bench_table.py`` write them, this script pastes them, and
``tests/integration/test_readme_tables.py`` fails when a pasted section differs from what the
committed records give. Text outside the markers is never touched.

    # every generated section (what `make readme` runs): README.md's claims summary, one block per
    # paper table in docs/results.md (the registry's order), the benchmark tables in docs/speed.md
    python scripts/sync_readme.py --generated --bench results/bench/cpu-20261130/bench.md
    # one block: [FILE:]name=source[,source...] (FILE defaults to --readme, README.md)
    python scripts/sync_readme.py docs/results.md:table2_ptb=results/tables/table2_ptb.md
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

__all__ = [
    "README",
    "ROOT",
    "block_names",
    "generated_blocks",
    "main",
    "paper_table_ids",
    "replace_block",
    "sync",
]

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
_MARKER = re.compile(r"^<!-- (BEGIN|END) ([\w.:-]+) -->$", re.M)

#: file -> block name -> the files pasted there, one after another
Plan = dict[Path, dict[str, list[Path]]]


def block_names(text: str) -> list[str]:
    """The names of the ``BEGIN`` marker lines of ``text``, in order."""
    return [m.group(2) for m in _MARKER.finditer(text) if m.group(1) == "BEGIN"]


def replace_block(text: str, name: str, body: str, where: str = "README.md") -> str:
    """Return ``text`` with the block called ``name`` replaced by ``body``.

    Args:
        text: a markdown file's text.
        name: the block's name, as in ``<!-- BEGIN name -->``.
        body: what goes between the markers (a final newline is added when missing).
        where: the file's name, for the error message.

    Raises:
        ValueError: ``text`` has no such block, or its markers are not one BEGIN line followed
            by one END line.
    """
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    starts, ends = text.count(begin), text.count(end)
    if starts == 0 and ends == 0:
        raise ValueError(f"{where} has no {begin} ... {end} block")
    pattern = re.compile(rf"(^{re.escape(begin)}\n).*?(^{re.escape(end)}$)", re.S | re.M)
    if starts != 1 or ends != 1 or len(pattern.findall(text)) != 1:
        raise ValueError(f"{where}: block {name!r} needs one {begin} line, then one {end} line")
    return pattern.sub(lambda m: m.group(1) + body.rstrip("\n") + "\n" + m.group(2), text)


def paper_table_ids() -> list[str]:
    """The paper tables' ids in their output order (``noisyexp.paper``'s registry)."""
    from noisyexp.paper import paper_tables

    return [table["id"] for table in paper_tables()]


def generated_blocks(tables: Path, claims: Path, bench: Path, root: Path = ROOT) -> Plan:
    """Every generated section of README.md and docs/, and the files it is pasted from.

    Args:
        tables: the folder ``noisyexp tables`` wrote (one ``<id>.md`` per paper table).
        claims: the claims summary ``noisyexp claims`` wrote (``claims_summary.md``).
        bench: the benchmark tables ``scripts/bench_table.py`` wrote (``bench.md``).
        root: the repository whose README.md and docs/ hold the blocks.
    """
    return {
        root / "README.md": {"claims": [Path(claims)]},
        root / "docs" / "results.md": {
            table_id: [Path(tables) / f"{table_id}.md"] for table_id in paper_table_ids()
        },
        root / "docs" / "speed.md": {"bench": [Path(bench)]},
    }


def _display(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def sync(plan: Plan) -> dict[Path, str]:
    """The new text of every file of ``plan``, its blocks replaced; nothing is written.

    Raises:
        FileNotFoundError: a file to paste, or a file to paste into, is missing.
        ValueError: a file lacks one of its blocks (or its markers are broken).
    """
    sources = [source for blocks in plan.values() for files in blocks.values() for source in files]
    missing = [_display(p) for p in [*plan, *sources] if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"missing {', '.join(missing)}")
    texts = {}
    for target, blocks in plan.items():
        text = target.read_text(encoding="utf-8")
        for name, files in blocks.items():
            body = "\n".join(p.read_text(encoding="utf-8").rstrip("\n") + "\n" for p in files)
            text = replace_block(text, name, body, _display(target))
        texts[target] = text
    return texts


def _parse_blocks(blocks: list[str], default: Path) -> Plan:
    plan: Plan = {}
    for block in blocks:
        left, equals, files = block.partition("=")
        target, colon, name = left.rpartition(":")
        if not equals or not name:
            raise ValueError(f"{block!r} is not [FILE:]name=file[,file...]")
        path = (Path(target) if colon else default).resolve()
        plan.setdefault(path, {})[name] = [Path(f) for f in files.split(",") if f]
    return plan


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("blocks", nargs="*", help="[FILE:]name=file[,file...]")
    parser.add_argument("--readme", type=Path, default=README, help="FILE when a block names none")
    parser.add_argument(
        "--generated", action="store_true", help="every generated section (generated_blocks)"
    )
    parser.add_argument("--tables", type=Path, default=Path("results/tables"))
    parser.add_argument("--claims", type=Path, default=Path("results/claims_summary.md"))
    parser.add_argument("--bench", type=Path, help="the bench.md to paste (with --generated)")
    options = parser.parse_args(argv)
    try:
        plan = _parse_blocks(options.blocks, options.readme)
        if options.generated:
            if options.bench is None:
                raise ValueError("--generated needs --bench FILE")
            for target, blocks in generated_blocks(
                options.tables, options.claims, options.bench
            ).items():
                plan.setdefault(target, {}).update(blocks)
        if not plan:
            raise ValueError("nothing to paste: give blocks or --generated")
        texts = sync(plan)
    except (OSError, ValueError) as err:
        print(f"sync_readme: {err}", file=sys.stderr)
        return 2
    for target, text in texts.items():  # only once every block of every file was found
        if target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
