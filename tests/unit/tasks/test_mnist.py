"""MNIST loader on tiny IDX files the test writes itself (checksums patched to match)."""

from __future__ import annotations

import pytest
import torch
from _tiny_data import write_tiny_mnist

from noisyexp.core.errors import DataError
from noisyexp.data import published
from noisyexp.tasks.base import Units
from noisyexp.tasks.mnist import MNISTConfig, MNISTTask


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_reads_raw_or_gz_files_and_splits_validation(tmp_path, monkeypatch, gz):
    digests = write_tiny_mnist(tmp_path / "mnist", gz=gz)
    monkeypatch.setattr(published, "MNIST_FILES", digests)
    cfg = MNISTConfig(hidden_size=11, batch_size=5, valid_size=10)
    task = MNISTTask(cfg, data_dir=tmp_path, seed=0, device=torch.device("cpu"), download=False)
    assert {k: len(v[1]) for k, v in task.splits.items()} == {"train": 30, "valid": 10, "test": 12}
    assert float(task.splits["train"][0].max()) <= 1.0
    info = task.dataset_info()
    assert info.name == "mnist" and info.sizes["train"] == 30
    model = task.build_model(
        Units(gate=lambda n: torch.nn.Sigmoid(), cell=lambda n: torch.nn.Tanh())
    )
    output = task.train_step(model, 0)
    assert output.loss.ndim == 0 and output.num_items == 5
    metrics = task.evaluate(model, "test")
    assert 0.0 <= metrics["error"] <= 100.0


def test_mnist_with_a_corrupt_file_is_a_data_error(tmp_path, monkeypatch):
    digests = write_tiny_mnist(tmp_path / "mnist", gz=False)
    monkeypatch.setattr(published, "MNIST_FILES", digests)
    path = tmp_path / "mnist" / "t10k-labels-idx1-ubyte"
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([(data[-1] + 1) % 256]))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte is corrupt"):
        MNISTTask(
            MNISTConfig(), data_dir=tmp_path, seed=0, device=torch.device("cpu"), download=False
        )


def test_mnist_missing_offline_names_the_folder(tmp_path):
    with pytest.raises(DataError, match=str(tmp_path / "mnist")):
        MNISTTask(
            MNISTConfig(), data_dir=tmp_path, seed=0, device=torch.device("cpu"), download=False
        )
