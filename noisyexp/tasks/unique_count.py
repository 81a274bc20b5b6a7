"""Counting the unique integers in a random sequence (paper §6.6, Table 5).

The paper's continuation experiment: an LSTM + MLP must say how many distinct values a random
integer sequence holds. Plain training stalls; a curriculum over the sequence length helps;
annealing the noise of noisy units (c from 30 down) helps most.

Data. The paper says "values between 0 and 10"; we read it as inclusive, 11 symbols 0..10
(``num_values = 11``). Each element is drawn uniformly and independently, so for the default
length 26 the count is usually 9, 10 or 11. The target is the count as a class index
(``num_classes = min(seq_len, num_values) + 1``; class 0 is never a target). Train, valid and
test sets are fixed: drawn once from ``data_seed`` (not the run seed, so seeds of one experiment
share their data and differ only in initialisation and batch order). Training makes epochs over
the fixed train set, shuffled per epoch by a generator seeded from ``(seed, epoch)``, so the batch
of a step depends only on the seed and the step.

Curriculum. With ``curriculum: true`` training starts on the first ``curriculum_start_len``
elements of each train sequence (relabelled with the prefix's own count). After each evaluation,
if the validation accuracy *at the current length* reaches ``curriculum_threshold``, the length
grows by ``curriculum_step`` (up to ``seq_len``). With ``curriculum_patience`` = k > 0 it also
grows after k evaluations at one length that missed the threshold, so a fixed budget always
reaches the full length (0 = wait for the threshold forever). The current length and the
evaluations spent at it are checkpointed.
Validation and test metrics are always on full-length sequences.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from noisyexp.activations.roles import Units
from noisyexp.core.errors import ConfigError
from noisyexp.core.rng import seeded_generator
from noisyexp.data.batching import step_batch_indices
from noisyexp.models.counter import UniqueCounter
from noisyexp.tasks.base import DatasetInfo, StepOutput, Task, require_at_least

__all__ = [
    "UniqueCountConfig",
    "UniqueCountTask",
    "count_unique",
    "generate_sequences",
]

_EVAL_CHUNK = 2048


@dataclass
class UniqueCountConfig:
    """Config of ``task=unique_count``.

    Attributes:
        name: task name.
        seq_len: sequence length (paper: 26).
        num_values: symbols per element; 11 means the values 0..10 inclusive.
        train_size: sequences in the fixed training set.
        valid_size: sequences in the fixed validation set.
        test_size: sequences in the fixed test set.
        data_seed: seed of the fixed sets (shared by every run seed).
        batch_size: sequences per training step.
        hidden_size: LSTM hidden units.
        mlp_size: hidden units of the ReLU MLP.
        num_layers: LSTM layers.
        curriculum: grow the training length from ``curriculum_start_len`` to ``seq_len``.
        curriculum_start_len: first training length of the curriculum.
        curriculum_threshold: validation accuracy (at the current length) that moves it on.
        curriculum_step: how much the length grows each time.
        curriculum_patience: evaluations at one length after which it grows anyway (0 = never).
        scalar_input: feed each value as one scalar, value / (num_values - 1), instead of a
            one-hot vector: a harder variant (the model must learn to tell the values apart).
    """

    name: str = "unique_count"
    seq_len: int = 26
    num_values: int = 11
    train_size: int = 100000
    valid_size: int = 1000
    test_size: int = 1000
    data_seed: int = 0
    batch_size: int = 64
    hidden_size: int = 64
    mlp_size: int = 64
    num_layers: int = 1
    curriculum: bool = False
    curriculum_start_len: int = 6
    curriculum_threshold: float = 0.9
    curriculum_step: int = 2
    curriculum_patience: int = 0
    scalar_input: bool = False

    def __post_init__(self) -> None:
        require_at_least(
            self,
            1,
            "seq_len",
            "train_size",
            "valid_size",
            "test_size",
            "batch_size",
            "hidden_size",
            "mlp_size",
            "num_layers",
            "curriculum_start_len",
            "curriculum_step",
        )
        if self.curriculum_patience < 0:
            raise ConfigError(
                f"task.curriculum_patience must be >= 0, got {self.curriculum_patience}"
            )
        if self.num_values < 2:
            raise ConfigError(f"task.num_values must be >= 2, got {self.num_values}")
        if self.batch_size > self.train_size:
            raise ConfigError(
                f"task.batch_size ({self.batch_size}) must be <= task.train_size "
                f"({self.train_size})"
            )
        if self.curriculum_start_len > self.seq_len:
            raise ConfigError(
                f"task.curriculum_start_len ({self.curriculum_start_len}) must be <= "
                f"task.seq_len ({self.seq_len})"
            )
        if not 0.0 < self.curriculum_threshold <= 1.0:
            raise ConfigError(
                f"task.curriculum_threshold must be in (0, 1], got {self.curriculum_threshold}"
            )


def count_unique(tokens: torch.Tensor, num_values: int) -> torch.Tensor:
    """Number of distinct values in each column of ``tokens`` (T, B) -> (B,) int64."""
    return F.one_hot(tokens, num_values).amax(dim=0).sum(dim=-1)


def generate_sequences(
    num_sequences: int, seq_len: int, num_values: int, generator: torch.Generator
) -> torch.Tensor:
    """Uniform i.i.d. integers in ``[0, num_values)``, shaped (T, B) = (seq_len, num_sequences)."""
    return torch.randint(num_values, (seq_len, num_sequences), generator=generator)


class UniqueCountTask(Task):
    """Unique-integer counting; see the module docstring for data and curriculum."""

    primary_metric = "error"
    higher_is_better = False

    cfg: UniqueCountConfig

    def setup(self) -> None:
        cfg, device = self.cfg, self.device
        self.num_classes = min(cfg.seq_len, cfg.num_values) + 1
        self.splits: dict[str, torch.Tensor] = {}  # split -> (T, N) int64 on device
        for stream, (split, size) in enumerate(
            (("train", cfg.train_size), ("valid", cfg.valid_size), ("test", cfg.test_size))
        ):
            tokens = generate_sequences(
                size, cfg.seq_len, cfg.num_values, seeded_generator(cfg.data_seed, stream)
            )
            self.splits[split] = tokens.to(device)
        self.current_len = cfg.curriculum_start_len if cfg.curriculum else cfg.seq_len
        self.evals_at_len = 0  # evaluations that missed the threshold at current_len

    def dataset_info(self) -> DatasetInfo:
        digest = hashlib.sha256()
        for split in ("train", "valid", "test"):
            digest.update(self.splits[split].cpu().numpy().tobytes())
        return DatasetInfo(
            name="unique_count",
            checksum=f"generated:{digest.hexdigest()[:16]}",
            sizes={split: int(tokens.shape[1]) for split, tokens in self.splits.items()},
            extra={
                "seq_len": self.cfg.seq_len,
                "num_values": self.cfg.num_values,
                "data_seed": self.cfg.data_seed,
            },
        )

    def build_model(self, units: Units) -> nn.Module:
        cfg = self.cfg
        return UniqueCounter(
            cfg.num_values,
            cfg.hidden_size,
            cfg.mlp_size,
            self.num_classes,
            gate_unit=units.gate,
            cell_unit=units.cell,
            num_layers=cfg.num_layers,
            scalar_input=cfg.scalar_input,
        )

    def steps_per_epoch(self) -> int:
        return self.cfg.train_size // self.cfg.batch_size

    def _batch_indices(self, step: int) -> torch.Tensor:
        """Indices of the training sequences of ``step``: epoch-wise shuffles from (seed, epoch)."""
        cfg = self.cfg
        return step_batch_indices(cfg.train_size, cfg.batch_size, self.seed, step).to(self.device)

    def train_step(self, model: nn.Module, step: int) -> StepOutput:
        model.train()
        tokens = self.splits["train"][: self.current_len, self._batch_indices(step)]  # (L, B)
        targets = count_unique(tokens, self.cfg.num_values)
        logits = model(tokens)  # (B, C)
        loss = F.cross_entropy(logits, targets)
        return StepOutput(loss=loss, num_items=int(targets.numel()))

    @torch.no_grad()
    def _score(self, model: nn.Module, tokens: torch.Tensor) -> tuple[float, float]:
        """Mean cross-entropy and accuracy of ``model`` on sequences (T, N)."""
        total_loss, correct = 0.0, 0
        for start in range(0, tokens.shape[1], _EVAL_CHUNK):
            chunk = tokens[:, start : start + _EVAL_CHUNK]
            targets = count_unique(chunk, self.cfg.num_values)
            logits = model(chunk)
            total_loss += F.cross_entropy(logits, targets, reduction="sum").item()
            correct += int((logits.argmax(-1) == targets).sum())
        count = tokens.shape[1]
        return total_loss / count, correct / count

    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        if split not in ("valid", "test"):
            raise ValueError(f"split must be 'valid' or 'test', got {split!r}")
        was_training = model.training
        model.eval()
        tokens = self.splits[split]
        loss, accuracy = self._score(model, tokens)
        metrics = {"loss": loss, "acc": accuracy, "error": 100.0 * (1.0 - accuracy)}
        if self.cfg.curriculum:
            metrics["curriculum_len"] = float(self.current_len)
            metrics["curriculum_acc"] = (
                accuracy
                if self.current_len == self.cfg.seq_len
                else self._score(model, tokens[: self.current_len])[1]
            )
        model.train(was_training)
        return metrics

    def on_evaluate(self, metrics: dict[str, float], step: int) -> None:
        """Grow the curriculum length once the accuracy at the current length passes the bar.

        With ``curriculum_patience`` > 0 it also grows after that many evaluations without.
        """
        cfg = self.cfg
        if not cfg.curriculum or self.current_len >= cfg.seq_len:
            return
        accuracy = metrics.get("curriculum_acc", metrics.get("valid/curriculum_acc", math.nan))
        if not accuracy >= cfg.curriculum_threshold:  # NaN (missing) counts as a miss
            self.evals_at_len += 1
            if cfg.curriculum_patience == 0 or self.evals_at_len < cfg.curriculum_patience:
                return
        self.current_len = min(cfg.seq_len, self.current_len + cfg.curriculum_step)
        self.evals_at_len = 0

    def state_dict(self) -> dict[str, Any]:
        return {"current_len": self.current_len, "evals_at_len": self.evals_at_len}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.current_len = int(state["current_len"])
        self.evals_at_len = int(state["evals_at_len"])
