"""Time of the PTB-small one-stream test pass: reference units vs noisy units, plain and compiled.

The test pass of a language model runs one stream (batch 1) through the 82,430 test tokens in
windows of 20, so its cost is per time step, not per token: the plain noisy LSTM runs a dozen
small ops per unit and step, the reference units run ``nn.LSTM``'s fused kernel. This script runs
the trainer's evaluation loop (eval mode, ``torch.inference_mode``, the state carried, the summed
cross-entropy read back every window) on a random token stream of the test set's length, and
prints seconds per variant and the ratio to the reference:

* ``reference``: sigmoid/tanh units (``nn.LSTM``'s kernel, the ``fused`` path);
* ``noisy``: NAN units, the plain path (op by op);
* ``noisy_fast``: NAN units with ``fast_step`` (``trainer.compile=true``).

Usage: ``python scripts/bench_eval.py [--windows N] [--threads 1] [--json]`` (``--windows``
times the first N windows and scales to the whole pass; 0 = all of them).
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch import nn
from torch.nn import functional as F

TEST_TOKENS = 82_430  # PTB test set, with <eos>
VOCAB_SIZE = 10_000
BPTT = 20
VARIANTS = ("reference", "noisy", "noisy_fast")


def _model(variant: str) -> nn.Module:
    from noisyexp import activations
    from noisyexp.models.rnn_lm import RNNLanguageModel

    torch.manual_seed(0)
    if variant == "reference":
        gate, cell = activations.Sigmoid, activations.Tanh
    else:

        def gate(n: int) -> nn.Module:
            return activations.make_unit("nan", n, kind="sigmoid")

        def cell(n: int) -> nn.Module:
            return activations.make_unit("nan", n, kind="tanh")

    model = RNNLanguageModel(VOCAB_SIZE, 200, 200, 2, gate_unit=gate, cell_unit=cell)
    model.rnn.fast_step = variant == "noisy_fast"
    return model.eval()


def test_pass_seconds(variant: str, windows: int) -> tuple[float, int]:
    """Seconds for ``windows`` windows of the one-stream pass (after one untimed window)."""
    model = _model(variant)
    stream = torch.randint(VOCAB_SIZE, (TEST_TOKENS, 1), generator=torch.Generator().manual_seed(1))
    total_windows = (TEST_TOKENS - 1 + BPTT - 1) // BPTT
    windows = total_windows if windows <= 0 else min(windows, total_windows)
    with torch.inference_mode():
        model(stream[:BPTT])  # warm-up (and the compile of the fast variant)
        state, total = None, 0.0
        start = time.perf_counter()
        for index in range(windows):
            inputs = stream[index * BPTT : (index + 1) * BPTT]
            targets = stream[index * BPTT + 1 : (index + 1) * BPTT + 1]
            inputs = inputs[: targets.size(0)]
            logits, state = model(inputs, state)
            total += float(
                F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="sum")
            )
        seconds = time.perf_counter() - start
    return seconds * total_windows / windows, total_windows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=600, help="windows timed (0 = all)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = {}
    for variant in VARIANTS:
        seconds, windows = test_pass_seconds(variant, args.windows)
        results[variant] = {"test_pass_s": seconds, "windows": windows}
    for result in results.values():
        result["vs_reference"] = result["test_pass_s"] / results["reference"]["test_pass_s"]
    if args.json:
        print(json.dumps(results))
        return
    print(
        f"PTB-small one-stream test pass ({TEST_TOKENS} tokens, windows of {BPTT}, "
        f"{args.threads} thread(s); timed on {args.windows or 'all'} windows, scaled)"
    )
    for name, result in results.items():
        print(f"{name:<12}{result['test_pass_s']:>8.1f} s{result['vs_reference']:>8.2f}x")


if __name__ == "__main__":
    main()
