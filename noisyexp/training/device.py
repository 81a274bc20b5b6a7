"""Which device a run uses, how deterministic its kernels are, and at what float32 precision."""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

import torch

from noisyexp.core.errors import ConfigError

__all__ = [
    "configure_device",
    "describe_device",
    "device_info",
    "precision_policy",
    "resolve_device",
    "set_deterministic",
    "set_tf32",
]

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available (and says so in the log when it falls back to CPU).

    Raises:
        ConfigError: ``cuda`` was asked for on a machine without it.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        log.info("no CUDA device: running on cpu")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("trainer.device=cuda but no CUDA device is available; use auto or cpu")
    return torch.device(name)


def configure_device(
    device: torch.device, *, deterministic: bool, tf32: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Set the kernels' determinism and float32 policy and log one line on the device.

    Returns :func:`device_info` and :func:`precision_policy`, for the run's summary.
    """
    set_deterministic(deterministic)
    precision = set_tf32(tf32)
    info = device_info(device)
    log.info("%s", describe_device(info, precision))
    return info, precision


def set_deterministic(enabled: bool) -> None:
    """Ask torch for deterministic kernels (warn-only where none exists); cuDNN autotuning off.

    ``use_deterministic_algorithms`` also fills every ``torch.empty`` with NaN (an extra kernel
    per allocation); nothing here reads uninitialised memory, so that fill is turned off.
    """
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(enabled, warn_only=True)
    if enabled:
        torch.utils.deterministic.fill_uninitialized_memory = False
    torch.backends.cudnn.benchmark = not enabled


def _has_precision_api() -> bool:
    """torch >= 2.9: per-backend ``fp32_precision`` flags (the ``allow_tf32`` ones are legacy)."""
    return hasattr(torch.backends, "fp32_precision") and hasattr(torch.backends.cudnn, "conv")


def set_tf32(enabled: bool) -> dict[str, Any]:
    """One float32 policy for CUDA matmuls, cuDNN convolutions and cuDNN RNNs; returns it.

    torch's defaults differ per path (matmuls IEEE, cuDNN TF32), so a cuDNN ``nn.LSTM`` and the
    custom loop of the same LSTM (matmuls) would otherwise compute at different precisions.
    CPU (oneDNN) precision is left as it was. The legacy aggregates (``set_float32_matmul_
    precision``, ``cudnn.allow_tf32``), still read by Inductor and ``torch.export``, are set to
    agree with the per-op flags: torch raises when the two disagree.
    """
    backends = torch.backends
    if not _has_precision_api():
        backends.cuda.matmul.allow_tf32 = enabled
        backends.cudnn.allow_tf32 = enabled
        return precision_policy()
    mode = "tf32" if enabled else "ieee"
    cpu_matmul = backends.mkldnn.matmul.fp32_precision
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch 2.9 flags the legacy setter
        torch.set_float32_matmul_precision("high" if enabled else "highest")
        backends.cudnn.allow_tf32 = enabled
    backends.mkldnn.matmul.fp32_precision = cpu_matmul  # the call above also set the CPU's
    backends.cuda.matmul.fp32_precision = mode
    backends.cudnn.conv.fp32_precision = mode
    backends.cudnn.rnn.fp32_precision = mode
    return precision_policy()


def precision_policy() -> dict[str, Any]:
    """The float32 precision of each CUDA path now: ``tf32`` or ``ieee`` (recorded in summaries)."""
    backends = torch.backends
    if _has_precision_api():
        flags = {
            "cuda_matmul": backends.cuda.matmul.fp32_precision,
            "cudnn_conv": backends.cudnn.conv.fp32_precision,
            "cudnn_rnn": backends.cudnn.rnn.fp32_precision,
        }
        flags = {key: "ieee" if value == "none" else value for key, value in flags.items()}
    else:
        cudnn = "tf32" if backends.cudnn.allow_tf32 else "ieee"
        matmul = "tf32" if backends.cuda.matmul.allow_tf32 else "ieee"
        flags = {"cuda_matmul": matmul, "cudnn_conv": cudnn, "cudnn_rnn": cudnn}
    return {"tf32": all(value == "tf32" for value in flags.values()), **flags}


def device_info(device: torch.device) -> dict[str, Any]:
    """The device and the versions that shape its numbers (GPU, CUDA, cuDNN; None on CPU)."""
    info: dict[str, Any] = {
        "type": device.type,
        "name": None,
        "capability": None,
        "cuda_version": None,
        "cudnn_version": None,
        "torch_version": torch.__version__,
    }
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        info.update(
            name=torch.cuda.get_device_name(device),
            capability=f"{major}.{minor}",
            cuda_version=torch.version.cuda,
            cudnn_version=torch.backends.cudnn.version(),
        )
    return info


def describe_device(info: dict[str, Any], precision: dict[str, Any]) -> str:
    """One log line: ``device: cuda (NVIDIA H200, sm 9.0, CUDA 12.8, cuDNN 91002), ...``."""
    if info["type"] != "cuda":
        return f"device: {info['type']} (torch {info['torch_version']})"
    return (
        f"device: cuda ({info['name']}, sm {info['capability']}, CUDA {info['cuda_version']}, "
        f"cuDNN {info['cudnn_version']}, torch {info['torch_version']}), "
        f"float32 matmul/conv/RNN {'TF32' if precision['tf32'] else 'IEEE'}"
    )
