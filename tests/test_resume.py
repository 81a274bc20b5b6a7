"""Which config changes a resume refuses, and what a run directory holds."""

from __future__ import annotations

from noisyexp.resume import previous_status, structural_changes

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
