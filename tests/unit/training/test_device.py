"""Device choice, determinism, the TF32 policy and the device record (all checkable on CPU)."""

from __future__ import annotations

import json
import logging

import pytest
import torch

from noisyexp.core.errors import ConfigError
from noisyexp.training import device as device_module
from noisyexp.training.device import (
    describe_device,
    device_info,
    precision_policy,
    resolve_device,
    set_deterministic,
    set_tf32,
)
from noisyexp.training.trainer import train

FAST = ["trainer.max_steps=2", "trainer.eval_every=2", "trainer.log_every=1"]


@pytest.fixture
def restore_backends():
    """Put the process-wide flags these tests change back as the trainer leaves them."""
    yield
    set_deterministic(True)
    set_tf32(False)


def test_auto_without_cuda_runs_on_cpu_and_says_so(monkeypatch, caplog):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with caplog.at_level(logging.INFO, logger="noisyexp"):
        assert resolve_device("auto") == torch.device("cpu")
    assert [r.getMessage() for r in caplog.records] == ["no CUDA device: running on cpu"]


def test_cuda_without_a_device_is_a_config_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"trainer\.device=cuda"):
        resolve_device("cuda")


def test_deterministic_mode_does_not_fill_uninitialized_memory(restore_backends):
    set_deterministic(True)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.is_deterministic_algorithms_warn_only_enabled()
    assert torch.utils.deterministic.fill_uninitialized_memory is False
    assert torch.backends.cudnn.benchmark is False
    set_deterministic(False)
    assert not torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.benchmark is True


@pytest.mark.parametrize("enabled", [True, False])
def test_tf32_policy_is_the_same_for_matmuls_convolutions_and_rnns(enabled, restore_backends):
    cpu_before = torch.backends.mkldnn.matmul.fp32_precision
    mode = "tf32" if enabled else "ieee"
    policy = set_tf32(enabled)
    assert policy == {
        "tf32": enabled,
        "cuda_matmul": mode,
        "cudnn_conv": mode,
        "cudnn_rnn": mode,
    }
    assert precision_policy() == policy
    # the legacy aggregates agree (torch raises on reading them when they do not)
    assert torch.backends.cuda.matmul.allow_tf32 is enabled
    assert torch.backends.cudnn.allow_tf32 is enabled
    assert torch.get_float32_matmul_precision() == ("high" if enabled else "highest")
    assert torch.backends.mkldnn.matmul.fp32_precision == cpu_before  # CPU left alone


def test_device_info_on_cuda_names_the_gpu_and_the_versions(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA Test GPU")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))
    monkeypatch.setattr(torch.version, "cuda", "12.8")
    monkeypatch.setattr(torch.backends.cudnn, "version", lambda: 91002)
    info = device_info(torch.device("cuda"))
    assert info == {
        "type": "cuda",
        "name": "NVIDIA Test GPU",
        "capability": "9.0",
        "cuda_version": "12.8",
        "cudnn_version": 91002,
        "torch_version": torch.__version__,
    }
    policy = {"tf32": False, "cuda_matmul": "ieee", "cudnn_conv": "ieee", "cudnn_rnn": "ieee"}
    line = describe_device(info, policy)
    assert "NVIDIA Test GPU" in line and "CUDA 12.8" in line and "cuDNN 91002" in line
    assert "IEEE" in line and "\n" not in line


def test_device_info_on_cpu_has_no_gpu_fields():
    info = device_info(torch.device("cpu"))
    assert info["type"] == "cpu" and info["name"] is None and info["cuda_version"] is None


def test_summary_records_the_device_and_the_precision_policy(compose_config, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="noisyexp"):
        train(compose_config(*FAST, "trainer.device=cpu"), tmp_path / "run")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["device"] == "cpu"
    assert summary["device_info"]["type"] == "cpu"
    assert summary["device_info"]["torch_version"] == torch.__version__
    assert summary["precision"]["tf32"] is False
    assert {summary["precision"][k] for k in ("cuda_matmul", "cudnn_conv", "cudnn_rnn")} == {"ieee"}
    lines = [r.getMessage() for r in caplog.records if r.name == device_module.__name__]
    assert lines == [f"device: cpu (torch {torch.__version__})"]


def test_tf32_true_is_recorded(compose_config, tmp_path, restore_backends):
    train(compose_config(*FAST, "trainer.device=cpu", "trainer.tf32=true"), tmp_path / "run")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["precision"]["tf32"] is True
    assert summary["config"]["trainer"]["tf32"] is True


def test_cross_device_resume_accepts_only_its_policies(compose_config):
    assert compose_config().trainer.cross_device_resume == "reseed"
    with pytest.raises(ConfigError, match="cross_device_resume"):
        compose_config("trainer.cross_device_resume=maybe")
