"""The command's front door: version, help, launcher hints, and what a run writes when."""

from __future__ import annotations

import time

import pytest
from _processes import hold_lock

import noisyexp
from noisyexp.cli.app import COMMANDS, main
from noisyexp.cli.messages import one_line

FAST = ["trainer.max_steps=4", "trainer.eval_every=2", "trainer.progress=false"]


@pytest.mark.parametrize("flag", ["--version", "-V", "version"])
def test_version_prints_the_package_version(capsys, flag):
    assert main([flag]) == 0
    assert capsys.readouterr().out == f"noisyexp {noisyexp.__version__}\n"


def test_help_lists_every_command_with_its_one_line(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name, command in COMMANDS.items():
        assert f"  {name}" in out and command.summary in out, name
    assert main([]) == 2  # no command: the same text, as a usage error


def test_every_command_answers_help(capsys):
    for name in COMMANDS:
        assert main([name, "--help"]) == 0, name
        assert capsys.readouterr().out.strip(), name


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Could not load 'hydra/launcher/joblib'", "pip install 'noisyexp[sweeps]'"),
        ("In 'hydra/launcher/local': Could not find 'hydra/launcher/joblib'", "noisyexp[sweeps]"),
        ("No module named 'hydra_plugins.hydra_submitit_launcher'", "noisyexp[sweeps]"),
        ("Could not find 'hydra/launcher/locl'", "unknown hydra/launcher option 'locl'"),
    ],
)
def test_a_missing_launcher_plugin_names_the_extra_a_typo_lists_the_options(message, expected):
    line = one_line(Exception(message))
    assert expected in line, line
    if "locl" in message:
        assert "local" in line and "slurm" in line and "pip" not in line


def test_run_records_are_written_by_the_run_not_before_it(tmp_path):
    """The .hydra/ files appear once the run holds its folder: a refused run writes none."""
    run_dir = tmp_path / "run"
    ok = main(["train", f"hydra.run.dir={run_dir}", *FAST])
    assert ok == 0
    names = sorted(p.name for p in (run_dir / ".hydra").iterdir())
    assert names == ["config.yaml", "hydra.yaml", "overrides.yaml"]
    overrides = (run_dir / ".hydra" / "overrides.yaml").read_text()
    assert "trainer.max_steps=4" in overrides
    assert "hydra.run.dir" not in overrides  # as Hydra writes it: the task's overrides only
    assert "max_steps: 4" in (run_dir / ".hydra" / "config.yaml").read_text()
    assert f"dir: {run_dir}" in (run_dir / ".hydra" / "hydra.yaml").read_text()


def test_a_sweep_job_whose_folder_is_in_use_writes_nothing_there(tmp_path, capsys):
    """Two sweeps on one results folder: the second's job is refused before any record."""
    sweep = tmp_path / "sweep"
    job = sweep / "held"
    job.mkdir(parents=True)
    holder = hold_lock(job)
    try:
        started = time.monotonic()
        code = main(
            [
                "train",
                "-m",
                "experiment=gaussians_nan",
                "resume=auto",
                "hydra/launcher=basic",
                f"hydra.sweep.dir={sweep}",
                "hydra.sweep.subdir=held",
                *FAST,
            ]
        )
        assert time.monotonic() - started < 60
    finally:
        holder.kill()
        holder.wait()
    assert code == 2
    assert "in use" in capsys.readouterr().err
    assert not (job / ".hydra").exists()
    assert not (job / "summary.json").exists()
