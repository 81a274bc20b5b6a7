"""``noisyexp translate RUN_DIR < input.txt``: one translation per input line, on stdout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["translate_command"]


def translate_command(args: list[str]) -> int:
    from noisyexp.cli.translate import load_translator

    parser = argparse.ArgumentParser(
        prog="noisyexp translate",
        description="Translate sentences (one per line of stdin, or --input) with a trained "
        "translation run (task=nmt); translations go to stdout, one per line.",
    )
    parser.add_argument("run_dir", type=Path, help="the run directory (holds checkpoints/)")
    parser.add_argument("--input", type=Path, default=None, help="a file instead of stdin")
    parser.add_argument("--checkpoint", default="best.pt", help="best.pt (default) or last.pt")
    parser.add_argument("--beam", type=int, default=None, help="beam width (default: the run's)")
    parser.add_argument("--greedy", action="store_true", help="greedy decoding")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    options = parser.parse_args(args)
    translator = load_translator(
        options.run_dir,
        checkpoint=options.checkpoint,
        beam_size=options.beam,
        decoder="greedy" if options.greedy else None,
        device=options.device,
    )
    if options.input is not None:
        lines = options.input.read_text(encoding="utf-8").splitlines()
    else:
        lines = sys.stdin.read().splitlines()
    for line in translator.translate(lines):
        print(line)
    return 0
