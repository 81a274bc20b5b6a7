"""Every run leaves a TensorBoard HParams record in its own event folder, read back here."""

from __future__ import annotations

import json
import os
import signal

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

from noisyexp.cli.app import main
from noisyexp.tasks.gaussians import GaussiansTask
from noisyexp.training.trainer import RunInfo, train


def _read(run_dir):
    """(hparams as plain values, session end status or None, final/* scalars as (step, value))."""
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    content = events.PluginTagToContent(metadata.PLUGIN_NAME)
    start = plugin_data_pb2.HParamsPluginData.FromString(
        content[metadata.SESSION_START_INFO_TAG]
    ).session_start_info
    hparams = {}
    for name, value in start.hparams.items():
        kind = value.WhichOneof("kind")
        hparams[name] = getattr(value, kind)
    status = None
    if metadata.SESSION_END_INFO_TAG in content:
        end = plugin_data_pb2.HParamsPluginData.FromString(content[metadata.SESSION_END_INFO_TAG])
        status = end.session_end_info.status
    finals = {
        tag: [(event.step, event.value) for event in events.Scalars(tag)]
        for tag in events.Tags()["scalars"]
        if tag.startswith("final/")
    }
    return hparams, status, finals


def test_a_run_records_its_identity_overrides_and_final_metrics(tmp_path):
    run_dir = tmp_path / "run"
    code = main(
        [
            "train",
            f"hydra.run.dir={run_dir}",
            f"paths.results_dir={tmp_path}",
            "experiment=gaussians_nan",
            "act.c=0.5",
            "seed=3",
            "trainer.max_steps=4",
            "trainer.eval_every=2",
            "trainer.progress=false",
            "optim.lr=0.002",
        ]
    )
    assert code == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    hparams, status, finals = _read(run_dir)
    assert status == api_pb2.STATUS_SUCCESS
    assert hparams["experiment"] == "gaussians_nan" and hparams["task.name"] == "gaussians"
    assert hparams["act.name"] == summary["act"] and hparams["act.c"] == 0.5
    assert hparams["seed"] == 3 and hparams["optim.lr"] == pytest.approx(0.002)
    assert hparams["optim.name"] == summary["optim"] and hparams["noise.name"] == summary["noise"]
    assert hparams["trainer.max_steps"] == 4 and hparams["trainer.progress"] is False  # overrides
    assert not any(key.startswith(("paths.", "hydra")) for key in hparams)
    want = {f"final/{k}": v for k, v in {**summary["final"], **summary["test"]}.items()}
    assert set(finals) == set(want) and "final/valid/acc" in want and "final/test/acc" in want
    for tag, value in want.items():
        assert finals[tag] == [(4, pytest.approx(value))]
    # in the run's own folder, beside its curves: no timestamped sub-folder of its own
    assert not [p for p in run_dir.iterdir() if p.is_dir() and p.name[0].isdigit()]


TINY = [
    "task=gaussians",
    "act='nan'",
    "trainer.max_steps=8",
    "trainer.eval_every=4",
    "trainer.progress=false",
]


def test_a_stopped_run_is_recorded_and_its_resume_completes_the_record(
    compose_config, tmp_path, monkeypatch
):
    original = GaussiansTask.train_step

    def interrupted(self, model, step):
        if step == 5:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(self, model, step)

    info = RunInfo(overrides=["act.c=0.25"], choices={"act": "nan"})
    monkeypatch.setattr(GaussiansTask, "train_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(compose_config(*TINY, "act.c=0.25"), tmp_path / "run", info)
    hparams, status, finals = _read(tmp_path / "run")
    assert hparams["act.c"] == 0.25 and status is None  # stopped: no end record yet
    stopped = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert finals["final/valid/acc"] == [(6, pytest.approx(stopped["final"]["valid/acc"]))]
    assert "final/test/acc" not in finals  # a stopped run has no test numbers

    monkeypatch.setattr(GaussiansTask, "train_step", original)
    resumed = train(
        compose_config(*TINY, "act.c=0.25", f"resume={tmp_path / 'run'}"), tmp_path / "run", info
    )
    hparams, status, finals = _read(tmp_path / "run")
    assert status == api_pb2.STATUS_SUCCESS and hparams["act.c"] == 0.25
    # the stopped session's value at step 6 was purged on resume: one value, the final one
    assert finals["final/valid/acc"] == [(8, pytest.approx(resumed.summary["final"]["valid/acc"]))]
    assert finals["final/test/acc"] == [(8, pytest.approx(resumed.summary["test"]["test/acc"]))]
