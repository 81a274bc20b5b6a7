"""The NTM algorithmic tasks: copy and associative recall (Graves et al., 2014; paper §6.6, Fig 9).

Both tasks generate their data. A training batch is a deterministic function of ``(seed, step)``
(its length or item count is drawn by the same generator, one per batch: every sequence of a batch
has the same length, which keeps the NTM loop batched). Validation and test sets are fixed, drawn
from ``data_seed`` once per evaluated length, ``eval_size`` sequences each.

The sequences (copy, associative recall, their layouts) are made in
:mod:`noisyexp.data.ntm_sequences`.

Metrics, on the answer steps only, with each bit a Bernoulli of probability sigmoid(logit):
``nll`` is the negative log-likelihood in nats summed over a sequence's answer bits and averaged
over sequences, ``bit_errors`` the bits on the wrong side of 0.5 per sequence. ``evaluate`` gives
both per evaluated length (``nll_len<L>``, ``bit_errors_len<L>``; for associative recall L is the
number of items) and their average over the lengths (``nll``, the primary metric, and
``bit_errors``). For associative recall ``nll_paper`` is ``nll`` on the paper's scale: divided by
``num_bits`` (6), i.e. summed over the 3 answer rows and averaged over the bit channels, so chance
is 3 ln 2 = 2.079 where the paper's Fig 9 curves start (ours: 18 ln 2 = 12.48).

Options closer to the authors' D-NTM recall scripts, all off by default (see
:mod:`noisyexp.models.ntm`): ``controller_output`` (no memory path to the output),
``content_addressing`` and ``address_size`` (learned address vectors); and, for recall,
``per_sequence_items``: the item count is drawn per sequence, not per batch, and the shorter
sequences of a batch are left-padded with zero steps that a mask tells the NTM to skip (the
authors' generator pads on the right with a mask; with the state carried over it is the same).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from noisyexp.activations.roles import Units
from noisyexp.core.errors import ConfigError
from noisyexp.core.rng import seeded_generator
from noisyexp.data.ntm_sequences import (
    make_copy_batch,
    make_recall_batch,
    make_recall_batch_per_sequence,
)
from noisyexp.models.ntm import NTM
from noisyexp.tasks.base import DatasetInfo, StepOutput, Task, require_at_least

__all__ = [
    "NTMTaskConfig",
    "CopyConfig",
    "AssocRecallConfig",
    "CopyTask",
    "AssocRecallTask",
    "sequence_nll",
    "sequence_bit_errors",
]

_CONTROLLERS = ("feedforward", "lstm")
#: config keys added after the checksum of dataset_info was introduced -> their defaults
_ADDED_KEYS = {
    "controller_output": False,
    "content_addressing": False,
    "address_size": 0,
    "per_sequence_items": False,
}


@dataclass
class NTMTaskConfig:
    """The fields both NTM tasks share: evaluation sets, batches, the controller, the memory.

    Attributes:
        eval_size: sequences per evaluated length (copy) or item count (recall).
        data_seed: seed of the fixed evaluation sets.
        batch_size: sequences per training step.
        steps_per_epoch: training steps counted as one epoch (the data are endless).
        controller: ``feedforward`` (the paper's noisy controller, as D-NTM) or ``lstm``.
        controller_size: controller hidden units.
        memory_size: memory rows N.
        memory_width: memory row width M.
        num_read_heads: read heads.
        controller_output: the output layer reads the controller only (D-NTM use_out_mem=False).
        content_addressing: content-only addressing, no location steps (D-NTM's default).
        address_size: learned address numbers in front of each memory row (0 = none).
    """

    eval_size: int = 128
    data_seed: int = 0
    batch_size: int = 16
    steps_per_epoch: int = 500
    controller: str = "feedforward"
    controller_size: int = 100
    memory_size: int = 64
    memory_width: int = 20
    num_read_heads: int = 1
    controller_output: bool = False
    content_addressing: bool = False
    address_size: int = 0

    def __post_init__(self) -> None:
        require_at_least(
            self,
            1,
            "eval_size",
            "batch_size",
            "steps_per_epoch",
            "controller_size",
            "memory_size",
            "memory_width",
            "num_read_heads",
        )
        if self.address_size < 0:
            raise ConfigError(f"task.address_size must be >= 0, got {self.address_size}")
        if self.controller not in _CONTROLLERS:
            raise ConfigError(
                f"task.controller must be one of {', '.join(_CONTROLLERS)}, got {self.controller!r}"
            )


@dataclass
class CopyConfig(NTMTaskConfig):
    """Config of ``task=copy`` (with :class:`NTMTaskConfig`'s fields).

    Attributes:
        name: task name.
        num_bits: bits per vector (Graves: 8).
        min_len: shortest training sequence.
        max_len: longest training sequence (Graves: 20).
        eval_lengths: lengths of the fixed validation/test sets (longer = generalisation).
    """

    name: str = "copy"
    num_bits: int = 8
    min_len: int = 1
    max_len: int = 20
    eval_lengths: list[int] = field(default_factory=lambda: [10, 20, 30])

    def __post_init__(self) -> None:
        super().__post_init__()
        require_at_least(self, 1, "num_bits")
        if not 1 <= self.min_len <= self.max_len:
            raise ConfigError(
                f"task.min_len and task.max_len need 1 <= min_len <= max_len, "
                f"got {self.min_len} and {self.max_len}"
            )
        if not self.eval_lengths or min(self.eval_lengths) < 1:
            raise ConfigError(f"task.eval_lengths must be lengths >= 1, got {self.eval_lengths}")


@dataclass
class AssocRecallConfig(NTMTaskConfig):
    """Config of ``task=assoc_recall`` (with :class:`NTMTaskConfig`'s fields).

    Attributes:
        name: task name.
        num_bits: bits per item row (Graves: 6).
        item_len: rows per item (Graves: 3).
        min_items: fewest items in training (paper: 2).
        max_items: most items in training (paper: 16).
        per_sequence_items: draw the item count per sequence (the authors' generator), left-pad
            the shorter ones and mask the padding; default: one count per batch.
        eval_items: item counts of the fixed validation/test sets (paper Fig 9: 2 and 16).
        memory_size: memory rows N (more than copy's: 16 items of 3 rows).
    """

    name: str = "assoc_recall"
    num_bits: int = 6
    item_len: int = 3
    min_items: int = 2
    max_items: int = 16
    eval_items: list[int] = field(default_factory=lambda: [2, 16])
    memory_size: int = 128
    per_sequence_items: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        require_at_least(self, 1, "num_bits", "item_len")
        if not 2 <= self.min_items <= self.max_items:
            raise ConfigError(
                f"task.min_items and task.max_items need 2 <= min_items <= max_items, "
                f"got {self.min_items} and {self.max_items}"
            )
        if not self.eval_items or min(self.eval_items) < 2:
            raise ConfigError(f"task.eval_items must be item counts >= 2, got {self.eval_items}")


def sequence_nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sequence Bernoulli NLL in nats: (K, B, bits) logits and targets -> (B,)."""
    nll = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return nll.sum(dim=(0, 2))


def sequence_bit_errors(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Wrong bits per sequence (a bit is predicted 1 when its logit > 0): -> (B,) float."""
    return ((logits > 0).float() != targets).float().sum(dim=(0, 2))


class _NTMTask(Task):
    """Shared machinery: endless training batches, fixed eval sets, NLL and bit-error metrics."""

    primary_metric = "nll"
    higher_is_better = False
    #: delimiter channels after the ``num_bits`` data channels of the input, set by subclasses
    delimiter_channels: int
    #: (input width, output width) of the task's sequences
    input_size: int
    output_size: int

    def setup(self) -> None:
        cfg, device = self.cfg, self.device
        self.input_size = cfg.num_bits + self.delimiter_channels
        self.output_size = cfg.num_bits
        self.eval_sets: dict[str, dict[int, tuple[torch.Tensor, torch.Tensor]]] = {}
        for stream, split in ((1, "valid"), (2, "test")):
            self.eval_sets[split] = {
                length: tuple(
                    tensor.to(device)
                    for tensor in self.make_batch(
                        cfg.eval_size, length, seeded_generator(cfg.data_seed, stream, length)
                    )
                )
                for length in self._eval_lengths()
            }

    # --- what a subclass defines -----------------------------------------------------------
    def make_batch(
        self, batch_size: int, length: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs (T, B, input_size) and targets (K, B, output_size) for the last K steps."""
        raise NotImplementedError

    def _eval_lengths(self) -> list[int]:
        raise NotImplementedError

    def _train_length_range(self) -> tuple[int, int]:
        raise NotImplementedError

    # --- the Task contract -----------------------------------------------------------------
    def dataset_info(self) -> DatasetInfo:
        config = {  # keys added later count only when set, so earlier checksums stay the same
            key: value
            for key, value in vars(self.cfg).items()
            if key not in _ADDED_KEYS or value != _ADDED_KEYS[key]
        }
        digest = hashlib.sha256(repr(sorted(config.items())).encode())
        for split in ("valid", "test"):
            for length, (inputs, targets) in sorted(self.eval_sets[split].items()):
                digest.update(f"{split}:{length}".encode())
                digest.update(inputs.cpu().numpy().tobytes())
                digest.update(targets.cpu().numpy().tobytes())
        low, high = self._train_length_range()
        return DatasetInfo(
            name=self.cfg.name,
            checksum=f"generated:{digest.hexdigest()[:16]}",
            sizes={split: self.cfg.eval_size * len(sets) for split, sets in self.eval_sets.items()},
            extra={
                "train_lengths": [low, high],
                "eval_lengths": self._eval_lengths(),
                "data_seed": self.cfg.data_seed,
            },
        )

    def build_model(self, units: Units) -> nn.Module:
        cfg = self.cfg
        return NTM(
            self.input_size,
            self.output_size,
            gate_unit=units.gate,
            cell_unit=units.cell,
            controller=cfg.controller,
            controller_size=cfg.controller_size,
            memory_size=cfg.memory_size,
            memory_width=cfg.memory_width,
            num_read_heads=cfg.num_read_heads,
            controller_output=cfg.controller_output,
            content_addressing=cfg.content_addressing,
            address_size=cfg.address_size,
        )

    def steps_per_epoch(self) -> int:
        return self.cfg.steps_per_epoch

    def make_train_batch(
        self, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """A training batch from ``generator``: one length per batch, no mask (subclasses vary)."""
        low, high = self._train_length_range()
        length = int(torch.randint(low, high + 1, (1,), generator=generator))
        return (*self.make_batch(self.cfg.batch_size, length, generator), None)

    def train_batch_with_mask(
        self, step: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Inputs, targets and mask (None: no padding) of ``step``: a function of (seed, step)."""
        inputs, targets, mask = self.make_train_batch(seeded_generator(self.seed, step))
        mask = None if mask is None else mask.to(self.device)
        return inputs.to(self.device), targets.to(self.device), mask

    def train_batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The training batch of ``step``: a function of (seed, step) alone."""
        inputs, targets, _ = self.train_batch_with_mask(step)
        return inputs, targets

    def train_step(self, model: nn.Module, step: int) -> StepOutput:
        model.train()
        inputs, targets, mask = self.train_batch_with_mask(step)
        outputs = model(inputs) if mask is None else model(inputs, mask)
        logits = outputs[-targets.shape[0] :]  # (K, B, bits): the answer steps
        nll = sequence_nll(logits, targets)
        return StepOutput(loss=nll.mean(), num_items=int(targets.shape[1]))

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        if split not in self.eval_sets:
            raise ValueError(f"split must be 'valid' or 'test', got {split!r}")
        was_training = model.training
        model.eval()
        metrics: dict[str, float] = {}
        for length, (inputs, targets) in self.eval_sets[split].items():
            logits = model(inputs)[-targets.shape[0] :]
            metrics[f"nll_len{length}"] = sequence_nll(logits, targets).mean().item()
            metrics[f"bit_errors_len{length}"] = sequence_bit_errors(logits, targets).mean().item()
        model.train(was_training)
        lengths = list(self.eval_sets[split])
        metrics["nll"] = sum(metrics[f"nll_len{n}"] for n in lengths) / len(lengths)
        metrics["bit_errors"] = sum(metrics[f"bit_errors_len{n}"] for n in lengths) / len(lengths)
        return metrics


class CopyTask(_NTMTask):
    """Copy a sequence of random bit vectors after a delimiter (Graves §4.1); cfg: CopyConfig."""

    delimiter_channels = 1

    def make_batch(
        self, batch_size: int, length: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return make_copy_batch(batch_size, length, self.cfg.num_bits, generator)

    def _eval_lengths(self) -> list[int]:
        return list(self.cfg.eval_lengths)

    def _train_length_range(self) -> tuple[int, int]:
        return self.cfg.min_len, self.cfg.max_len


class AssocRecallTask(_NTMTask):
    """Return the item that followed a queried item (Graves §4.3); lengths count items.

    cfg: AssocRecallConfig.
    """

    delimiter_channels = 2  # item and query delimiters

    def make_batch(
        self, batch_size: int, length: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return make_recall_batch(
            batch_size, length, self.cfg.item_len, self.cfg.num_bits, generator
        )

    def _eval_lengths(self) -> list[int]:
        return list(self.cfg.eval_items)

    def _train_length_range(self) -> tuple[int, int]:
        return self.cfg.min_items, self.cfg.max_items

    def make_train_batch(
        self, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        cfg = self.cfg
        if not cfg.per_sequence_items:
            return super().make_train_batch(generator)
        return make_recall_batch_per_sequence(
            cfg.batch_size, cfg.min_items, cfg.max_items, cfg.item_len, cfg.num_bits, generator
        )

    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        metrics = super().evaluate(model, split)
        metrics["nll_paper"] = metrics["nll"] / self.cfg.num_bits  # the paper's Fig 9 scale
        return metrics
