"""The four extension recipes of docs/extending.md, each done in a package outside noisyexp.

A temporary package ``myext`` (its module plus a ``conf/`` folder of YAML files) adds a unit
type, a noise schedule, a task and a paper table through the public registries; the command
imports it through ``NOISYEXP_PLUGINS`` and trains, tabulates and plans with what it added. Each
command runs in its own process, so nothing registered here leaks into other tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # four processes that each import torch and Hydra

PLUGIN = '''
"""A plugin: what a user adds from outside the package."""

from dataclasses import dataclass

import torch

from noisyexp import activations, paper
from noisyexp.activations import schedules
from noisyexp.models.mlp import MLP
from noisyexp.tasks import register_task
from noisyexp.tasks.base import DatasetInfo
from noisyexp.tasks.classification import ClassificationTask

# 1. a unit type: a variant of an existing class through the registry alone
activations.register_unit(
    "nan_wide",
    activations.NoisyOutput,
    defaults={"tanh": {"alpha": 1.3, "c": 1.0}, "sigmoid": {"alpha": 1.2, "c": 0.3}},
    description="NAN with a larger alpha and c",
)


# 2. a noise schedule: a frozen dataclass whose fields are its knobs
@dataclass(frozen=True)
class Halving:
    c0: float = 8.0

    def __call__(self, step: int) -> float:
        return self.c0 / 2**step


schedules.SCHEDULES["halving"] = Halving


# 3. a task: its config dataclass and a Task subclass
@dataclass
class XorConfig:
    name: str = "xor"
    size: int = 256
    batch_size: int = 32


class XorTask(ClassificationTask):
    def setup(self):
        generator = torch.Generator().manual_seed(0)
        self.splits = {}
        for split in ("train", "valid", "test"):
            x = torch.rand(self.cfg.size, 2, generator=generator) * 2 - 1
            self.splits[split] = (x, ((x[:, 0] > 0) ^ (x[:, 1] > 0)).long())
        self.batch_size = self.cfg.batch_size

    def dataset_info(self):
        return DatasetInfo(name="xor", checksum="generated:0", sizes={"train": self.cfg.size})

    def build_model(self, units):
        return MLP(2, [8], 2, unit=units.cell)


register_task("xor", XorConfig, XorTask)

# 4. a paper table: its rows, metrics, and what `noisyexp paper` runs for it
paper.register_table(
    {
        "id": "xor_table",
        "order": 50,
        "title": "XOR (a plugin's table)",
        "source": "none: a test",
        "tasks": ["xor"],
        "reference": "xor_tanh",
        "metrics": [{"key": "test/error", "label": "Test error %", "decimals": 1}],
        "rows": [
            {"experiment": "xor_tanh", "label": "tanh", "paper": {"test/error": None}},
            {"experiment": "xor_wide", "label": "wide NAN", "paper": {"test/error": None}},
        ],
        "sweeps": {
            "xor": {
                "cpu": {
                    "experiments": ["xor_tanh", "xor_wide"],
                    "seeds": [1, 2],
                    "overrides": ["trainer.max_steps=6", "trainer.eval_every=3"],
                }
            }
        },
    }
)
'''

YAML = {
    "act/nan_wide.yaml": "defaults:\n  - base_act\n  - _self_\nname: nan_wide\n"
    "gate: {type: nan_wide}\ncell: {type: nan_wide}\n",
    "noise/halving.yaml": "defaults:\n  - base_halving\n  - _self_\n",
    "task/xor.yaml": "defaults:\n  - base_xor\n  - _self_\n",
    "experiment/xor_tanh.yaml": "# @package _global_\ndefaults:\n  - override /task: xor\n"
    "  - override /act: tanh\n",
    "experiment/xor_wide.yaml": "# @package _global_\ndefaults:\n  - override /task: xor\n"
    "  - override /act: nan_wide\n  - override /noise: halving\n",
}


@pytest.fixture
def plugin(tmp_path: Path) -> dict[str, str]:
    package = tmp_path / "plugins" / "myext"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    for name, text in YAML.items():
        (package / "conf" / name).parent.mkdir(parents=True, exist_ok=True)
        (package / "conf" / name).write_text(text)
    path = os.pathsep.join([str(tmp_path / "plugins"), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "NOISYEXP_PLUGINS": "myext", "PYTHONPATH": path}


def _command(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "noisyexp", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _noisyexp(env: dict[str, str], cwd: Path, *args: str) -> str:
    result = _command(env, cwd, *args)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_a_unit_schedule_task_and_table_added_outside_the_package_work(plugin, tmp_path):
    results = tmp_path / "results"
    # the table's own sweep, run as `make paper` runs it: 2 presets x 2 seeds, then the tables
    ran = _noisyexp(
        plugin, tmp_path, "paper", "--profile", "cpu", "--only", "xor", "--launcher", "basic",
        "--results", str(results), "--data-dir", str(tmp_path / "data"),
    )  # fmt: skip
    assert "1/1 sweeps completed" in ran
    wide = json.loads(
        (results / "paper/cpu/xor/experiment=xor_wide,seed=1/summary.json").read_text()
    )
    assert (wide["task"], wide["act"], wide["noise"]) == ("xor", "nan_wide", "halving")
    assert wide["config"]["act"]["cell"]["type"] == "nan_wide" and wide["status"] == "completed"
    # the schedule set c on every unit each step: 8 / 2**5 at the last one (step 5)
    metrics = results / "paper/cpu/xor/experiment=xor_wide,seed=1/metrics.jsonl"
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert rows[-1]["noise/c"] == 8.0 / 2**5

    table = (results / "tables" / "xor_table.md").read_text()
    assert "XOR (a plugin's table)" in table
    assert "| xor_wide | wide NAN |" in table and "| 2 |" in table  # n = 2 seeds per row

    dry_run = ("paper", "--profile", "cpu", "--dry-run", "--only", "xor", "--results")
    planned = _noisyexp(plugin, tmp_path, *dry_run, str(results))
    assert "sweep xor: 0 run(s), 4 completed before" in planned  # the table's own sweep
    planned = _noisyexp(plugin, tmp_path, *dry_run, str(tmp_path / "elsewhere"))
    assert "experiment=xor_tanh,xor_wide" in planned and "seed=1,2" in planned


def test_without_the_plugin_its_names_are_unknown(tmp_path):
    env = {**os.environ, "NOISYEXP_PLUGINS": ""}
    result = _command(env, tmp_path, "train", "act.gate.type=nan_wide")
    assert result.returncode == 2
    assert "nan_wide" in result.stderr and "is not one of" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_plugin_that_fails_to_import_is_one_line(tmp_path):
    (tmp_path / "broken.py").write_text("raise RuntimeError('half-written plugin')\n")
    env = {**os.environ, "NOISYEXP_PLUGINS": "broken", "PYTHONPATH": str(tmp_path)}
    result = _command(env, tmp_path, "tables", "--results", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "noisyexp: error: NOISYEXP_PLUGINS: cannot import 'broken': half-written plugin"
    )
