"""Every experiment preset runs two shrunk steps end to end (data-backed ones on tiny files)."""

from __future__ import annotations

import hashlib
import json

import pytest
from _tiny_data import write_tiny_mnist

from noisyexp.cli import CONF_DIR
from noisyexp.data.files import RemoteFile
from noisyexp.tasks import mnist, ptb
from noisyexp.train import RunInfo, train

PRESETS = sorted(path.stem for path in (CONF_DIR / "experiment").glob("*.yaml"))
SHRINK = [
    "trainer.max_steps=2",
    "trainer.max_epochs=null",
    "trainer.eval_every=2",
    "trainer.log_every=1",
    "trainer.device=cpu",
]
# per task: overrides that keep a preset's model but make its data and evaluation tiny
TASK_SHRINK = {
    "ptb": ["task.batch_size=2", "task.bptt=3", "task.eval_batch_size=2"],
    "ptb_char": [
        "task.batch_size=2",
        "task.bptt=5",
        "task.eval_batch_size=2",
        "task.test_batch_size=2",
    ],
    "mnist": ["task.batch_size=4", "task.valid_size=8"],
    "unique_count": [
        "task.train_size=8",
        "task.valid_size=4",
        "task.test_size=4",
        "task.batch_size=4",
    ],
}


@pytest.fixture
def tiny_ptb(tmp_path, monkeypatch):
    """A few lines of text as ptb.{train,valid,test}.txt, with the checksums patched to match."""
    folder = tmp_path / "data" / "ptb"
    folder.mkdir(parents=True)
    text = {
        "train": " the cat sat on the mat \n the dog sat \n a cat ran on the mat \n" * 3,
        "valid": " the dog ran \n a mat \n",
        "test": " the cat sat \n on a dog \n",
    }
    files = []
    for split, body in text.items():
        path = folder / f"ptb.{split}.txt"
        path.write_text(body)
        files.append(RemoteFile(path.name, (hashlib.md5(body.encode()).hexdigest(),)))
    monkeypatch.setattr(ptb, "PTB_FILES", tuple(files))


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """Random 28 x 28 IDX files as the MNIST folder, with the checksums patched to match."""
    digests = write_tiny_mnist(tmp_path / "data" / "mnist", gz=False)
    monkeypatch.setattr(mnist, "MNIST_FILES", digests)


def _task_of(preset: str) -> str:
    for line in (CONF_DIR / "experiment" / f"{preset}.yaml").read_text().splitlines():
        if line.strip().startswith("- override /task:"):
            return line.split(":")[1].strip()
    return "gaussians"


@pytest.mark.parametrize("preset", PRESETS)
def test_every_experiment_preset_runs_two_steps(
    compose_config, tmp_path, tiny_ptb, tiny_mnist, preset
):
    task = _task_of(preset)
    cfg = compose_config(f"experiment={preset}", *SHRINK, *TASK_SHRINK.get(task, []))
    result = train(cfg, tmp_path / "run", RunInfo(experiment=preset))
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 2
    assert summary["task"] == task and summary["experiment"] == preset
    assert summary["final"] and summary["test"]
