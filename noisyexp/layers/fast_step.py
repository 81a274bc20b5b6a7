"""The fast path of the recurrent layers: compiled multi-step kernels, noise drawn per window.

In the plain path (:mod:`.lstm`, :mod:`.gru`) each time step runs the units one by one: a
noisy LSTM step dispatches ~60 small operations forward and ~30 backward, and each unit draws
its own noise. On a GPU that is host-bound (a few µs per launch); on a CPU each pass reads and
writes the gate tensors again. Here a ``torch.compile``-d function runs :data:`STEPS_PER_CALL`
time steps at a time (the recurrent matmul, every unit via
:meth:`noisyexp.activations.Unit.pure`, the state update), so Inductor fuses each step's
elementwise work into one kernel forward and one backward (C++ on CPU, Triton on GPU), and the
Python and guard overhead of a compiled call is paid once per chunk rather than per step.

Noise: a layer's noise for the whole window is drawn before the loop. On CPU it is one draw of
the same numbers the plain path draws step by step, in the same order, whenever that is
possible (all noisy units of the layer share one generator and one noise kind, and, for normal
noise, each unit's per-step count is a multiple of 16: torch's CPU sampler fills blocks of 16);
otherwise it is drawn step by step and unit by unit as in the plain path. So on CPU both paths
consume the noise stream identically and differ only by float rounding (fusion reorders
arithmetic). On CUDA the window is one draw whose numbers differ from the plain path's.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from noisyexp.activations import NoisyUnit, Unit

__all__ = [
    "STEPS_PER_CALL",
    "WindowNoise",
    "apply_unit",
    "chunks",
    "compile_unavailable",
    "compiled",
    "join_chunks",
    "observe",
    "split_steps",
    "supports_fast_step",
]

# torch's CPU normal sampler transforms uniforms in blocks of 16 (recomputing a ragged tail), so
# one draw of n1 + n2 numbers equals a draw of n1 then n2 only when n1 is a multiple of 16
_NORMAL_BLOCK = 16


def compile_unavailable(device: torch.device) -> str | None:
    """Why ``torch.compile`` cannot build kernels for ``device`` here, or None when it can.

    Inductor writes C++ and calls a compiler on CPU, and needs Triton on a GPU; without them the
    first compiled call would fail deep inside a training step.
    """
    if device.type == "cpu":
        names = [os.environ.get("CXX", ""), "g++", "clang++", "c++"]
        if not any(name and shutil.which(name) for name in names):
            return "no C++ compiler (g++, clang++ or $CXX) on PATH for torch.compile on CPU"
        return None
    if device.type == "cuda" and importlib.util.find_spec("triton") is None:
        return "torch.compile on CUDA needs the triton package (it comes with torch's CUDA wheels)"
    return None


def supports_fast_step(unit: nn.Module) -> bool:
    """A unit the fast path can run: a library unit with a ``pure`` form, or plain sigmoid/tanh."""
    if isinstance(unit, Unit):
        return type(unit).has_pure_form()
    return type(unit) in (nn.Sigmoid, nn.Tanh)


def apply_unit(unit: nn.Module, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    """``unit`` on ``x`` with the given noise, in plain differentiable ops (compilable)."""
    if isinstance(unit, Unit):
        return unit.pure(x, noise)
    return unit(x)


def chunks(steps: int) -> list[tuple[int, int]]:
    """[start, stop) of each compiled call over ``steps`` time steps."""
    return [(s, min(s + STEPS_PER_CALL, steps)) for s in range(0, steps, STEPS_PER_CALL)]


def split_steps(tensor: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``tensor`` (T, ...) cut as :func:`chunks` cuts the steps. ``split``, not slicing: its
    backward is one concatenation, where each slice's would fill a full-size zero tensor."""
    return tensor.split(STEPS_PER_CALL)


def join_chunks(
    outputs: list[torch.Tensor], first_h: torch.Tensor, previous_h: list[torch.Tensor]
) -> torch.Tensor:
    """The layer's (T, B, H) output from its chunks' outputs; appends to ``previous_h`` (the
    list :class:`~noisyexp.layers.recurrent.RecurrentWeightGrad` reads) the states each step
    multiplied, h_0 .. h_{T-1}, as one tensor."""
    output = torch.cat(outputs) if len(outputs) > 1 else outputs[0]
    previous_h.append(torch.cat([first_h.unsqueeze(0), output[:-1]]).detach())
    return output


def observe(units: Sequence[nn.Module], inputs: Sequence[torch.Tensor]) -> None:
    """Saturation tracking of the fast path: each unit sees its last step's input, as in the
    plain path (whose ``last_saturation`` is that of the unit's last call)."""
    for unit, x in zip(units, inputs, strict=True):
        if isinstance(unit, Unit) and unit.track_saturation:
            unit._observe(x)


class WindowNoise:
    """The noise of one layer's units for every step of a window: per unit, (T, B, num_units).

    Args:
        units: the layer's units in the order the plain path calls them each step.
        steps: time steps T.
        batch: batch size B.
        like: a tensor of the dtype and device to draw on.

    ``chunk(start, stop)`` returns, per unit, its noise for steps [start, stop) (None for a unit
    without noise now).
    """

    def __init__(
        self, units: Sequence[nn.Module], steps: int, batch: int, like: torch.Tensor
    ) -> None:
        self.units = list(units)
        self.steps, self.batch, self.like = steps, batch, like
        noisy = [isinstance(u, NoisyUnit) and u.draws_noise() for u in self.units]
        self.noise: list[torch.Tensor | None] = [None] * len(self.units)
        drawing = [u for u, n in zip(self.units, noisy, strict=True) if n]
        if not drawing:
            return
        if self._one_draw_possible(drawing):
            windows = self._one_draw(drawing)
        else:
            windows = self._step_by_step(drawing)
        it = iter(windows)
        self.noise = [next(it) if n else None for n in noisy]

    def _one_draw_possible(self, drawing: list[NoisyUnit]) -> bool:
        if len({id(u.generator) for u in drawing}) > 1 or len({u.noise for u in drawing}) > 1:
            return False
        if self.like.device.type != "cpu" or drawing[0].noise != "normal":
            return True  # CUDA: no stream to match; uniforms (Laplace) are drawn one by one
        return all(self.batch * u.num_units % _NORMAL_BLOCK == 0 for u in drawing)

    def _one_draw(self, drawing: list[NoisyUnit]) -> list[torch.Tensor]:
        sizes = [self.batch * u.num_units for u in drawing]
        flat = drawing[0].draw_noise(
            (self.steps, sum(sizes)), dtype=self.like.dtype, device=self.like.device
        )
        return [
            part.view(self.steps, self.batch, unit.num_units)
            for part, unit in zip(flat.split(sizes, dim=1), drawing, strict=True)
        ]

    def _step_by_step(self, drawing: list[NoisyUnit]) -> list[torch.Tensor]:
        kwargs = {"dtype": self.like.dtype, "device": self.like.device}
        draws = [
            [unit.draw_noise((self.batch, unit.num_units), **kwargs) for unit in drawing]
            for _ in range(self.steps)
        ]
        return [torch.stack(per_unit) for per_unit in zip(*draws, strict=True)]

    def chunk(self, start: int, stop: int) -> tuple[torch.Tensor | None, ...]:
        return tuple(None if n is None else n[start:stop] for n in self.noise)


#: time steps per compiled call: more means less call overhead but a longer compile (the steps
#: are unrolled); 5 halves the training-step time of 1 on a CPU for ~40 s of compiling
STEPS_PER_CALL = 5

#: the torch.compile backend: "inductor" fuses; tests use "eager" (Dynamo's capture only, fast)
BACKEND = "inductor"
_COMPILED: dict[tuple[Callable, str], Callable] = {}
_RECOMPILE_LIMIT = 64


def compiled(function: Callable[..., Any]) -> Callable[..., Any]:
    """``torch.compile(function)``, made once per function (and backend) for the process.

    The unit modules are arguments, so every layer of every model with the same kinds of units
    shares one compiled kernel; a unit's tensors (p, the noise scale c) are inputs, so annealing
    c or training p never recompiles, while its Python settings (α, the unit kind, train/eval)
    and the chunk length are guarded and pick their own kernel (hence a recompile limit above
    torch's default of 8). ``fullgraph``: a graph break is an error, not a silent fallback to
    many small kernels.
    """
    key = (function, BACKEND)
    if key not in _COMPILED:
        dynamo_config = torch._dynamo.config
        dynamo_config.cache_size_limit = max(dynamo_config.cache_size_limit, _RECOMPILE_LIMIT)
        _COMPILED[key] = torch.compile(function, fullgraph=True, backend=BACKEND)
    return _COMPILED[key]
