"""Shared machinery of the feed-forward classification tasks (three Gaussians, MNIST).

A subclass loads tensors into ``self.splits`` and builds a model; this class does batching,
the cross-entropy loss and the evaluation metrics.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from noisyexp.data.batching import step_batch_indices
from noisyexp.tasks.base import StepOutput, Task

__all__ = ["ClassificationTask"]


class ClassificationTask(Task):
    """A task with fixed ``(inputs, labels)`` tensors per split.

    Subclasses fill ``self.splits = {"train": (x, y), "valid": ..., "test": ...}`` in
    ``__init__`` and set ``self.batch_size``.
    """

    primary_metric = "error"
    higher_is_better = False
    eval_batch_size = 1000

    splits: dict[str, tuple[torch.Tensor, torch.Tensor]]
    batch_size: int

    def steps_per_epoch(self) -> int:
        return max(1, len(self.splits["train"][1]) // self.batch_size)

    def _split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """A split's tensors on the task's device, moved there once: a batch is then gathered
        on the device (on a GPU: no CPU gather and copy each step)."""
        inputs, labels = self.splits[split]
        if inputs.device != self.device:
            inputs, labels = inputs.to(self.device), labels.to(self.device)
            self.splits[split] = (inputs, labels)
        return inputs, labels

    def train_step(self, model: nn.Module, step: int) -> StepOutput:
        return self._loss(model, *self._batch(step))

    def _batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Step ``step``'s examples and labels, gathered on the device."""
        inputs, labels = self._split("train")
        index = step_batch_indices(len(labels), self.batch_size, self.seed, step)
        index = index.to(self.device)
        return inputs[index], labels[index]

    @staticmethod
    def _loss(model: nn.Module, batch_x: torch.Tensor, batch_y: torch.Tensor) -> StepOutput:
        logits = model(batch_x)
        loss = F.cross_entropy(logits, batch_y)
        return StepOutput(loss=loss, num_items=len(batch_y))

    # ---- the static-buffer step (trainer.cuda_graphs): no carried state -----------------
    supports_static_step = True
    _static: tuple[torch.Tensor, torch.Tensor] | None = None

    def static_batch(self, model: nn.Module, step: int) -> int:
        """Step ``step``'s batch into the example and label buffers (same size every step)."""
        batch_x, batch_y = self._batch(step)
        if self._static is None:
            self._static = (torch.empty_like(batch_x), torch.empty_like(batch_y))
        self._static[0].copy_(batch_x)
        self._static[1].copy_(batch_y)
        return len(batch_y)

    def static_forward(self, model: nn.Module) -> StepOutput:
        """The loss of the buffered batch."""
        if self._static is None:
            raise RuntimeError("static_forward before static_batch")
        return self._loss(model, *self._static)

    def static_carry(self) -> None:
        """Nothing is carried from one batch to the next."""

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        """Mean NLL (``nll`` = ``loss``), accuracy and error (percent) over the whole split."""
        inputs, labels = self._split(split)
        total_loss, correct = 0.0, 0
        for start in range(0, len(labels), self.eval_batch_size):
            batch_x = inputs[start : start + self.eval_batch_size]
            batch_y = labels[start : start + self.eval_batch_size]
            logits = model(batch_x)
            total_loss += F.cross_entropy(logits, batch_y, reduction="sum").item()
            correct += (logits.argmax(dim=-1) == batch_y).sum().item()
        count = len(labels)
        loss = total_loss / count
        accuracy = correct / count
        return {"loss": loss, "nll": loss, "acc": accuracy, "error": 100.0 * (1.0 - accuracy)}
