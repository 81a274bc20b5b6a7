"""MNIST with a single-hidden-layer MLP trained by RMSProp (paper v3 §6.1, Fig 5).

The 60,000 training images are split into 50,000 for training and the last 10,000 for
validation; the 10,000 test images are the test split. Pixels are scaled to [0, 1]. The paper's
curve, the average training NLL per epoch, is the trainer's ``train/loss`` (the mean minibatch
loss since the last evaluation, noise on, as the paper's training cost).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from noisyexp.activations.roles import Units
from noisyexp.core.errors import ConfigError, DataError
from noisyexp.data import published
from noisyexp.data.files import combined_checksum, ensure_files
from noisyexp.data.idx import read_idx
from noisyexp.models.mlp import MLP
from noisyexp.tasks.base import DatasetInfo, require_at_least
from noisyexp.tasks.classification import ClassificationTask

__all__ = ["MNISTConfig", "MNISTTask"]

_VALID_SIZE = 10_000


@dataclass
class MNISTConfig:
    """The MLP's width and the batch size (the paper states neither)."""

    name: str = "mnist"
    hidden_size: int = 500
    batch_size: int = 100
    valid_size: int = _VALID_SIZE

    def __post_init__(self) -> None:
        require_at_least(self, 1, "hidden_size", "batch_size", "valid_size")


class MNISTTask(ClassificationTask):
    """Ten-way digit classification from 784 pixels."""

    cfg: MNISTConfig

    def setup(self) -> None:
        cfg = self.cfg
        folder = self.data_dir / "mnist"
        files = published.mnist_files(folder)
        self._verified = ensure_files(folder, files, dataset="mnist", download=self.download)
        tensors = [read_idx(folder / file.name) for file in files]
        train_x, train_y, test_x, test_y = tensors
        if train_x.shape[1:] != (28, 28) or len(train_x) != len(train_y):
            raise DataError(f"{folder}: unexpected MNIST shapes {tuple(train_x.shape)}")
        if cfg.valid_size >= len(train_y):
            raise ConfigError(f"task.valid_size={cfg.valid_size} leaves no training images")
        cut = len(train_y) - cfg.valid_size
        flat = train_x.reshape(len(train_x), -1).float() / 255.0
        self.splits = {
            "train": (flat[:cut], train_y[:cut].long()),
            "valid": (flat[cut:], train_y[cut:].long()),
            "test": (test_x.reshape(len(test_x), -1).float() / 255.0, test_y.long()),
        }
        self.batch_size = cfg.batch_size

    def dataset_info(self) -> DatasetInfo:
        sizes = {split: len(labels) for split, (_, labels) in self.splits.items()}
        return DatasetInfo(
            name="mnist",
            checksum=combined_checksum(self._verified),
            sizes=sizes,
            extra={"files": self._verified},
        )

    def build_model(self, units: Units) -> nn.Module:
        return MLP(28 * 28, [self.cfg.hidden_size], 10, unit=units.cell)
