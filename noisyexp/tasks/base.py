"""The contract between the trainer and a task.

A task owns its data (read or generated in :meth:`Task.setup`), builds its model from two unit
factories, computes the training loss for a global step and evaluates a split. It knows nothing
about Hydra, logging or checkpoint files: the trainer drives it, and saves what `state_dict`
returns so a resumed run continues bit for bit.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from noisyexp.activations.roles import Units
from noisyexp.core.errors import ConfigError

# Units: re-exported, the models' type
__all__ = ["Units", "StepOutput", "DatasetInfo", "Task", "require_at_least"]


def require_at_least(cfg: Any, minimum: float, *keys: str) -> None:
    """Check a task config's counts and sizes: the first of ``keys`` below ``minimum`` is a
    ConfigError naming it as the user writes it (``task.<key>``)."""
    for key in keys:
        value = getattr(cfg, key)
        if value < minimum:
            raise ConfigError(f"task.{key} must be >= {minimum}, got {value}")


@dataclass
class StepOutput:
    """What one training step returns: the loss to backpropagate.

    ``num_items`` is the number of predictions behind ``loss`` (tokens, examples), used for
    throughput figures. ``reported_loss`` is the per-item loss to log when ``loss`` is scaled
    for the optimizer (e.g. summed over time steps as in Zaremba et al.'s PTB code).
    """

    loss: torch.Tensor
    num_items: int = 0
    reported_loss: torch.Tensor | None = None


@dataclass
class DatasetInfo:
    """Where a task's data came from, recorded in every run summary."""

    name: str
    checksum: str  # a digest of the files read, or "generated:<seed>" for synthetic data
    sizes: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


class Task(abc.ABC):
    """Base class of every task.

    Every task is constructed as ``TaskClass(cfg, data_dir=..., seed=..., device=...,
    download=...)`` where ``cfg`` is the task's own config dataclass; the constructor stores
    those and calls :meth:`setup`, where a subclass reads or generates its data (raising
    :class:`noisyexp.core.errors.DataError` with a one-line message when it is missing or corrupt).

    Training batches must be a deterministic function of ``(seed, step)`` plus whatever
    ``state_dict`` holds, so a run stopped at step k and resumed ends bit-identical to a run that
    never stopped.
    """

    #: metric (as returned by ``evaluate('valid')``, without the split prefix) that picks best.pt
    primary_metric: str = "loss"
    #: whether a larger primary metric is better
    higher_is_better: bool = False
    #: splits evaluated at every evaluation (the test split is evaluated once, at the end)
    eval_splits: tuple[str, ...] = ("valid",)
    #: where a task may write files of its own (translations): the trainer sets it to the run
    #: directory, which holds ``checkpoints/``; None outside a run
    output_dir: Path | None = None
    #: whether the task implements the static-buffer step (:meth:`static_batch`,
    #: :meth:`static_forward`, :meth:`static_carry`) that ``trainer.cuda_graphs`` captures
    supports_static_step: bool = False

    def __init__(
        self,
        cfg: Any,
        *,
        data_dir: Path,
        seed: int,
        device: torch.device,
        download: bool = True,
    ) -> None:
        self.cfg = cfg
        self.data_dir = Path(data_dir)
        self.seed = seed
        self.device = device
        self.download = download  # whether missing files may be fetched
        #: set by the trainer: called with (split, done, total) as a long evaluation advances
        self.eval_progress: Callable[[str, int, int], None] | None = None
        self.setup()

    def setup(self) -> None:  # noqa: B027
        """Read or generate the data: called once by ``__init__``, with the attributes set."""

    @abc.abstractmethod
    def dataset_info(self) -> DatasetInfo:
        """Name, checksum and split sizes of the data this task reads or generates."""

    @abc.abstractmethod
    def build_model(self, units: Units) -> nn.Module:
        """Build the model with its activations taken from ``units``."""

    @abc.abstractmethod
    def steps_per_epoch(self) -> int:
        """Number of optimizer steps in one pass over the training data (>= 1)."""

    @abc.abstractmethod
    def train_step(self, model: nn.Module, step: int) -> StepOutput:
        """Forward pass and loss for global step ``step`` (0-based); no backward, no optimizer."""

    @abc.abstractmethod
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        """Metrics on ``split`` ('valid' or 'test'), with the model in eval mode."""

    # ---- the static-buffer step (optional; see ``supports_static_step``) -----------------
    # A CUDA graph replays fixed kernels on fixed memory, so the step is split in three: the
    # batch of ``step`` copied into buffers that never move (outside the graph), the forward
    # pass on those buffers, and the carried state written back in place once the backward
    # pass no longer needs it. Run in that order, the three equal :meth:`train_step`.

    def static_batch(self, model: nn.Module, step: int) -> int:
        """Copy step ``step``'s batch (and reset or restore the carried state) into the static
        buffers, allocating them on first use; returns the number of predictions."""
        raise NotImplementedError(f"{type(self).__name__} has no static-buffer step")

    def static_forward(self, model: nn.Module) -> StepOutput:
        """:meth:`train_step`'s forward pass and loss on the static buffers (no host syncs)."""
        raise NotImplementedError(f"{type(self).__name__} has no static-buffer step")

    def static_carry(self) -> None:
        """Write the carried state of the last :meth:`static_forward` into its buffers, in
        place (called after the backward pass)."""
        raise NotImplementedError(f"{type(self).__name__} has no static-buffer step")

    def on_evaluate(self, metrics: dict[str, float], step: int) -> None:  # noqa: B027
        """Hook called with the validation metrics after each evaluation (e.g. curricula)."""

    def should_stop(self) -> bool:
        """Whether training should end before its budget (early stopping); asked every step."""
        return False

    def state_dict(self) -> dict[str, Any]:
        """Carried state (hidden states, curriculum level) to checkpoint; tensors and plain data."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:  # noqa: B027
        """Restore what :meth:`state_dict` returned."""
