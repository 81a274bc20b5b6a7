"""The wheel stands alone: installed into a fresh venv, away from the checkout, every command runs.

The fresh venv sees the project venv's dependencies (torch, Hydra, ...) through a ``.pth`` line,
but not the checkout: the project's own editable install is a finder that only the project venv
runs, and the commands run from another folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from _tiny_data import write_corpus

ROOT = Path(__file__).resolve().parents[2]


def _run(
    args: list[str], cwd: Path, env: dict[str, str], timeout: int = 600, stdin: str | None = None
):
    done = subprocess.run(
        args,
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(the fresh venv's bin folder, an environment without the checkout, the wheel)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"  # a copy: the build's own build/ folder stays out of the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(  # conf is a link to ../conf in the checkout: copied as its files
        ROOT / "noisyexp", source / "noisyexp", ignore=shutil.ignore_patterns("__pycache__")
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_NO_INPUT"] = "1"
    dist = tmp / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    _run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(source)], tmp, env
    )
    (wheel,) = dist.glob("noisyexp-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp, env)
    python = venv / "bin" / "python"
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, env
    ).stdout.strip()
    (Path(purelib) / "project_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"  # the project venv's torch, Hydra, matplotlib...
    )
    _run([*pip, "--python", str(python), "install", "--no-deps", str(wheel)], tmp, env)
    return venv / "bin", env, wheel


@pytest.mark.slow  # builds a wheel, a venv, and runs seven commands in it (~1 min)
def test_the_wheel_carries_the_configs_and_the_papers_data(installed):
    _, _, wheel = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    want = {
        "noisyexp/py.typed",
        "noisyexp/conf/config.yaml",
        "noisyexp/conf/experiment/gaussians_nan.yaml",
        "noisyexp/conf/hydra/launcher/local.yaml",
        "noisyexp/paper/tables/table2_ptb.yaml",
        "noisyexp/paper/figures_digitized.csv",
        "noisyexp/paper/profiles/cpu.yaml",
    }
    if (ROOT / "noisyexp" / "paper" / "claims.yaml").is_file():
        want.add("noisyexp/paper/claims.yaml")
    assert want <= names, sorted(want - names)
    configs = {p.relative_to(ROOT / "conf").as_posix() for p in (ROOT / "conf").rglob("*.yaml")}
    assert {f"noisyexp/conf/{c}" for c in configs} <= names  # every config, none left behind
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


@pytest.mark.slow
def test_every_command_runs_from_the_installed_wheel(installed, tmp_path):
    bin_dir, env, _ = installed
    elsewhere = tmp_path / "elsewhere"  # not the checkout, which is never on sys.path
    elsewhere.mkdir()
    results = tmp_path / "results"
    noisyexp = str(bin_dir / "noisyexp")

    where = _run(
        [
            str(bin_dir / "python"),
            "-c",
            "import noisyexp, noisyexp.activations; print(noisyexp.__file__)",
        ],
        elsewhere,
        env,
    ).stdout.strip()
    assert Path(where).is_relative_to(bin_dir.parent), where  # the venv's copy
    assert not Path(where).is_relative_to(ROOT)

    _run(
        [
            noisyexp,
            "train",
            f"paths.results_dir={results}",
            "trainer.max_steps=6",
            "trainer.eval_every=3",
            "act=nah",
        ],
        elsewhere,
        env,
    )
    (summary_path,) = results.rglob("summary.json")
    summary = json.loads(summary_path.read_text())
    assert summary["status"] == "completed" and summary["steps"] == 6
    assert not summary["code_version"].startswith("git:")  # not run from the repository

    dry = _run([noisyexp, "paper", "--dry-run", "--profile", "cpu"], elsewhere, env)
    assert "[1/" in dry.stdout and "noisyexp train -m experiment=" in dry.stdout
    assert not (elsewhere / "results").exists()  # a dry run writes nothing

    tables = _run([noisyexp, "tables", "--results", str(results)], elsewhere, env)
    assert (results / "tables" / "tables.md").is_file()
    assert str(results / "tables") in tables.stdout
    figures = _run([noisyexp, "figures", "--results", str(results)], elsewhere, env)
    pngs = sorted((results / "figures").glob("*.png"))
    assert pngs and all(str(p) in figures.stdout for p in pngs)


@pytest.mark.slow
def test_a_translation_run_trains_and_translates_from_the_installed_wheel(installed, tmp_path):
    bin_dir, env, _ = installed
    noisyexp = str(bin_dir / "noisyexp")
    corpus = write_corpus(tmp_path / "corpus")
    run_dir = tmp_path / "run"
    tiny = ["task.embedding_size=8", "task.hidden_size=8", "task.batch_size=4"]
    budget = ["trainer.max_steps=3", "trainer.max_epochs=null", "trainer.eval_every=3"]
    _run(
        [
            noisyexp,
            "train",
            "task=nmt",
            "act=nah",
            f"task.corpus_dir={corpus}",
            "task.test_split=test",
            *tiny,
            *budget,
            f"hydra.run.dir={run_dir}",
        ],
        tmp_path,
        env,
    )
    assert (run_dir / "translations" / "test.txt").is_file()
    done = _run(
        [noisyexp, "translate", str(run_dir), "--beam", "2"],
        tmp_path,
        env,
        stdin="Un chien noir court.\n\nUn homme.\n",
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 3 and lines[1] == ""  # one line out per line in, a blank one kept
