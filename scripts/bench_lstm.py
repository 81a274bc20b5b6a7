"""Training throughput and memory of the PTB small LSTM: nn.LSTM vs the custom layer.

Measures one full training step (embedding, 2x200 LSTM, 10k-way softmax, backward, gradient
clipping, SGD update, state carried and detached) at Zaremba's small shape: batch 20, unroll 20.
Three variants, timed in interleaved rounds (median reported) so that a busy machine slows
them alike:

* ``nn.LSTM``: the model with torch's own ``nn.LSTM`` module;
* ``custom_reference``: :class:`noisyexp.models.lstm.LSTM` with plain sigmoid/tanh units and its
  fused kernel switched off (the Python time loop);
* ``custom_noisy``: the custom layer with NAN units (noisy hard-sigmoid gates, noisy hard-tanh
  cells) in training mode, drawing noise every step.

Memory columns: ``saved_mib`` = bytes of the distinct tensors autograd keeps for the backward pass
of one step (saved-tensor hooks; activation memory, device-independent); ``peak_rss_mib`` = the
peak resident set size of a fresh subprocess that builds that variant alone and trains a few
steps (whole process: torch, model, optimizer, activations).

Usage: ``python scripts/bench_lstm.py [--rounds 5] [--steps 10] [--threads N] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch
from torch import nn

VARIANTS = ("nn.LSTM", "custom_reference", "custom_noisy")
VOCAB_SIZE = 10_000
HIDDEN_SIZE = 200
NUM_LAYERS = 2
BATCH_SIZE = 20
BPTT = 20


def _build(variant: str) -> nn.Module:
    from noisyexp.models.rnn_lm import RNNLanguageModel

    if variant == "custom_noisy":
        from noisyexp import activations

        def gate(n: int) -> nn.Module:
            return activations.make_unit("nan", n, kind="sigmoid")

        def cell(n: int) -> nn.Module:
            return activations.make_unit("nan", n, kind="tanh")
    else:

        def gate(n: int) -> nn.Module:
            return nn.Sigmoid()

        def cell(n: int) -> nn.Module:
            return nn.Tanh()

    model = RNNLanguageModel(
        VOCAB_SIZE, HIDDEN_SIZE, HIDDEN_SIZE, NUM_LAYERS, gate_unit=gate, cell_unit=cell
    )
    if variant == "nn.LSTM":
        model.rnn = nn.LSTM(HIDDEN_SIZE, HIDDEN_SIZE, NUM_LAYERS)
    else:
        model.rnn.fused = False
    return model


def _saved_bytes(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> int:
    """Bytes of distinct storages autograd saves during one forward pass."""
    storages: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        logits, _ = model(inputs)
        loss = nn.functional.cross_entropy(logits.view(-1, VOCAB_SIZE), targets.view(-1))
    loss.backward()
    model.zero_grad(set_to_none=True)
    return sum(storages.values())


class _Trainer:
    """One variant's model, optimizer, fixed batch and carried state."""

    def __init__(self, variant: str) -> None:
        torch.manual_seed(0)
        self.model = _build(variant).train()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=1.0)
        generator = torch.Generator().manual_seed(1)
        stream = torch.randint(VOCAB_SIZE, (BPTT + 1, BATCH_SIZE), generator=generator)
        self.inputs, self.targets = stream[:-1], stream[1:]  # (T, B)
        self.state = None

    def step(self) -> None:
        """One training step: forward, loss, backward, clip 5, SGD; the state carried."""
        logits, state = self.model(self.inputs, self.state)  # (T, B, V)
        self.state = tuple(part.detach() for part in state)
        loss = nn.functional.cross_entropy(logits.view(-1, VOCAB_SIZE), self.targets.view(-1))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), 5.0)
        self.optimizer.step()

    def time_steps(self, steps: int) -> float:
        """Seconds for ``steps`` steps."""
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        return time.perf_counter() - start


def measure_speed(rounds: int, steps: int, warmup: int) -> dict[str, dict[str, float]]:
    """Tokens/s of each variant, interleaved round by round so machine load hits all alike.

    Reports the median over rounds (and the best round) of ``steps`` steps each.
    """
    trainers = {name: _Trainer(name) for name in VARIANTS}
    for trainer in trainers.values():
        trainer.time_steps(warmup)
    seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(rounds):
        for name, trainer in trainers.items():
            seconds[name].append(trainer.time_steps(steps))
    tokens = steps * BPTT * BATCH_SIZE
    results = {}
    for name, values in seconds.items():
        results[name] = {
            "tokens_per_s": tokens / statistics.median(values),
            "tokens_per_s_best": tokens / min(values),
            "ms_per_step": 1000 * statistics.median(values) / steps,
            "saved_mib": _saved_bytes(
                trainers[name].model, trainers[name].inputs, trainers[name].targets
            )
            / 2**20,
        }
    return results


def _own_peak_rss_mib() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork+exec,
    so a child would report its parent's size."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def peak_rss_mib(variant: str, steps: int) -> float:
    """Peak resident memory (MiB) of a fresh process that builds ``variant`` and trains."""
    command = [sys.executable, __file__, "--rss-of", variant, "--steps", str(steps)]
    command += ["--threads", str(torch.get_num_threads())]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(completed.stdout)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments; print the table, or the JSON object with ``--json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    parser.add_argument("--steps", type=int, default=10, help="training steps per round")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch CPU threads (0 = torch's default); on a shared machine use 1, since "
        "OpenMP threads spin-waiting for busy cores make small-op timings meaningless",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--rss-of", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.rss_of:  # child process: train a few steps, print the peak RSS
        _Trainer(args.rss_of).time_steps(args.steps)
        print(_own_peak_rss_mib())
        return
    results = measure_speed(args.rounds, args.steps, args.warmup)
    baseline = results["nn.LSTM"]["tokens_per_s"]
    for name, result in results.items():
        result["speed_vs_nn_lstm"] = result["tokens_per_s"] / baseline
        result["peak_rss_mib"] = peak_rss_mib(name, args.warmup)
    if args.json:
        print(json.dumps(results))
        return
    print(
        f"PTB small training step: vocab {VOCAB_SIZE}, {NUM_LAYERS}x{HIDDEN_SIZE}, batch "
        f"{BATCH_SIZE}, unroll {BPTT}; {torch.get_num_threads()} CPU threads; median of "
        f"{args.rounds} interleaved rounds of {args.steps} steps"
    )
    header = ("variant", "tokens/s", "best", "ms/step", "x nn.LSTM", "saved MiB", "peak RSS MiB")
    widths = (18, 10, 10, 10, 11, 11, 14)
    print(
        "".join(
            f"{text:<{w}}" if i == 0 else f"{text:>{w}}"
            for i, (text, w) in enumerate(zip(header, widths, strict=True))
        )
    )
    for name, result in results.items():
        print(
            f"{name:<18}{result['tokens_per_s']:>10.0f}{result['tokens_per_s_best']:>10.0f}"
            f"{result['ms_per_step']:>10.1f}{result['speed_vs_nn_lstm']:>11.2f}"
            f"{result['saved_mib']:>11.1f}{result['peak_rss_mib']:>14.0f}"
        )


if __name__ == "__main__":
    main()
