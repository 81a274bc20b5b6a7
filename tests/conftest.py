"""Shared fixtures: compose the real configs in-process, shrunk to run in a second."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from noisyexp.cli import CONF_DIR
from noisyexp.config import RunConfig, register_configs

# Tiny models run fastest on one thread, and a busy shared machine cannot stall a spinning peer.
torch.set_num_threads(1)


@pytest.fixture
def compose_config(tmp_path: Path) -> Callable[..., RunConfig]:
    """``compose_config(*overrides)`` -> a validated RunConfig writing under tmp_path."""

    def _compose(*overrides: str) -> RunConfig:
        register_configs()
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(
                "config",
                overrides=[
                    f"paths.results_dir={tmp_path / 'results'}",
                    f"paths.data_dir={tmp_path / 'data'}",
                    "paths.download=false",
                    "trainer.progress=false",
                    *overrides,
                ],
            )
        return OmegaConf.to_object(cfg)

    yield _compose
    GlobalHydra.instance().clear()
