"""What tests share about the experiment presets: the list, the shrinking overrides, and fixtures
that stand tiny data files in for the real corpora (their checksums patched to match).

The fixtures are made available to every test by ``conftest.py``.
"""

from __future__ import annotations

import gzip
import hashlib

import pytest
from _tiny_data import write_tiny_mnist
from omegaconf import OmegaConf

from noisyexp.cli.app import CONF_DIR
from noisyexp.data import published
from noisyexp.data.files import RemoteFile

ALL_EXPERIMENTS = sorted(path.stem for path in (CONF_DIR / "experiment").glob("*.yaml"))
# family bases (ptb_small, unique, ...): experiments that other presets extend; selected alone,
# each is its family's reference preset, so running them again would only repeat those
FAMILY_BASES = {
    entry
    for name in ALL_EXPERIMENTS
    for entry in OmegaConf.load(CONF_DIR / "experiment" / f"{name}.yaml").get("defaults", [])
    if isinstance(entry, str) and entry != "_self_"
}
PRESETS = [name for name in ALL_EXPERIMENTS if name not in FAMILY_BASES]
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
    "nmt": [  # dl4mt's 512/1024 sizes write 300 MB checkpoints: the same model, narrower
        "task.batch_size=2",
        "task.eval_batch_size=4",
        "task.decode_max_len=4",
        "task.embedding_size=8",
        "task.hidden_size=8",
    ],
    "lte": [
        "task.batch_size=2",
        "task.unroll=5",
        "task.valid_size=2",
        "task.test_size=2",
        "task.eval_columns=2",
    ],
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
    monkeypatch.setattr(published, "PTB_FILES", tuple(files))


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """Random 28 x 28 IDX files as the MNIST folder, with the checksums patched to match."""
    digests = write_tiny_mnist(tmp_path / "data" / "mnist", gz=False)
    monkeypatch.setattr(published, "MNIST_FILES", digests)


@pytest.fixture
def tiny_multi30k(tmp_path, monkeypatch):
    """Three French/English pairs per split as the Multi30k folder, checksums patched to match."""
    folder = tmp_path / "data" / "multi30k"
    folder.mkdir(parents=True)
    pairs = {"fr": "Un chien court.\nUne femme lit.\nDeux hommes.\n", "en": "A dog runs.\n"}
    pairs["en"] += "A woman reads.\nTwo men.\n"
    digests = {}
    for split in ("train", "val", "test_2016_flickr"):
        for lang, text in pairs.items():
            body = gzip.compress(text.encode())
            (folder / f"{split}.{lang}.gz").write_bytes(body)
            digests[f"{split}.{lang}"] = (hashlib.md5(body).hexdigest(), "0" * 32)
    monkeypatch.setattr(published, "MULTI30K_MD5", digests)
