"""Paste generated text into README.md between its `<!-- BEGIN name -->`, `END` markers.

The README's tables are never typed: ``noisyexp tables`` writes them, this script pastes them.

    python scripts/sync_readme.py activations=docs/activations.md \
        results=results/tables/gaussians.md,results/tables/table5_unique.md
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def replace_block(text: str, name: str, body: str) -> str:
    """Return ``text`` with the block called ``name`` replaced by ``body``.

    Raises:
        ValueError: the README has no such block.
    """
    pattern = re.compile(
        rf"(<!-- BEGIN {re.escape(name)} -->\n).*?(<!-- END {re.escape(name)} -->)", re.S
    )
    if not pattern.search(text):
        raise ValueError(f"README.md has no <!-- BEGIN {name} --> ... <!-- END {name} --> block")
    return pattern.sub(lambda m: m.group(1) + body.rstrip("\n") + "\n" + m.group(2), text)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("blocks", nargs="+", help="name=file[,file...]")
    parser.add_argument("--readme", type=Path, default=README)
    options = parser.parse_args(argv)
    text = options.readme.read_text()
    for block in options.blocks:
        name, _, files = block.partition("=")
        paths = [Path(f) for f in files.split(",") if f]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            print(f"sync_readme: missing {', '.join(missing)}", file=sys.stderr)
            return 2
        body = "\n".join(p.read_text().rstrip("\n") + "\n" for p in paths)
        text = replace_block(text, name, body)
    options.readme.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
