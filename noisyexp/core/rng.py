"""One seeding path, and every RNG state captured and restored for exact resumes."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import numpy as np
import torch

from noisyexp.core.errors import CheckpointError

__all__ = [
    "capture_rng_state",
    "derived_seed",
    "noise_device_type",
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


def capture_rng_state(
    noise_generator: torch.Generator | None = None, device: torch.device | str | None = None
) -> dict[str, Any]:
    """Every RNG state as tensors and plain data (loadable with ``weights_only=True``).

    The noise generator's state is kept with its device type (a CPU and a CUDA generator's
    states are different things); on a CUDA ``device`` only that device's CUDA RNG state is kept,
    so a resume on another GPU, or on a machine with fewer, can restore it.
    """
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
    if device is not None and torch.device(device).type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(torch.device(device))
    if noise_generator is not None:
        state["noise"] = noise_generator.get_state()
        state["noise_device"] = noise_generator.device.type
    return state


def noise_device_type(state: dict[str, Any]) -> str:
    """The device type of the noise generator a captured state came from.

    States captured before the type was stored tell it by their size: a CPU generator's
    (Mersenne Twister) state is 5,056 bytes; anything else came from CUDA (Philox, 16 bytes).
    """
    if "noise_device" in state:
        return str(state["noise_device"])
    if "noise" not in state:
        return "cpu"
    cpu_size = torch.Generator().get_state().numel()
    return "cpu" if state["noise"].numel() == cpu_size else "cuda"


def restore_rng_state(
    state: dict[str, Any],
    noise_generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    *,
    reseed: int | None = None,
) -> bool:
    """Inverse of :func:`capture_rng_state`; returns whether every state was restored exactly.

    Python, NumPy and torch's CPU states always are. A noise state from another device type
    cannot be set on this generator: with ``reseed`` the noise generator (and, on CUDA, the
    CUDA RNG) are seeded from it instead and False is returned.

    Raises:
        CheckpointError: the noise state is from another device type and ``reseed`` is None.
    """
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
    on_cuda = device is not None and torch.device(device).type == "cuda"
    saved = noise_device_type(state)
    here = noise_generator.device.type if noise_generator is not None else saved
    if saved != here:
        if reseed is None:
            raise CheckpointError(
                f"the noise generator's state was saved on {saved} and cannot be restored on {here}"
            )
        noise_generator.manual_seed(reseed)
        if on_cuda:
            torch.cuda.manual_seed(reseed)
        return False
    cuda_state = _cuda_state(state.get("cuda"), device) if on_cuda else None
    if cuda_state is not None:
        torch.cuda.set_rng_state(cuda_state, torch.device(device))
    if noise_generator is not None and "noise" in state:
        noise_generator.set_state(state["noise"])
    return True


def _cuda_state(saved: Any, device: torch.device | str | None) -> torch.Tensor | None:
    """This device's CUDA RNG state: a tensor, or from an old list of every GPU's states."""
    if saved is None or isinstance(saved, torch.Tensor):
        return saved
    index = torch.device(device).index
    index = torch.cuda.current_device() if index is None else index
    return saved[index] if index < len(saved) else None


def _python_state_to_data(state: tuple) -> dict[str, Any]:
    version, internal, gauss = state
    return {"version": version, "internal": list(internal), "gauss": gauss}


def _python_state_from_data(data: dict[str, Any]) -> tuple:
    return (data["version"], tuple(data["internal"]), data["gauss"])
