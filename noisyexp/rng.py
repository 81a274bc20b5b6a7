"""One seeding path, and every RNG state captured and restored for exact resumes."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import numpy as np
import torch

__all__ = [
    "capture_rng_state",
    "derived_seed",
    "restore_rng_state",
    "seed_everything",
    "seeded_generator",
]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) from one integer."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def derived_seed(*parts: int) -> int:
    """A well-mixed 63-bit seed from integers, so streams such as (seed, step) never overlap."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def seeded_generator(*parts: int) -> torch.Generator:
    """A CPU generator seeded from ``parts``: data drawn from it depends on nothing else."""
    generator = torch.Generator()
    generator.manual_seed(derived_seed(*parts))
    return generator


def capture_rng_state(noise_generator: torch.Generator | None = None) -> dict[str, Any]:
    """Every RNG state as tensors and plain data (loadable with ``weights_only=True``)."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": _python_state_to_data(random.getstate()),
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if noise_generator is not None:
        state["noise"] = noise_generator.get_state()
    return state


def restore_rng_state(
    state: dict[str, Any], noise_generator: torch.Generator | None = None
) -> None:
    """Inverse of :func:`capture_rng_state`."""
    random.setstate(_python_state_from_data(state["python"]))
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if noise_generator is not None and "noise" in state:
        noise_generator.set_state(state["noise"])


def _python_state_to_data(state: tuple) -> dict[str, Any]:
    version, internal, gauss = state
    return {"version": version, "internal": list(internal), "gauss": gauss}


def _python_state_from_data(data: dict[str, Any]) -> tuple:
    return (data["version"], tuple(data["internal"]), data["gauss"])
