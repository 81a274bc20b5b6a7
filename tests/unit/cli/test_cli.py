"""The ``noisyexp`` command in-process: Hydra conventions, one-line errors, resume, sweeps."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from noisyexp.cli.app import main
from noisyexp.cli.train_command import threads_per_job

TINY = ["trainer.max_steps=4", "trainer.eval_every=2", "trainer.progress=false"]


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return tmp_path / "results"


def _train(results: Path, *args: str) -> int:
    return main(["train", f"paths.results_dir={results}", *TINY, *args])


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("noisyexp: error: ")
    return err[0]


def _summaries(results: Path) -> list[Path]:
    return sorted(results.rglob("summary.json"))


def test_help_lists_the_subcommands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "train" in out and "tables" in out


def test_no_arguments_prints_usage_and_fails(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().out


def test_unknown_command_is_one_line(capsys):
    assert main(["trian"]) == 2
    assert "trian" in _one_error_line(capsys)


def test_train_with_defaults_writes_a_completed_run(results):
    assert _train(results) == 0
    (summary_path,) = _summaries(results)
    summary = json.loads(summary_path.read_text())
    assert summary["status"] == "completed"
    assert summary_path.parent.parent.name == "sigmoid_tanh"
    assert summary_path.parent.parent.parent.name == "gaussians"
    assert (summary_path.parent / ".hydra" / "config.yaml").is_file()


def test_cfg_job_prints_the_config_without_training(results, capsys):
    assert _train(results, "--cfg", "job") == 0
    out = capsys.readouterr().out
    assert "task:" in out and "act:" in out
    assert not _summaries(results)


@pytest.mark.parametrize(
    "override,needle",
    [
        ("task=nosuchtask", "nosuchtask"),
        ("act=noisy_tahn", "noisy_tahn"),
        ("trainer.max_stepz=3", "max_stepz"),
        ("trainer.max_steps=many", "many"),
        ("act.c=-1", "act.c"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_summary(results, capsys, override, needle):
    assert _train(results, "act=noisy_tanh", override) == 2
    assert needle in _one_error_line(capsys)
    assert not _summaries(results)


def test_missing_data_says_where_to_put_it(results, tmp_path, capsys):
    code = _train(
        results, "task=mnist", f"paths.data_dir={tmp_path / 'nodata'}", "paths.download=false"
    )
    assert code == 2
    line = _one_error_line(capsys)
    assert "nodata" in line and "mnist" in line
    assert not _summaries(results)


def test_unwritable_results_folder_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert _train(blocker / "results") == 2
    _one_error_line(capsys)


def test_resume_of_a_folder_that_is_not_a_run_fails_cleanly(tmp_path, capsys):
    assert main(["train", f"resume={tmp_path}"]) == 2
    assert "not a run directory" in _one_error_line(capsys)


def test_resume_with_a_corrupt_checkpoint_fails_cleanly(results, capsys):
    assert _train(results) == 0
    run_dir = _summaries(results)[0].parent
    for name in ("last.pt", "previous.pt"):  # no good checkpoint left to fall back to
        (run_dir / "checkpoints" / name).write_bytes(b"this is not a checkpoint")
    capsys.readouterr()
    assert main(["train", f"resume={run_dir}", "trainer.max_steps=6"]) == 2
    assert "last.pt" in _one_error_line(capsys)


def test_resume_extends_a_run_in_place(results):
    assert _train(results, "act=noisy_tanh") == 0
    (summary_path,) = _summaries(results)
    run_dir = summary_path.parent
    assert main(["train", f"resume={run_dir}", "trainer.max_steps=8"]) == 0
    assert _summaries(results) == [summary_path]  # same directory, no new run
    summary = json.loads(summary_path.read_text())
    assert summary["status"] == "completed" and summary["steps"] == 8
    assert summary["act"] == "nan"  # the saved overrides (the alias act=noisy_tanh) were kept


@pytest.mark.slow  # a real end-to-end run
def test_multirun_with_the_joblib_launcher_gives_each_job_its_own_directory(results):
    code = main(
        [
            "train",
            "-m",
            f"paths.results_dir={results}",
            *TINY,
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            "act.c=0.1,0.5",
            "act=noisy_tanh",
        ]
    )
    assert code == 0
    summaries = [json.loads(p.read_text()) for p in _summaries(results)]
    assert len(summaries) == 2
    assert len({p.parent for p in _summaries(results)}) == 2
    assert sorted(s["config"]["act"]["c"] for s in summaries) == [0.1, 0.5]
    assert all("act.c=0.1" in s["overrides"] or "act.c=0.5" in s["overrides"] for s in summaries)
    # two jobs at once share the cores instead of each taking all of them
    want = threads_per_job(2, os.cpu_count() or 1)
    assert [s["config"]["trainer"]["num_threads"] for s in summaries] == [want, want]


@pytest.mark.parametrize(
    ("n_jobs", "cores", "threads"),
    [(1, 16, 16), (4, 16, 4), (3, 16, 5), (-1, 16, 1), (-2, 16, 1), (-9, 16, 2), (2, 1, 1)],
)
def test_parallel_jobs_share_the_cores(n_jobs, cores, threads):
    assert threads_per_job(n_jobs, cores) == threads


def test_train_help_is_hydras_with_our_name(capsys):
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "noisyexp train" in out and "act: " in out and "noisy_tanh" in out


def test_shell_completion_completes_after_the_subcommand(capsys, monkeypatch):
    monkeypatch.setenv("COMP_LINE", "noisyexp train act=noisy")
    assert main(["-sc", "query=bash"]) == 0
    assert capsys.readouterr().out.split() == ["act=noisy_tanh", "act=noisy_tanh_half"]


def test_act_nan_names_the_option_although_hydra_reads_nan_as_a_number(results):
    assert _train(results, "act=nan", "trainer.max_steps=2") == 0
    (summary_path,) = _summaries(results)
    summary = json.loads(summary_path.read_text())
    assert summary["status"] == "completed"
    assert (summary["act"], summary["config"]["act"]["cell"]["type"]) == ("nan", "nan")
    run_dir = summary_path.parent
    assert main(["train", f"resume={run_dir}", "trainer.max_steps=3"]) == 0  # saved as 'nan'
    assert json.loads(summary_path.read_text())["steps"] == 3


def test_a_sweep_over_acts_may_include_nan(results):
    from noisyexp.cli.train_command import quote_option_names as _quote_option_names

    assert _quote_option_names(["-m", "act=nan,nah", "act.c=0.5", "+act=inf"]) == [
        "-m",
        "act='nan',nah",
        "act.c=0.5",
        "+act='inf'",
    ]
    assert _quote_option_names(["act='nan'", "seed=1"]) == ["act='nan'", "seed=1"]


def test_a_run_saved_before_the_rename_resumes(results):
    """A run dir as the code before the registries wrote it: old act name, defaults written out,
    every schedule's knob in the noise section. It resumes and keeps its table row."""
    import torch

    from noisyexp.core.checkpoint import load_checkpoint, save_checkpoint
    from noisyexp.reports.records import override_key

    assert _train(results, "act=nan", "noise=anneal") == 0
    (summary_path,) = _summaries(results)
    run_dir = summary_path.parent
    (run_dir / ".hydra" / "overrides.yaml").write_text(
        "- act=noisy_tanh\n- noise=anneal\n- trainer.max_steps=4\n"
    )
    last = run_dir / "checkpoints" / "last.pt"
    payload = load_checkpoint(last)
    act = payload["config"]["act"]
    act["name"] = "noisy_tanh"
    act["gate"].update(alpha=1.1, c=0.15)
    act["cell"].update(alpha=1.15, c=0.5)
    payload["config"]["noise"].update(decay_steps=10000, rate=0.9)
    payload.pop("format")
    save_checkpoint(last, payload)
    assert torch.load(last, weights_only=True)["config"]["act"]["name"] == "noisy_tanh"
    assert main(["train", f"resume={run_dir}", "trainer.max_steps=6"]) == 0
    summary = json.loads(summary_path.read_text())
    assert summary["status"] == "completed" and summary["steps"] == 6
    assert override_key(["act=noisy_tanh"]) == override_key(summary["overrides"][:1])


@pytest.mark.parametrize(("launcher", "threads"), [("local_submitit", 1), ("slurm", 4)])
def test_a_submitit_job_takes_the_cpus_its_launcher_gives_it(launcher, threads):
    from noisyexp.cli.train_command import _compose, resolve_run
    from noisyexp.config.schema import register_configs

    register_configs()
    cfg, hydra_cfg = _compose([f"hydra/launcher={launcher}"])
    assert resolve_run(cfg, hydra_cfg, multirun=True).config.trainer.num_threads == threads
    assert resolve_run(cfg, hydra_cfg).config.trainer.num_threads is None  # a single run: all
    cfg, hydra_cfg = _compose([f"hydra/launcher={launcher}", "trainer.num_threads=2"])
    assert resolve_run(cfg, hydra_cfg, multirun=True).config.trainer.num_threads == 2
