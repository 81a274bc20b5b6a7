"""Three-Gaussian mixture classification with a 3 × 8 MLP (paper §6.1, Figs 5–6).

The paper gives no dimensions or sample counts: we take three 2-D Gaussians with different
means and standard deviations that overlap a little, so a good model reaches ~99% accuracy.
The data are generated from ``data_seed`` (not the run's seed), so every run of a sweep sees
the same data set and its checksum identifies it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import torch
from torch import nn

from noisyexp.activations.roles import Units
from noisyexp.core.errors import ConfigError
from noisyexp.models.mlp import MLP
from noisyexp.tasks.base import DatasetInfo, require_at_least
from noisyexp.tasks.classification import ClassificationTask

__all__ = ["GaussiansConfig", "GaussiansTask", "make_gaussians"]

MEANS = ((-2.0, 0.0), (2.0, 0.0), (0.0, 3.0))
STDS = (0.6, 1.0, 0.8)


@dataclass
class GaussiansConfig:
    """Sizes of the generated splits and of the MLP."""

    name: str = "gaussians"
    train_size: int = 3000
    valid_size: int = 600
    test_size: int = 600
    data_seed: int = 1234
    hidden_sizes: list[int] = field(default_factory=lambda: [8, 8, 8])
    batch_size: int = 64

    def __post_init__(self) -> None:
        require_at_least(self, 1, "train_size", "valid_size", "test_size", "batch_size")
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            raise ConfigError(f"task.hidden_sizes must be positive widths, got {self.hidden_sizes}")
        if self.batch_size > self.train_size:
            raise ConfigError(
                f"task.batch_size={self.batch_size} exceeds task.train_size={self.train_size}"
            )


def make_gaussians(count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` points, classes balanced at random: (count, 2) float32 inputs, (count,) labels."""
    labels = torch.randint(len(MEANS), (count,), generator=generator)
    means = torch.tensor(MEANS)[labels]
    stds = torch.tensor(STDS)[labels].unsqueeze(-1)
    inputs = means + stds * torch.randn(count, 2, generator=generator)
    return inputs, labels


class GaussiansTask(ClassificationTask):
    """Classify which of three Gaussians a 2-D point came from."""

    cfg: GaussiansConfig

    def setup(self) -> None:
        cfg = self.cfg
        generator = torch.Generator().manual_seed(cfg.data_seed)
        self.splits = {
            split: make_gaussians(size, generator)
            for split, size in (
                ("train", cfg.train_size),
                ("valid", cfg.valid_size),
                ("test", cfg.test_size),
            )
        }
        self.batch_size = cfg.batch_size

    def dataset_info(self) -> DatasetInfo:
        digest = hashlib.md5(usedforsecurity=False)
        for split in ("train", "valid", "test"):
            inputs, labels = self.splits[split]
            digest.update(inputs.cpu().numpy().tobytes())
            digest.update(labels.cpu().numpy().tobytes())
        sizes = {split: len(labels) for split, (_, labels) in self.splits.items()}
        return DatasetInfo(name="gaussians", checksum=digest.hexdigest(), sizes=sizes)

    def build_model(self, units: Units) -> nn.Module:
        return MLP(2, self.cfg.hidden_sizes, len(MEANS), unit=units.cell)
