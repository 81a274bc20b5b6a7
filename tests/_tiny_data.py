"""Tiny data files that tests write themselves (the real data sets are never needed)."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np

from noisyexp.data.idx import write_idx


def write_tiny_mnist(folder, *, gz: bool, count=(40, 12)) -> dict[str, tuple[str, str]]:
    """Random IDX images and labels in ``folder``; returns ``MNIST_FILES``-shaped md5s to patch."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (count[0], 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, count[0], dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (count[1], 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, count[1], dtype=np.uint8),
    }
    digests = {}
    for name, array in arrays.items():
        path = folder / (name + (".gz" if gz else ""))
        write_idx(path, array)
        raw = gzip.decompress(path.read_bytes()) if gz else path.read_bytes()
        digests[name] = ("f" * 32, hashlib.md5(raw).hexdigest())
    return digests


#: French-English sentence pairs for a parallel corpus
PAIRS = [
    ("Un homme marche dans la rue.", "A man walks down the street."),
    ("Deux chiens jouent dans l'herbe.", "Two dogs play in the grass."),
    ("Une femme lit un livre.", "A woman reads a book."),
    ("Un enfant court sur la plage.", "A child runs on the beach."),
    ("Des gens sont assis sur un banc.", "People are sitting on a bench."),
    ("Un chien noir court.", "A black dog runs."),
]


def write_corpus(folder, *, gz=True, src="fr", tgt="en", splits=("train", "val", "test")):
    """A parallel corpus of :data:`PAIRS` (``<split>.<lang>[.gz]``), train three times over."""
    folder.mkdir(parents=True, exist_ok=True)
    for split in splits:
        pairs = PAIRS * 3 if split == "train" else PAIRS[:3]
        for lang, side in ((src, 0), (tgt, 1)):
            text = "".join(f"{pair[side]}\n" for pair in pairs).encode()
            path = folder / f"{split}.{lang}{'.gz' if gz else ''}"
            path.write_bytes(gzip.compress(text) if gz else text)
    return folder
