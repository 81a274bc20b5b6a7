"""Forward+backward time and saved-for-backward memory of each unit, as ratios to torch.tanh.

    python scripts/bench_activations.py --threads 1          # 4M elements, table on stdout
    python scripts/bench_activations.py --size 16000 --num-units 800 --json bench.json
    python scripts/bench_activations.py --compile            # adds the torch.compile'd kernel

Time is the median (``--stat best``: the minimum) of ``--repeats`` rounds, units run
round-robin so that load from other processes hits them alike, of one forward and one backward
in training mode (noise drawn from a seeded generator, so the noisy units pay for their noise);
below 1M elements each timed sample runs the pair ``--inner`` times. On a shared machine use
``--threads 1``: OpenMP threads spin-waiting for busy cores make timings meaningless. Memory is the
bytes autograd keeps for backward (counted with ``saved_tensors_hooks``, each storage once),
in units of x's size: torch.tanh keeps its output, i.e. 1.0.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from functools import partial

import torch

from noisyexp import activations

__all__ = ["main", "measure"]

Forward = Callable[[torch.Tensor], torch.Tensor]


def _unit(type_name: str, num_units: int, kind: str, **overrides: object) -> Forward:
    unit = activations.make_unit(type_name, num_units, kind=kind, **overrides)
    unit.train()
    activations.set_noise_generator(unit, torch.Generator().manual_seed(0))
    return unit


def _with_fixed_noise(function: Callable, x: torch.Tensor, **kwargs: object) -> Forward:
    """A functional unit whose ξ was drawn beforehand: the cost of the formula alone."""
    xi = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    p = torch.empty(x.shape[-1]).uniform_(-1.0, 1.0).requires_grad_()
    return partial(function, xi=xi, p=p, **kwargs)


def candidates(x: torch.Tensor, compiled: bool) -> dict[str, Forward]:
    """Name -> forward function, the baseline first."""
    num_units = x.shape[-1]
    nan_kwargs = {"kind": "tanh", "alpha": 1.15, "c": 0.5}
    table: dict[str, Forward] = {"torch.tanh (baseline)": torch.tanh}
    for type_name, spec in activations.UNIT_TYPES.items():  # every registered unit type
        label = f"{type_name} (tanh)" if spec.noisy else type_name
        table[label] = _unit(type_name, num_units, "tanh")
    table["nah (sigmoid)"] = _unit("nah", num_units, "sigmoid")
    table["nanil softplus (tanh)"] = _unit("nanil", num_units, "tanh", softplus=True)
    table["nan fn, xi given"] = _with_fixed_noise(
        lambda x, xi, p, **kw: activations.noisy_output(x, xi, p=p, **kw), x, **nan_kwargs
    )
    table["nan plain autograd, xi given"] = _with_fixed_noise(
        lambda x, xi, p, **kw: activations.noisy_output_reference(x, xi, p=p, **kw),
        x,
        **nan_kwargs,
    )
    # the floor of every noisy unit: drawing its ξ (torch's CPU generator), plus one add
    noise = torch.Generator().manual_seed(0)
    table["xi draw alone (+ x)"] = lambda x: x + torch.randn(x.shape, generator=noise)
    if compiled:
        table["nan fn compiled, xi given"] = partial(_compiled, table["nan fn, xi given"])
        table["nan (tanh) compiled"] = partial(_compiled, table["nan (tanh)"])
        # Inductor draws random numbers inside its kernel (its own Philox stream, not the
        # run's generator): the one-pass "draw and apply" that a fused noisy unit would use
        table["xi drawn in-kernel (+ x), compiled"] = torch.compile(
            lambda x: x + torch.randn_like(x), fullgraph=True
        )
    return table


def _compiled(forward: Forward, x: torch.Tensor) -> torch.Tensor:
    activations.use_compiled_kernel(True)
    try:
        return forward(x)
    finally:
        activations.use_compiled_kernel(False)


def _saved_bytes(forward: Forward, x: torch.Tensor) -> int:
    storages: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    leaf = x.detach().requires_grad_()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        forward(leaf)
    return sum(storages.values())


def measure(
    forwards: dict[str, Forward],
    x: torch.Tensor,
    repeats: int,
    stat: str = "median",
    inner: int | None = None,
) -> dict[str, tuple[float, int]]:
    """Name -> (seconds of one forward+backward, bytes saved for backward).

    Units run round-robin, so load from other processes hits them all alike; ``stat`` is
    "median" (robust on a shared machine) or "best" (the least disturbed round). Each sample
    times ``inner`` forward+backward pairs (default: enough for ~1M elements) and divides.
    """
    if inner is None:
        inner = max(1, 1_000_000 // x.numel())
    grad = torch.ones_like(x)
    times: dict[str, list[float]] = {name: [] for name in forwards}
    for index in range(repeats + 1):  # the first round warms up
        for name, forward in forwards.items():
            leaves = [x.detach().requires_grad_() for _ in range(inner)]
            start = time.perf_counter()
            for leaf in leaves:
                forward(leaf).backward(grad)
            if index > 0:
                times[name].append((time.perf_counter() - start) / inner)
    summary = statistics.median if stat == "median" else min
    return {name: (summary(times[name]), _saved_bytes(forwards[name], x)) for name in forwards}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4_194_304, help="elements of x")
    parser.add_argument("--num-units", type=int, default=1024, help="last dimension of x")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per unit")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--stat", choices=("median", "best"), default="median")
    parser.add_argument("--inner", type=int, help="pairs per timed sample (default ~1M elements)")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)"
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    num_rows = max(1, args.size // args.num_units)
    torch.manual_seed(0)
    x = torch.randn(num_rows, args.num_units) * 2.0  # (rows, num_units), both regimes
    x_bytes = x.numel() * x.element_size()
    print(
        f"x: {tuple(x.shape)} float32, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}; "
        f"{args.stat} of {args.repeats} round-robin rounds"
    )
    results = measure(candidates(x, args.compile), x, args.repeats, args.stat, args.inner)
    rows = [
        {"unit": name, "ms": seconds * 1e3, "saved_x": saved / x_bytes}
        for name, (seconds, saved) in results.items()
    ]
    base = rows[0]
    print(f"{'unit':32s} {'fwd+bwd ms':>10s} {'x tanh':>7s} {'saved/x':>8s} {'x tanh':>7s}")
    for row in rows:
        row["time_ratio"] = row["ms"] / base["ms"]
        row["saved_ratio"] = row["saved_x"] / base["saved_x"]
        print(
            f"{row['unit']:32s} {row['ms']:10.2f} {row['time_ratio']:7.2f} "
            f"{row['saved_x']:8.2f} {row['saved_ratio']:7.2f}"
        )
    if args.json:
        meta = {
            "shape": list(x.shape),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "repeats": args.repeats,
            "stat": args.stat,
        }
        with open(args.json, "w") as handle:
            json.dump({"meta": meta, "rows": rows}, handle, indent=2)
    return rows


if __name__ == "__main__":
    main()
