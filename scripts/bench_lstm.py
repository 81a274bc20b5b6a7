"""Training throughput, dispatched ops and memory of the PTB LSTMs: nn.LSTM vs the custom layer.

Measures one full training step (embedding, 2-layer LSTM, 10k-way softmax, backward, gradient
clipping, SGD update, state carried and detached) at Zaremba's small shape (2x200, batch 20,
unroll 20; the top level of ``--json``) and, with ``--medium``, his medium one (2x650, unroll
35, dropout 0.5; under the ``medium`` key). Variants, timed in interleaved rounds (median
reported) so that a busy machine slows them alike:

* ``nn.LSTM``: the model with torch's own ``nn.LSTM`` module (cuDNN on a GPU);
* ``custom_reference``: :class:`noisyexp.layers.lstm.LSTM` with plain sigmoid/tanh units and its
  fused kernel switched off (the Python time loop);
* ``custom_noisy``: the custom layer with NAN units (noisy hard-sigmoid gates, noisy hard-tanh
  cells) in training mode, drawing noise every step (the plain path);
* ``custom_noisy_fast``: the same units with ``fast_step=True`` (``trainer.compile=true``): one
  ``torch.compile``-d kernel per time step, the noise of a window in one draw;
* on CUDA only, ``custom_noisy_graph`` and ``custom_noisy_fast_graph``: those two steps captured
  as one CUDA graph and replayed (``trainer.cuda_graphs=true``,
  :mod:`noisyexp.training.cuda_graphs`); their ops per step are what runs outside the graph
  plus 1, the graph's launch.

``ops_per_step`` counts what one training step launches, the GPU's launch count measured on
any device with the profiler: the top-level aten operations that run a kernel (views such as
``detach``, ``t``, ``select``, which launch nothing, are left out; ``dispatched_ops_per_step``
counts them too) plus the kernels of compiled graphs. ``--char-gru`` adds the same counts and
speed for the char-level GRU (1x512, batch 32, 200 steps a window) under ``char_gru``.

Memory columns: ``saved_mib`` = bytes of the distinct tensors autograd keeps for the backward pass
of one step (saved-tensor hooks; activation memory, device-independent); ``peak_rss_mib`` = the
peak resident set size of a fresh subprocess that builds that variant alone and trains a few
steps (whole process: torch, model, optimizer, activations; CPU only).

Usage: ``python scripts/bench_lstm.py [--rounds 5] [--steps 10] [--threads N] [--device cuda]
[--medium] [--char-gru] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass

import torch
from torch import nn

VARIANTS = ("nn.LSTM", "custom_reference", "custom_noisy", "custom_noisy_fast")
GRAPH_VARIANTS = ("custom_noisy_graph", "custom_noisy_fast_graph")  # CUDA only
VOCAB_SIZE = 10_000


@dataclass(frozen=True)
class Shape:
    """A language model's size and a training batch."""

    name: str
    hidden_size: int
    num_layers: int
    batch_size: int
    bptt: int
    dropout: float = 0.0
    cell: str = "lstm"
    vocab_size: int = VOCAB_SIZE


SMALL = Shape("small", 200, 2, 20, 20)
MEDIUM = Shape("medium", 650, 2, 20, 35, dropout=0.5)
CHAR_GRU = Shape("char_gru", 512, 1, 32, 200, cell="gru", vocab_size=50)
SHAPES = {shape.name: shape for shape in (SMALL, MEDIUM, CHAR_GRU)}

# aten operations that only make a new view of existing memory: no kernel runs
_VIEW_OPS = {
    "aten::" + name
    for name in [
        "alias",
        "as_strided",
        "chunk",
        "detach",
        "expand",
        "lift_fresh",
        "narrow",
        "permute",
        "reshape",
        "select",
        "slice",
        "split",
        "split_with_sizes",
        "squeeze",
        "t",
        "transpose",
        "unbind",
        "unflatten",
        "unsqueeze",
        "view",
        "view_as",
    ]
}


def _build(variant: str, shape: Shape, device: torch.device) -> nn.Module:
    from noisyexp.models.rnn_lm import RNNLanguageModel

    if variant.startswith("custom_noisy"):
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
        shape.vocab_size,
        shape.hidden_size,
        shape.hidden_size,
        shape.num_layers,
        gate_unit=gate,
        cell_unit=cell,
        cell=shape.cell,
        dropout=shape.dropout,
    )
    if variant == "nn.LSTM":
        module = nn.LSTM if shape.cell == "lstm" else nn.GRU
        model.rnn = module(
            shape.hidden_size, shape.hidden_size, shape.num_layers, dropout=shape.dropout
        )
    else:
        model.rnn.fused = False
        model.rnn.fast_step = variant == "custom_noisy_fast"
    return model.to(device)


def _saved_bytes(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> int:
    """Bytes of distinct storages autograd saves during one forward pass."""
    storages: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        logits, _ = model(inputs)
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
    loss.backward()
    model.zero_grad(set_to_none=True)
    return sum(storages.values())


class _Trainer:
    """One variant's model, optimizer, fixed batch and carried state."""

    def __init__(self, variant: str, shape: Shape, device: torch.device) -> None:
        torch.manual_seed(0)
        self.device = device
        self.model = _build(variant, shape, device).train()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=1.0)
        generator = torch.Generator().manual_seed(1)
        stream = torch.randint(
            shape.vocab_size, (shape.bptt + 1, shape.batch_size), generator=generator
        ).to(device)
        self.inputs, self.targets = stream[:-1], stream[1:]  # (T, B)
        self.state = None

    def step(self) -> None:
        """One training step: forward, loss, backward, clip 5, SGD; the state carried."""
        logits, state = self.model(self.inputs, self.state)  # (T, B, V)
        if isinstance(state, tuple):
            self.state = tuple(part.detach() for part in state)
        else:
            self.state = state.detach()
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), self.targets.flatten())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), 5.0)
        self.optimizer.step()

    def time_steps(self, steps: int) -> float:
        """Seconds for ``steps`` steps (the device synchronised at both ends)."""
        _synchronize(self.device)
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        _synchronize(self.device)
        return time.perf_counter() - start

    def ops_per_step(self) -> tuple[int, int]:
        """(launching ops, all dispatched ops) of one training step, from the profiler."""
        import torch._inductor.config as inductor_config

        inductor_config.cpp.enable_kernel_profile = True  # compiled CPU kernels appear as events
        with torch.profiler.profile() as profile:
            self.step()
            _synchronize(self.device)
        counts = _top_level_ops(profile.events())
        launching = sum(n for name, n in counts.items() if name not in _VIEW_OPS)
        dispatched = sum(n for name, n in counts.items() if name.startswith("aten::"))
        return launching, dispatched


class _FixedWindow:
    """The bench's fixed batch as a static-buffer task: what ``trainer.cuda_graphs`` captures
    (the batch never changes here, so loading a step copies nothing)."""

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor, state: object) -> None:
        self.inputs, self.targets, self.state = inputs, targets, state
        self.pending: object = None

    def static_batch(self, model: nn.Module, step: int) -> int:
        return self.targets.numel()

    def static_forward(self, model: nn.Module):  # -> StepOutput
        from noisyexp.tasks.base import StepOutput

        logits, self.pending = model(self.inputs, self.state)  # (T, B, V)
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), self.targets.flatten())
        return StepOutput(loss=loss)

    def static_carry(self) -> None:
        from noisyexp.models.rnn_lm import state_tensors

        for part, value in zip(state_tensors(self.state), state_tensors(self.pending), strict=True):
            part.copy_(value.detach())


class _GraphedTrainer(_Trainer):
    """A noisy variant's step captured as a CUDA graph after one eager step (the bench's own
    warm-up steps then hold the capture), then replayed."""

    def __init__(self, variant: str, shape: Shape, device: torch.device) -> None:
        from noisyexp import activations
        from noisyexp.training.cuda_graphs import CudaBackend, GraphedStep, StaticStep

        super().__init__(variant.removesuffix("_graph"), shape, device)
        generator = torch.Generator(device=device).manual_seed(2)
        activations.set_noise_generator(self.model, generator)
        window = _FixedWindow(self.inputs, self.targets, self.model.zero_state(shape.batch_size))
        static = StaticStep(window, self.model, self.optimizer, clip_norm=5.0)  # type: ignore[arg-type]
        self.graphed = GraphedStep(static, CudaBackend(generator), warmup=1)
        self.steps_run = 0

    def step(self) -> None:
        """One replay (the first one eager, the second one captures first)."""
        self.graphed(self.steps_run, None)
        self.steps_run += 1

    def ops_per_step(self) -> tuple[int, int]:
        launching, dispatched = super().ops_per_step()
        return launching + 1, dispatched  # + the graph's launch, not an aten event


def _top_level_ops(events: list) -> Counter:
    """aten ops not called by another aten op, and compiled-graph kernels, by name."""
    counts: Counter = Counter()
    for event in events:
        name = event.name
        parent = event.cpu_parent
        if name.startswith("aten::"):
            if parent is None or not parent.name.startswith("aten::"):
                counts[name] += 1
        elif "cpp_fused" in name or name.startswith(("triton_", "graph_")):
            counts[name] += 1
    return counts


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(
    shape: Shape, variants: tuple[str, ...], rounds: int, steps: int, warmup: int, device: str
) -> dict[str, dict[str, float]]:
    """Tokens/s and ops per step of each variant, interleaved round by round so that machine
    load hits all alike. Reports the median over rounds (and the best round) of ``steps`` steps.
    """
    trainers = {
        name: (_GraphedTrainer if name in GRAPH_VARIANTS else _Trainer)(
            name, shape, torch.device(device)
        )
        for name in variants
    }
    for trainer in trainers.values():
        trainer.time_steps(warmup)  # the fast variant compiles here
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, trainer in trainers.items():
            seconds[name].append(trainer.time_steps(steps))
    tokens = steps * shape.bptt * shape.batch_size
    results = {}
    for name, values in seconds.items():
        trainer = trainers[name]
        launching, dispatched = trainer.ops_per_step()
        results[name] = {
            "tokens_per_s": tokens / statistics.median(values),
            "tokens_per_s_best": tokens / min(values),
            "ms_per_step": 1000 * statistics.median(values) / steps,
            "ops_per_step": launching,
            "dispatched_ops_per_step": dispatched,
            "saved_mib": _saved_bytes(trainer.model, trainer.inputs, trainer.targets) / 2**20,
        }
    baseline = results["nn.LSTM"]["tokens_per_s"]
    for result in results.values():
        result["speed_vs_nn_lstm"] = result["tokens_per_s"] / baseline
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


def _print_table(title: str, results: dict[str, dict[str, float]]) -> None:
    print(title)
    header = ("variant", "tokens/s", "x nn.LSTM", "ms/step", "ops/step", "dispatched", "saved MiB")
    widths = (25, 10, 11, 10, 10, 12, 11)
    print(
        "".join(
            f"{t:<{w}}" if i == 0 else f"{t:>{w}}"
            for i, (t, w) in enumerate(zip(header, widths, strict=True))
        )
    )
    for name, r in results.items():
        print(
            f"{name:<25}{r['tokens_per_s']:>10.0f}{r['speed_vs_nn_lstm']:>11.2f}"
            f"{r['ms_per_step']:>10.1f}{r['ops_per_step']:>10d}{r['dispatched_ops_per_step']:>12d}"
            f"{r['saved_mib']:>11.1f}"
        )


def main(argv: list[str] | None = None) -> None:
    """Parse arguments; print the tables, or the JSON object with ``--json``."""
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
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--medium", action="store_true", help="also the 2x650 medium shape")
    parser.add_argument("--char-gru", action="store_true", help="also the char-level GRU")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--rss-of", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.rss_of:  # child process: train a few steps, print the peak RSS
        _Trainer(args.rss_of, SMALL, torch.device("cpu")).time_steps(args.steps)
        print(_own_peak_rss_mib())
        return
    timing = (args.rounds, args.steps, args.warmup, args.device)
    variants = VARIANTS + (GRAPH_VARIANTS if args.device.startswith("cuda") else ())
    results: dict = measure(SMALL, variants, *timing)
    if args.device == "cpu":
        for name, result in results.items():
            result["peak_rss_mib"] = peak_rss_mib(name, args.warmup)
    if args.medium:
        results["medium"] = measure(MEDIUM, variants, *timing)
    if args.char_gru:
        results["char_gru"] = measure(CHAR_GRU, variants, *timing)
    if args.json:
        print(json.dumps(results))
        return
    where = f"{torch.get_num_threads()} CPU threads" if args.device == "cpu" else args.device
    for shape in (SMALL, MEDIUM, CHAR_GRU):
        table = results if shape is SMALL else results.get(shape.name)
        if table is None:
            continue
        _print_table(
            f"PTB {shape.name} training step ({shape.cell}, {shape.num_layers}x"
            f"{shape.hidden_size}, batch {shape.batch_size}, unroll {shape.bptt}); {where}; "
            f"median of {args.rounds} interleaved rounds of {args.steps} steps",
            {k: v for k, v in table.items() if k in variants},
        )


if __name__ == "__main__":
    main()
