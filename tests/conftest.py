"""Shared fixtures: compose the real configs in-process, shrunk to run in a second."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from _presets import tiny_mnist, tiny_multi30k, tiny_ptb  # noqa: F401 (fixtures for every test)
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from noisyexp.cli.app import CONF_DIR
from noisyexp.config.schema import RunConfig, register_configs

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


@pytest.fixture
def straight_and_resumed(compose_config, tmp_path: Path):
    """``(straight, resumed) = straight_and_resumed(overrides, stop_step)``: two run summaries.

    One run trains straight through; the other stops at ``stop_step`` and is resumed to the end.
    """
    from noisyexp.training.trainer import train

    def _run(overrides: list[str], stop_step: int) -> tuple[dict, dict]:
        straight = train(compose_config(*overrides), tmp_path / "straight").summary
        train(compose_config(*overrides, f"trainer.max_steps={stop_step}"), tmp_path / "resumed")
        resumed_cfg = compose_config(*overrides, f"resume={tmp_path / 'resumed'}")
        return straight, train(resumed_cfg, tmp_path / "resumed").summary

    return _run
