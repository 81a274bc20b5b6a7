"""Hydra's real launchers: the local joblib one runs (see test_cli), the SLURM one composes."""

from __future__ import annotations

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from noisyexp.cli.app import CONF_DIR
from noisyexp.config.schema import register_configs


def _hydra_launcher(choice: str):
    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(
                "config", overrides=[f"hydra/launcher={choice}"], return_hydra_config=True
            )
    finally:
        GlobalHydra.instance().clear()
    return cfg.hydra.launcher


def test_slurm_launcher_config_composes_to_submitit():
    launcher = _hydra_launcher("slurm")
    assert (
        launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    )
    assert launcher.gpus_per_node == 1 and launcher.timeout_min == 360


def test_local_launcher_config_composes_to_joblib_on_every_core():
    launcher = _hydra_launcher("local")
    assert launcher._target_.endswith("JoblibLauncher")
    assert launcher.n_jobs == -1
