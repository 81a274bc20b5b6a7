"""The benchmark tables of docs/speed.md, generated from a folder of committed benchmark records.

A folder such as ``results/bench/cpu-20261130/`` holds the JSON each benchmark script wrote
(``bench_lstm_threads{1,2}.json``, ``bench_eval.json``, ``bench_translate.json``,
``bench_activations.json``, ``bench_activations_compiled.json``) and ``commands.txt`` (the
machine, then the commands).
``make readme`` pastes this script's output between the ``<!-- BEGIN bench -->`` markers of
docs/speed.md, and ``tests/integration/test_readme_tables.py`` fails when they differ: no speed
number in the docs is typed.

Usage: ``python scripts/bench_table.py results/bench/cpu-20261130 [--out FILE]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

VARIANTS = ("nn.LSTM", "custom_reference", "custom_noisy", "custom_noisy_fast")
GRAPH_VARIANTS = ("custom_noisy_graph", "custom_noisy_fast_graph")  # in CUDA records only
SHAPES = {  # key in the JSON (None: the top level) -> description
    None: "PTB small: 2 × 200 LSTM, batch 20, unroll 20",
    "medium": "PTB medium: 2 × 650 LSTM, batch 20, unroll 35, dropout 0.5",
    "char_gru": "char PTB: 1 × 512 GRU, batch 32, unroll 200",
}


def _load(folder: Path, name: str) -> dict | None:
    path = folder / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _lstm_rows(results: dict, threads: int) -> list[str]:
    rows = []
    for key, shape in SHAPES.items():
        table = results if key is None else results.get(key)
        if table is None:
            continue
        for variant in (*VARIANTS, *(v for v in GRAPH_VARIANTS if v in table)):
            r = table[variant]
            shown = "nn.GRU" if key == "char_gru" and variant == "nn.LSTM" else variant
            rows.append(
                f"| {shape} | {threads} | `{shown}` | {r['tokens_per_s']:.0f} | "
                f"{r['speed_vs_nn_lstm']:.2f} | {r['ms_per_step']:.1f} | {r['ops_per_step']} | "
                f"{r['dispatched_ops_per_step']} |"
            )
    return rows


def render(folder: Path) -> str:
    """The markdown of every benchmark record in ``folder``."""
    commands = (folder / "commands.txt").read_text(encoding="utf-8").splitlines()
    machine = commands[0].lstrip("# ").split(" ", 1)[1] if commands else "?"
    machine = machine.replace("Model name: ", "")
    lines = [
        f"Records: `results/bench/{folder.name}/` (one run of each command in its `commands.txt`; "
        f"{machine}; background jobs paused). Single runs on a shared VM: ratios move by "
        "about ±0.05 between runs.",
        "",
        "Training step (forward, loss, backward, clipping, SGD): tokens/s, × `nn.LSTM`, ms, "
        "and per step the operations that launch work (aten kernels and compiled kernels; "
        "views excluded) and all dispatched aten operations (disp.). `custom_noisy` is the plain "
        "path, `custom_noisy_fast` `trainer.compile=true`; both with NAN units.",
        "",
        "| shape | threads | variant | tokens/s | × nn.LSTM/GRU | ms/step | ops/step | disp. |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for threads in (1, 2):
        results = _load(folder, f"bench_lstm_threads{threads}.json")
        if results is not None:
            lines += _lstm_rows(results, threads)
    evaluation = _load(folder, "bench_eval.json")
    if evaluation is not None:
        lines += [
            "",
            "One-stream PTB-small test pass (82,430 tokens, windows of 20; `bench_eval.py`): "
            + ", ".join(
                f"{name} {r['test_pass_s']:.1f} s ({r['vs_reference']:.2f}×)"
                for name, r in evaluation.items()
            )
            + ".",
        ]
    translation = _load(folder, "bench_translate.json")
    if translation is not None:
        lines += [
            "",
            "Translation runs (`table4_nmt`, `cpu` profile; `bench_translate.py`: training wall "
            "time per epoch from the run's summary, evaluations included; decoding the first "
            f"{translation[0]['sentences']} test sentences with `best.pt`, one thread):",
            "",
            "| run | s / epoch | beam 5, sentences/s | greedy, sentences/s |",
            "|---|---:|---:|---:|",
        ]
        for r in translation:
            lines.append(
                f"| {r['run']} | {r['s_per_epoch']:.0f} | {r['beam_sentences_per_s']:.1f} | "
                f"{r['greedy_sentences_per_s']:.1f} |"
            )
    units = _load(folder, "bench_activations.json")
    compiled = _load(folder, "bench_activations_compiled.json")
    if units is not None:
        shape = " × ".join(str(n) for n in units["meta"]["shape"])
        lines += [
            "",
            f"One unit, forward + backward in training mode ({shape} float32, "
            f"{units['meta']['threads']} thread, median of {units['meta']['repeats']}; "
            "`bench_activations.py`, and with `--compile` for the compiled rows):",
            "",
            "| unit | ms | × tanh | saved for backward, × x |",
            "|---|---:|---:|---:|",
        ]
        rows = list(units["rows"])
        if compiled is not None:
            rows += [r for r in compiled["rows"] if "compiled" in r["unit"]]
        for r in rows:
            lines.append(
                f"| {r['unit']} | {r['ms']:.1f} | {r['time_ratio']:.2f} | {r['saved_x']:.0f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--out", type=Path, help="write here (default: standard output)")
    args = parser.parse_args(argv)
    if not (args.folder / "commands.txt").is_file():
        print(f"bench_table: {args.folder} has no commands.txt", file=sys.stderr)
        return 2
    text = render(args.folder)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
