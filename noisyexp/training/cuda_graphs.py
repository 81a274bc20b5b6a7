"""``trainer.cuda_graphs``: the training step captured once as a CUDA graph, then replayed.

A noisy recurrent step launches thousands of small kernels, and on a GPU their launch cost,
not their arithmetic, sets the speed. A replayed graph launches the whole step at once. A graph
holds only a narrow kind of step: fixed memory (the batch and the carried state are copied into
static buffers outside it), no host synchronisation inside, and every Python number in it (the
lr, the noise scale c) frozen at capture. So the work is split in two:

- :class:`StaticStep` is the step over the task's static buffers. It runs eagerly on any device,
  and the CPU tests hold it to the plain step, bit for bit.
- :class:`GraphedStep` runs the first steps eagerly (warm-up: lazy initialisation and
  ``torch.compile`` happen outside a capture), captures one step, and replays it. It captures
  again when the lr or c changes, after one more eager step. It runs eagerly the steps whose
  unit statistics are logged, because those are recorded on the host. When the values change
  every few steps it stops capturing, because a graph would not pay for itself. The graph work
  itself is a small :class:`CaptureBackend`; :class:`CudaBackend` is the real one.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Hashable
from typing import Protocol

import torch
from torch import nn

from noisyexp.tasks import get_task, task_names
from noisyexp.tasks.base import Task

__all__ = [
    "CaptureBackend",
    "CudaBackend",
    "GraphedStep",
    "StaticStep",
    "cuda_graphs_unavailable",
]

log = logging.getLogger(__name__)


def cuda_graphs_unavailable(device: torch.device, task: Task, *, skip_nonfinite: int) -> str | None:
    """Why this run's step cannot be captured, or None when it can (the task first: that
    answer does not depend on the machine)."""
    if not task.supports_static_step:
        able = [name for name in task_names() if get_task(name)[1].supports_static_step]
        return (
            f"{type(task).__name__} has no static-buffer step (tasks with one: {', '.join(able)})"
        )
    if skip_nonfinite:
        return (
            "a captured step applies its update before the loss is read, so it cannot skip a "
            "non-finite loss; set trainer.skip_nonfinite=0"
        )
    if device.type != "cuda":
        return f"CUDA graphs need a CUDA device, and this run is on {device.type}"
    return None


class StaticStep:
    """Forward, backward, clipping and update over the task's static buffers.

    The plain step's operations in the plain step's order, with no host synchronisation (the
    loss is not read inside). ``loss`` holds the reported loss of the last step run, eager or
    replayed: one tensor, written in place by each.
    """

    def __init__(
        self,
        task: Task,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        clip_norm: float | None,
    ) -> None:
        self.task, self.model, self.optimizer, self.clip_norm = task, model, optimizer, clip_norm
        self.loss: torch.Tensor | None = None

    def load(self, step: int) -> int:
        """The batch of ``step`` into the buffers (outside any graph); returns its item count."""
        return self.task.static_batch(self.model, step)

    def drop_grads(self) -> None:
        """Free the gradients before a capture, so that the graph allocates its own."""
        self.optimizer.zero_grad(set_to_none=True)

    def run(self) -> None:
        """One update from the loaded buffers (what a graph captures)."""
        self.optimizer.zero_grad(set_to_none=True)  # a capture then allocates its own grads
        output = self.task.static_forward(self.model)
        output.loss.backward()
        if self.clip_norm is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_norm)
        self.optimizer.step()
        self.task.static_carry()
        reported = output.reported_loss if output.reported_loss is not None else output.loss
        if self.loss is None:
            self.loss = reported.detach().clone()
        else:
            self.loss.copy_(reported.detach())


class CaptureBackend(Protocol):
    """Runs a step eagerly, or captures it and returns its replay."""

    def run_eager(self, fn: Callable[[], None]) -> None: ...

    def capture(self, fn: Callable[[], None]) -> Callable[[], None]: ...


class CudaBackend:
    """CUDA graphs through ``torch.cuda``: eager steps on a side stream (as PyTorch's
    whole-network capture recipe does), and the noise generator registered with each graph so
    replays advance its Philox offset the way eager draws do."""

    def __init__(self, noise_generator: torch.Generator | None) -> None:
        self.noise_generator = noise_generator  # None: the units draw from the default one
        self.stream = torch.cuda.Stream()

    def run_eager(self, fn: Callable[[], None]) -> None:
        self.stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.stream), warnings.catch_warnings():
            # a capturable optimizer (Adam, RMSprop) warns when it steps outside a capture
            warnings.filterwarnings("ignore", message=".*capturable=True.*")
            fn()
        torch.cuda.current_stream().wait_stream(self.stream)

    def capture(self, fn: Callable[[], None]) -> Callable[[], None]:
        graph = torch.cuda.CUDAGraph()
        if self.noise_generator is not None:  # a capture registers the default one itself
            graph.register_generator_state(self.noise_generator)
        with torch.cuda.graph(graph, stream=self.stream):
            fn()
        return graph.replay


class GraphedStep:
    """A :class:`StaticStep` run eagerly at first, then captured once and replayed.

    Args:
        static: the step.
        backend: eager runs and captures (:class:`CudaBackend` on a GPU).
        warmup: eager steps before the first capture (PyTorch's recipe uses a few).
        min_replays: a graph replayed fewer times before the frozen values changed means they
            change too often for graphs to pay off; the rest of the run stays eager.
    """

    def __init__(
        self,
        static: StaticStep,
        backend: CaptureBackend,
        *,
        warmup: int = 3,
        min_replays: int = 20,
    ) -> None:
        self.static, self.backend, self.min_replays = static, backend, min_replays
        self.enabled = True
        self.captures = 0  # graphs captured so far
        self.replays = 0  # replays of the current graph
        self.total_replays = 0  # steps run as a replay, this session
        self.eager_steps = 0  # steps run eagerly, this session
        self._eager_left = warmup  # eager steps before the next capture
        self._key: Hashable = None  # the frozen values the current graph holds
        self._replay: Callable[[], None] | None = None

    def __call__(
        self, step: int, key: Hashable, *, eager: bool = False
    ) -> tuple[torch.Tensor, int]:
        """Run step ``step``; ``key`` names the Python values it freezes (lr, c).

        ``eager`` runs this one step outside the graph (a logged step's statistics). Returns the
        reported loss (a device tensor, not read here) and the number of items.
        """
        num_items = self.static.load(step)
        if self.enabled and key != self._key:
            self._release(changed=self._key is not None)
            self._key = key
        if not self.enabled or eager or self._eager_left > 0:
            self.backend.run_eager(self.static.run)
            self._eager_left = max(0, self._eager_left - 1)
            self.eager_steps += 1
        else:
            if self._replay is None:
                self.static.drop_grads()
                self._replay = self.backend.capture(self.static.run)
                self.captures += 1
                log.info("trainer.cuda_graphs: captured the training step at step %d", step)
                self.replays = 0
            self._replay()
            self.replays += 1
            self.total_replays += 1
        assert self.static.loss is not None
        return self.static.loss, num_items

    def stats(self) -> dict[str, int | bool]:
        """What ran how, this session (a resumed run counts from its resume)."""
        return {
            "captures": self.captures,
            "replayed_steps": self.total_replays,
            "eager_steps": self.eager_steps,
            "enabled": self.enabled,
        }

    def _release(self, *, changed: bool) -> None:
        """Drop the current graph because its frozen values changed."""
        if changed and self._replay is not None and self.replays < self.min_replays:
            self.enabled = False
            log.info(
                "trainer.cuda_graphs: the lr or noise scale changed after %d replays; the "
                "step runs eagerly from here",
                self.replays,
            )
        self._replay = None
        self._eager_left = max(self._eager_left, 1)  # new values may recompile: not in a capture
