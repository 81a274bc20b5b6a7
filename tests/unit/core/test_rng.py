"""RNG states: exact restore, the noise generator's device, old states, CUDA states as data."""

from __future__ import annotations

import io

import pytest
import torch

from noisyexp.core.errors import CheckpointError
from noisyexp.core.rng import capture_rng_state, noise_device_type, restore_rng_state

CUDA_PHILOX_STATE = torch.arange(16, dtype=torch.uint8)  # what a CUDA generator's state looks like


def _roundtrip(state: dict) -> dict:
    """Through torch.save and a weights-only load, as a checkpoint."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_cpu_state_keeps_the_noise_device_and_no_cuda_state():
    generator = torch.Generator().manual_seed(3)
    state = _roundtrip(capture_rng_state(generator, torch.device("cpu")))
    assert state["noise_device"] == "cpu" and "cuda" not in state
    assert noise_device_type(state) == "cpu"


def test_same_device_restore_continues_every_stream_exactly():
    generator = torch.Generator().manual_seed(3)
    torch.randn(5, generator=generator)
    state = _roundtrip(capture_rng_state(generator, "cpu"))
    expected = torch.randn(7, generator=generator), torch.rand(4)
    other = torch.Generator().manual_seed(99)
    assert restore_rng_state(state, other, "cpu") is True
    assert torch.equal(torch.randn(7, generator=other), expected[0])
    assert torch.equal(torch.rand(4), expected[1])


def test_old_state_without_a_device_field_is_a_cpu_state():
    generator = torch.Generator().manual_seed(5)
    state = capture_rng_state(generator)
    del state["noise_device"]  # saved before the field existed
    assert noise_device_type(state) == "cpu"
    expected = torch.randn(6, generator=generator)
    other = torch.Generator()
    assert restore_rng_state(state, other) is True
    assert torch.equal(torch.randn(6, generator=other), expected)
    old_cuda = {**state, "noise": CUDA_PHILOX_STATE}  # an old CUDA run's state, by its size
    assert noise_device_type(old_cuda) == "cuda"


def test_another_device_types_state_reseeds_the_noise_generator_or_is_refused():
    state = {**capture_rng_state(torch.Generator()), "noise": CUDA_PHILOX_STATE}
    state["noise_device"] = "cuda"
    generator = torch.Generator().manual_seed(1)
    with pytest.raises(CheckpointError, match="saved on cuda"):
        restore_rng_state(state, generator)
    assert restore_rng_state(state, generator, "cpu", reseed=1234) is False
    expected = torch.randn(8, generator=torch.Generator().manual_seed(1234))
    assert torch.equal(torch.randn(8, generator=generator), expected)


def test_only_the_run_devices_cuda_state_is_captured(monkeypatch):
    asked = []

    def get_rng_state(device="cuda"):
        asked.append(device)
        return CUDA_PHILOX_STATE.clone()

    monkeypatch.setattr(torch.cuda, "get_rng_state", get_rng_state)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: pytest.fail("all GPUs read"))
    state = _roundtrip(capture_rng_state(None, torch.device("cuda")))
    assert torch.equal(state["cuda"], CUDA_PHILOX_STATE)
    assert asked == [torch.device("cuda")]
    assert "cuda" not in capture_rng_state(None, torch.device("cpu"))


@pytest.mark.parametrize(("current", "restored"), [(1, 1), (3, None)])
def test_an_old_list_of_every_gpus_states_restores_this_gpus_entry(monkeypatch, current, restored):
    """Checkpoints used to hold ``get_rng_state_all()``: a machine with fewer GPUs skips it."""
    states = [torch.full((16,), index, dtype=torch.uint8) for index in range(2)]
    set_calls = []
    monkeypatch.setattr(torch.cuda, "current_device", lambda: current)
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda s, d="cuda": set_calls.append(s))
    state = {**capture_rng_state(), "cuda": states}
    assert restore_rng_state(state, None, torch.device("cuda")) is True
    if restored is None:
        assert set_calls == []
    else:
        assert len(set_calls) == 1 and torch.equal(set_calls[0], states[restored])
