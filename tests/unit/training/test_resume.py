"""Which config changes a resume refuses, and what a run directory holds."""

from __future__ import annotations

import logging

import pytest
import torch

from noisyexp.core.errors import CheckpointError
from noisyexp.training.resume import previous_status, read_summary, structural_changes

NOISE_BEFORE = {"name": "constant", "c0": 30, "c_min": 0.5, "every": 200, "decay_steps": 10000}
SAVED = {
    "seed": 0,
    "act": {"name": "nan", "cell": {"type": "nan", "c": 0.5}},
    "noise": {**NOISE_BEFORE, "rate": 0.9},  # what every run saved before per-schedule schemas
    "trainer": {"max_steps": 100},
}


def test_knobs_removed_from_a_schema_are_not_changes():
    current = {**SAVED, "noise": {"name": "constant"}}
    assert structural_changes(SAVED, current) == []


def test_a_changed_value_is_named_by_its_dotted_key():
    current = {**SAVED, "noise": {"name": "anneal", "c0": 30, "c_min": 0.5, "every": 200}}
    assert structural_changes(SAVED, current) == ["noise.name"]
    current = {**SAVED, "act": {"name": "nan", "cell": {"type": "nan", "c": 0.3}}}
    assert structural_changes(SAVED, current) == ["act.cell.c"]


def test_a_key_added_since_is_a_change_only_when_set():
    off = {**SAVED, "act": {**SAVED["act"], "clip": False, "alpha": None}}
    assert structural_changes(SAVED, off) == []
    on = {**SAVED, "act": {**SAVED["act"], "clip": True}}
    assert structural_changes(SAVED, on) == ["act.clip"]


def test_resumable_keys_may_change():
    current = {**SAVED, "trainer": {"max_steps": 500}, "resume": "runs/x", "paths": {"a": 1}}
    assert structural_changes(SAVED, current) == []


def test_previous_status(tmp_path):
    assert previous_status(tmp_path) is None
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.pt").write_bytes(b"")
    assert previous_status(tmp_path) == "resumable"
    (tmp_path / "summary.json").write_text('{"status": "completed"}')
    assert previous_status(tmp_path) == "completed"
    (tmp_path / "summary.json").write_text("{not json")
    assert previous_status(tmp_path) == "resumable"


@pytest.mark.parametrize("text", [None, "{not json", "[1, 2]", '"completed"'])
def test_read_summary_is_none_for_a_missing_broken_or_non_object_file(tmp_path, text):
    if text is not None:
        (tmp_path / "summary.json").write_text(text, encoding="utf-8")
    assert read_summary(tmp_path) is None
    assert previous_status(tmp_path) is None


def test_read_summary_returns_the_object(tmp_path):
    (tmp_path / "summary.json").write_text('{"status": "failed", "steps": 3}', encoding="utf-8")
    assert read_summary(tmp_path) == {"status": "failed", "steps": 3}
    assert previous_status(tmp_path) == "failed"


def test_an_old_act_name_with_its_defaults_written_out_is_the_same_run():
    unit = {"softplus": False, "test_mean": None, "clip": False}
    old = {  # saved before the rename: act=noisy_tanh with the paper defaults in the YAML
        "name": "noisy_tanh",
        "gate": {"type": "nan", "alpha": 1.1, "c": 0.15, **unit},
        "cell": {"type": "nan", "alpha": 1.15, "c": 0.5, **unit},
        "c": None,
        "alpha": None,
        "clip": None,
    }
    new = {
        **old,
        "name": "nan",
        "gate": {"type": "nan", "alpha": None, "c": None, **unit},
        "cell": {"type": "nan", "alpha": None, "c": None, **unit},
    }
    assert structural_changes({**SAVED, "act": old}, {**SAVED, "act": new}) == []
    swept = {**new, "c": 0.3}
    assert structural_changes({**SAVED, "act": old}, {**SAVED, "act": swept}) == [
        "act.cell.c",
        "act.gate.c",
    ]
    other = {**new, "name": "nah", "cell": {**new["cell"], "type": "nah"}}
    assert structural_changes({**SAVED, "act": old}, {**SAVED, "act": other}) == [
        "act.cell.type",
        "act.name",
    ]


# ---- resuming a checkpoint written on another device type ---------------------------------
NOISY = [
    "trainer.max_steps=8",
    "trainer.eval_every=4",
    "trainer.log_every=2",
    "trainer.device=cpu",
    "act=nah",
    "act.alpha=1.0",
]


def _rewrite_rng(run_dir, change) -> None:
    """Edit the RNG states of a run's checkpoints (as if written elsewhere, or by old code)."""
    from noisyexp.core.checkpoint import load_checkpoint, save_checkpoint

    for path in (run_dir / "checkpoints").glob("*.pt"):
        payload = load_checkpoint(path)
        payload.pop("format")
        change(payload["rng"])
        save_checkpoint(path, payload)


def _as_if_from_cuda(rng) -> None:
    rng["noise"], rng["noise_device"] = torch.arange(16, dtype=torch.uint8), "cuda"


def _half_run(compose_config, run_dir, change) -> None:
    from noisyexp.training.trainer import train

    train(compose_config(*NOISY, "trainer.max_steps=4"), run_dir)
    _rewrite_rng(run_dir, change)


def test_a_checkpoint_without_the_device_field_resumes_bit_exactly(compose_config, tmp_path):
    from noisyexp.training.trainer import train

    straight = train(compose_config(*NOISY), tmp_path / "straight")
    _half_run(compose_config, tmp_path / "old", lambda rng: rng.pop("noise_device"))
    resumed = train(compose_config(*NOISY, f"resume={tmp_path / 'old'}"), tmp_path / "old")
    assert resumed.summary["final"] == straight.summary["final"]
    assert resumed.summary["test"] == straight.summary["test"]
    last = "checkpoints/last.pt"
    weights = torch.load(straight.run_dir / last, weights_only=True)["model"]
    for key, value in torch.load(resumed.run_dir / last, weights_only=True)["model"].items():
        assert torch.equal(value, weights[key]), key


def test_cross_device_checkpoint_is_reseeded_with_a_warning(compose_config, tmp_path, caplog):
    from noisyexp.training.trainer import train

    runs = [tmp_path / "a", tmp_path / "b"]
    for run_dir in runs:
        _half_run(compose_config, run_dir, _as_if_from_cuda)
    summaries = []
    for run_dir in runs:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="noisyexp"):
            summaries.append(train(compose_config(*NOISY, f"resume={run_dir}"), run_dir).summary)
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "not bit-exact" in warnings[0]
        assert "cuda checkpoint on cpu" in warnings[0]
    assert summaries[0]["status"] == "completed" and summaries[0]["steps"] == 8
    assert summaries[0]["final"] == summaries[1]["final"]  # reseeded from (seed, step) alone


def test_cross_device_resume_refuse_is_a_one_line_error(compose_config, tmp_path):
    from noisyexp.training.trainer import train

    _half_run(compose_config, tmp_path / "run", _as_if_from_cuda)
    cfg = compose_config(*NOISY, "trainer.cross_device_resume=refuse", f"resume={tmp_path / 'run'}")
    with pytest.raises(CheckpointError, match="written on cuda, this run is on cpu") as err:
        train(cfg, tmp_path / "run")
    assert "\n" not in str(err.value)
