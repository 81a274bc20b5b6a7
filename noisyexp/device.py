"""Which device a run uses, and how deterministic its kernels are."""

from __future__ import annotations

import os

import torch

from noisyexp.errors import ConfigError

__all__ = ["resolve_device", "set_deterministic"]


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available.

    Raises:
        ConfigError: ``cuda`` was asked for on a machine without it.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("trainer.device=cuda but no CUDA device is available; use auto or cpu")
    return torch.device(name)


def set_deterministic(enabled: bool) -> None:
    """Ask torch for deterministic kernels (warn-only where none exists); cuDNN autotuning off."""
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(enabled, warn_only=True)
    torch.backends.cudnn.benchmark = not enabled
