"""Decoding speed of trained translation runs, and their training time per epoch.

For each run directory: sentences/s of beam search (width 5, the tables' setting) and of greedy
decoding over the first ``--sentences`` lines of the test source file, with the run's
``best.pt`` (``noisyexp translate``'s path: tokenise, decode in the task's batches,
detokenise); and seconds per training epoch from the run's ``summary.json`` (wall time over
epochs, evaluations included, as a user waits for it).

Usage: ``python scripts/bench_translate.py RUN_DIR [RUN_DIR ...] [--sentences 200]
[--threads 1] [--json]``; the test file is ``<corpus>/<test split>.<src>[.gz]`` of the run's
config (``--source FILE`` to pick another).
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import torch

from noisyexp.cli.translate import load_translator


def _source_lines(run_dir: Path, source: str | None, count: int) -> list[str]:
    if source is None:
        summary = json.loads((run_dir / "summary.json").read_text())
        extra = summary["dataset"]["extra"]
        folder, split = Path(extra["folder"]), extra["splits"][2]
        candidates = [folder / f"{split}.{extra['src']}", folder / f"{split}.{extra['src']}.gz"]
        path = next(p for p in candidates if p.is_file())
    else:
        path = Path(source)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        return [line.rstrip("\n") for _, line in zip(range(count), lines, strict=False)]


def measure(run_dir: Path, lines: list[str]) -> dict[str, float]:
    summary = json.loads((run_dir / "summary.json").read_text())
    result = {
        "experiment": summary.get("experiment"),
        "seed": summary.get("seed"),
        "s_per_epoch": summary["wall_time_s"] / summary["epochs"],
        "sentences": len(lines),
    }
    for decoder, beam in (("beam", 5), ("greedy", 1)):
        translator = load_translator(run_dir, beam_size=beam, decoder=decoder)
        translator.translate(lines[:8])  # warm-up
        start = time.perf_counter()
        translator.translate(lines)
        result[f"{decoder}_sentences_per_s"] = len(lines) / (time.perf_counter() - start)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="translation run directories")
    parser.add_argument("--sentences", type=int, default=200, help="test lines decoded")
    parser.add_argument("--source", help="source-language file (default: the run's test split)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--json", action="store_true", help="print one JSON list")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = []
    for run_dir in args.runs:
        lines = _source_lines(run_dir, args.source, args.sentences)
        results.append({"run": run_dir.name, **measure(run_dir, lines)})
    if args.json:
        print(json.dumps(results))
        return
    print(f"{'run':<40}{'s/epoch':>9}{'beam 5 sent/s':>15}{'greedy sent/s':>15}")
    for r in results:
        print(
            f"{r['run']:<40}{r['s_per_epoch']:>9.0f}{r['beam_sentences_per_s']:>15.1f}"
            f"{r['greedy_sentences_per_s']:>15.1f}"
        )


if __name__ == "__main__":
    main()
