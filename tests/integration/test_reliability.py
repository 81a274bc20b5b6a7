"""Issue 13: the runner under signals, concurrent use, full disks and bad inputs.

One test (or more) per numbered case of the issue, each failing on the behaviour it fixes.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from _processes import hold_lock

from noisyexp.cli.app import main
from noisyexp.core.checkpoint import load_checkpoint
from noisyexp.core.errors import TrainingError
from noisyexp.tasks.gaussians import GaussiansTask
from noisyexp.training.trainer import train

pytestmark = pytest.mark.slow  # signals, second processes, full disks: end-to-end runs

TINY = ["trainer.max_steps=4", "trainer.eval_every=2", "trainer.progress=false"]
NOISY = [
    "trainer.max_steps=12",
    "trainer.eval_every=4",
    "trainer.log_every=2",
    "act=noisy_tanh_half",
    "act.alpha=1.0",
]


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    err = captured.err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("noisyexp: error: ")
    return err[0]


def _summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def _model(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["model"]


def _run(tmp_path: Path, name: str = "run", *args: str) -> tuple[int, Path]:
    run_dir = tmp_path / name
    code = main(["train", f"hydra.run.dir={run_dir}", f"paths.data_dir={tmp_path}", *TINY, *args])
    return code, run_dir


# ---- 1. two signals a few milliseconds apart ------------------------------------------------
def test_case1_double_sigterm_mid_step_saves_nothing_and_resumes_bit_identical(
    compose_config, tmp_path, monkeypatch
):
    straight = train(compose_config(*NOISY), tmp_path / "straight")
    original = GaussiansTask.train_step

    def twice(self, model, step):
        output = original(self, model, step)  # the noise of this step is drawn
        if step == 6:
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)  # before the step's update
        return output

    monkeypatch.setattr(GaussiansTask, "train_step", twice)
    with pytest.raises(KeyboardInterrupt):
        train(compose_config(*NOISY), tmp_path / "run")
    # nothing from the middle of step 6 was saved: last.pt is the periodic one of step 4
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["step"] == 4
    assert _summary(tmp_path / "run")["status"] == "interrupted"
    monkeypatch.setattr(GaussiansTask, "train_step", original)
    resumed = train(compose_config(*NOISY, f"resume={tmp_path / 'run'}"), tmp_path / "run")
    assert resumed.summary["test"] == straight.summary["test"]
    straight_model, resumed_model = _model(tmp_path / "straight"), _model(tmp_path / "run")
    assert all(torch.equal(straight_model[k], resumed_model[k]) for k in straight_model)


def test_case1_a_signal_during_the_final_save_waits_for_it(compose_config, tmp_path, monkeypatch):
    from noisyexp.training import trainer as train_module

    original_save = train_module._Run.save

    def save_with_signal(self, name):
        if self.step == 6 and name == "last.pt":
            os.kill(os.getpid(), signal.SIGTERM)  # a second signal while saving
        return original_save(self, name)

    original = GaussiansTask.train_step

    def once(self, model, step):
        if step == 5:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(self, model, step)

    monkeypatch.setattr(GaussiansTask, "train_step", once)
    monkeypatch.setattr(train_module._Run, "save", save_with_signal)
    with pytest.raises(KeyboardInterrupt):
        train(compose_config(*NOISY), tmp_path / "run")
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["step"] == 6


# ---- 2. a run folder is locked --------------------------------------------------------------
def test_case2_a_second_process_cannot_use_a_locked_run_folder(tmp_path, capsys):
    code, run_dir = _run(tmp_path)
    assert code == 0
    before = (run_dir / "summary.json").read_bytes()
    holder = hold_lock(run_dir)
    try:
        capsys.readouterr()
        assert main(["train", f"resume={run_dir}", "trainer.max_steps=8"]) == 2
        line = _one_error_line(capsys)
        assert "in use" in line and f"pid {holder.pid}" in line
        assert (run_dir / "summary.json").read_bytes() == before
    finally:
        holder.kill()
        holder.wait()
    assert main(["train", f"resume={run_dir}", "trainer.max_steps=8"]) == 0  # stale: taken over
    assert _summary(run_dir)["steps"] == 8


def test_case2_a_stale_lock_is_taken_over_with_a_message(tmp_path, capfd):
    _code, run_dir = _run(tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (run_dir / ".lock").write_text(json.dumps({"pid": dead.pid, "host": "h", "started": "t"}))
    capfd.readouterr()
    assert main(["train", f"resume={run_dir}", "trainer.max_steps=6"]) == 0
    assert f"stale lock of pid {dead.pid}" in "".join(capfd.readouterr())


# ---- 3. a refused command leaves the run folder as it was -----------------------------------
@pytest.mark.parametrize("extra", [["act=tanh"], ["task=copy"]])
def test_case3_a_refused_command_does_not_touch_the_run_folder(tmp_path, capsys, extra):
    code, run_dir = _run(tmp_path)
    assert code == 0
    saved = {p: p.read_bytes() for p in (run_dir / ".hydra").iterdir()}
    capsys.readouterr()
    if extra == ["act=tanh"]:  # a new run in an existing run's folder
        assert main(["train", f"hydra.run.dir={run_dir}", *extra]) == 2
    else:  # a resume that changes the task
        assert main(["train", f"resume={run_dir}", *extra]) == 2
    _one_error_line(capsys)
    assert {p: p.read_bytes() for p in (run_dir / ".hydra").iterdir()} == saved
    assert main(["train", f"resume={run_dir}", "trainer.max_steps=6"]) == 0


# ---- 4. a full disk while a completed run is extended ---------------------------------------
def test_case4_a_full_disk_keeps_the_completed_summary(tmp_path, capsys, monkeypatch):
    code, run_dir = _run(tmp_path)
    assert code == 0
    completed = (run_dir / "summary.json").read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    capsys.readouterr()
    assert main(["train", f"resume={run_dir}", "trainer.max_steps=8"]) == 2
    assert "No space left" in capsys.readouterr().err
    assert (run_dir / "summary.json").read_bytes() == completed  # still in every table
    assert not list(run_dir.rglob("*.tmp"))
    monkeypatch.undo()
    assert main(["train", f"resume={run_dir}", "trainer.max_steps=8"]) == 0
    assert _summary(run_dir)["steps"] == 8


# ---- 5. sizes are bounded before anything is allocated --------------------------------------
@pytest.mark.parametrize(
    "override", ["task.hidden_sizes=[1000000000]", "trainer.memory_budget_gb=0.000001"]
)
def test_case5_a_model_over_the_memory_budget_is_refused(tmp_path, capsys, override):
    code, run_dir = _run(tmp_path, "run", override)
    assert code == 2
    line = _one_error_line(capsys)
    assert "GiB" in line and "memory_budget_gb" in line
    assert not (run_dir / "summary.json").exists()


def test_case5_a_huge_language_model_is_refused(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for split in ("train", "valid", "test"):
        (corpus / f"{split}.txt").write_text("the cat sat on the mat\n" * 500)
    code, _ = _run(tmp_path, "run", "task=wordlm", f"task.corpus_dir={corpus}",
                   "task.hidden_size=1000000000")  # fmt: skip
    assert code == 2
    assert "GiB" in _one_error_line(capsys)


# ---- 6. one malformed summary.json does not crash the tables --------------------------------
def test_case6_a_malformed_summary_is_skipped_and_reported(tmp_path, capsys):
    code, run_dir = _run(tmp_path / "results", "good")
    assert code == 0
    bad = tmp_path / "results" / "bad"
    bad.mkdir()
    summary = _summary(run_dir)
    summary["config"] = 3  # a field of the wrong type
    (bad / "summary.json").write_text(json.dumps(summary))
    capsys.readouterr()
    assert main(["tables", "--results", str(tmp_path / "results")]) == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.err


# ---- 7. a wordlm corpus with an empty or one-word split -------------------------------------
@pytest.mark.parametrize("valid", ["", "word\n"])
def test_case7_a_too_short_split_is_refused_before_training_naming_the_file(
    tmp_path, capsys, valid
):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "train.txt").write_text("the cat sat on the mat\n" * 500)
    (corpus / "valid.txt").write_text(valid)
    (corpus / "test.txt").write_text("the cat sat\n")
    code, run_dir = _run(tmp_path, "run", "task=wordlm", f"task.corpus_dir={corpus}")
    assert code == 2
    assert "valid.txt" in _one_error_line(capsys)
    assert not (run_dir / "checkpoints").exists()  # refused before the first step


# ---- 8. a run in a path with spaces and non-ASCII letters resumes ---------------------------
def test_case8_a_run_in_a_path_with_spaces_and_accents_resumes(tmp_path):
    run_dir = tmp_path / "my runs" / "été ü"
    assert main(["train", f"hydra.run.dir={run_dir}", *TINY]) == 0
    assert main(["train", f"resume={run_dir}", "trainer.max_steps=6"]) == 0
    assert _summary(run_dir)["steps"] == 6 and _summary(run_dir)["status"] == "completed"


# ---- 9. values that used to fail late, YAML, +key, missing folders, leftovers ---------------
@pytest.mark.parametrize(
    "override,needle",
    [
        ("optim.betas=[1.5,0.9]", "optim.betas"),
        ("optim.betas=[0.9]", "optim.betas"),
        ("optim.eps=-1", "optim.eps"),
        ("optim.eps=0", "optim.eps"),
        ("optim=rmsprop optim.rms_alpha=2", "rms_alpha"),
        ("seed=4611686018427387904", "seed"),
        ("seed=-1", "seed"),
        ("task.name=copy", "task.name"),
        ("act.alpha=nan", "act.alpha"),
        ("act.alpha=inf", "act.alpha"),
        ("optim.lr=inf", "optim.lr"),
        ("optim.clip_norm=inf", "optim.clip_norm"),
        ("+trainer.max_stepz=3", "max_stepz"),
        ("+foo=1", "foo"),
        ("trainer.skip_nonfinite=-1", "skip_nonfinite"),
        ("trainer.memory_budget_gb=nan", "memory_budget_gb"),
    ],
)
def test_case9_bad_values_are_one_line_before_anything_is_written(
    tmp_path, capsys, override, needle
):
    code, run_dir = _run(tmp_path, "run", *override.split())
    assert code == 2
    assert needle in _one_error_line(capsys)
    assert not run_dir.exists()  # refused before Hydra made the folder


def test_case9_bad_yaml_in_a_profile_is_one_line(tmp_path, capsys):
    profile = tmp_path / "bad.yaml"
    profile.write_text("name: x\nsweeps: {a: [1, 2\n")
    assert main(["paper", "--profile", str(profile), "--dry-run"]) == 2
    assert "not valid YAML" in _one_error_line(capsys)


def test_case9_a_yaml_alias_bomb_is_refused_quickly(tmp_path, capsys):
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 12):
        lines.append(f"l{i}: &l{i} [" + ",".join([f"*{'a' if i == 1 else f'l{i - 1}'}"] * 9) + "]")
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
    assert main(["paper", "--profile", str(tmp_path / "bomb.yaml"), "--dry-run"]) == 2
    assert "aliases" in _one_error_line(capsys)


def test_case9_bad_yaml_in_a_runs_hydra_folder_is_one_line(tmp_path, capsys):
    _code, run_dir = _run(tmp_path)
    (run_dir / ".hydra" / "overrides.yaml").write_text("- [unclosed\n")
    capsys.readouterr()
    assert main(["train", f"resume={run_dir}"]) == 2
    assert "overrides.yaml" in _one_error_line(capsys)


@pytest.mark.parametrize("command", ["tables", "figures"])
def test_case9_reports_on_a_missing_folder_fail(tmp_path, capsys, command):
    assert main([command, "--results", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in _one_error_line(capsys)


def test_case9_leftover_temporary_files_are_removed_at_the_next_start(tmp_path):
    _code, run_dir = _run(tmp_path)
    leftover = run_dir / "checkpoints" / ".last.pt.k1ll3d.tmp"
    leftover.write_bytes(b"half a checkpoint")
    assert main(["train", f"resume={run_dir}", "trainer.max_steps=6"]) == 0
    assert not leftover.exists()


# ---- checksummed checkpoints, skip_nonfinite -------------------------------------------------
def test_a_damaged_last_checkpoint_falls_back_to_the_previous_one(tmp_path, capfd):
    _code, run_dir = _run(tmp_path)
    last = run_dir / "checkpoints" / "last.pt"
    data = bytearray(last.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in a tensor: only the checksum sees it
    last.write_bytes(bytes(data))
    capfd.readouterr()
    assert main(["train", f"resume={run_dir}", "trainer.max_steps=6"]) == 0
    logged = "".join(capfd.readouterr())
    assert "previous.pt" in logged and "checksum" in logged
    assert _summary(run_dir)["steps"] == 6


def test_skip_nonfinite_skips_up_to_n_steps_and_counts_them(compose_config, tmp_path, monkeypatch):
    original = GaussiansTask.train_step

    def poisoned(self, model, step):
        output = original(self, model, step)
        if step in (3, 7):
            output.loss = output.loss * float("nan")
        return output

    monkeypatch.setattr(GaussiansTask, "train_step", poisoned)
    fast = ["trainer.max_steps=12", "trainer.eval_every=4"]
    result = train(compose_config(*fast, "trainer.skip_nonfinite=2"), tmp_path / "ok")
    assert result.status == "completed" and result.summary["skipped_steps"] == 2
    with pytest.raises(TrainingError, match="after skipping 1"):
        train(compose_config(*fast, "trainer.skip_nonfinite=1"), tmp_path / "over")
    assert _summary(tmp_path / "over")["status"] == "failed"


def test_docs_errors_md_lists_the_chaos_scripts_bad_inputs():
    """docs/errors.md is written by scripts/chaos.py; its cases must be the script's cases."""
    import importlib.util

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("chaos", root / "scripts" / "chaos.py")
    chaos = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(chaos)
    cases = [case for case, _, _ in chaos.bad_input_cases()]
    assert len(cases) >= 40
    rows = (root / "docs" / "errors.md").read_text(encoding="utf-8").splitlines()
    documented = [row.split(" | ")[0].lstrip("| ") for row in rows if row.startswith("| ")]
    assert documented[1:] == cases  # after the header row (to refresh: `make chaos`)
