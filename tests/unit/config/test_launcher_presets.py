"""The submitit local preset composes to submitit's LocalLauncher with a run-sized timeout."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from noisyexp.cli.app import CONF_DIR
from noisyexp.config.schema import register_configs

pytest.importorskip("hydra_plugins.hydra_submitit_launcher")


def test_local_submitit_is_submitits_local_launcher_without_its_one_hour_limit():
    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(
                "config", overrides=["hydra/launcher=local_submitit"], return_hydra_config=True
            )
    finally:
        GlobalHydra.instance().clear()
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.LocalLauncher")
    assert launcher.timeout_min == 7 * 24 * 60  # the plugin's default (60) would stop runs
