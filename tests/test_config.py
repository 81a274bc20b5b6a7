"""Every YAML composes against its schema; bad values fail loudly with the key named."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf.errors import ConfigKeyError, ValidationError

from noisyexp.cli import CONF_DIR
from noisyexp.config import (
    ActConfig,
    NoiseConfig,
    OptimConfig,
    RunConfig,
    TrainerConfig,
    UnitConfig,
)
from noisyexp.errors import ConfigError

GROUPS = ["act", "noise", "optim", "trainer", "task"]


def _options(group: str) -> list[str]:
    return sorted(path.stem for path in (CONF_DIR / group).glob("*.yaml"))


@pytest.mark.parametrize(
    "group,option", [(group, option) for group in GROUPS for option in _options(group)]
)
def test_every_group_option_composes_against_its_schema(compose_config, group, option):
    cfg = compose_config(f"{group}={option}")
    assert isinstance(cfg, RunConfig)
    section = getattr(cfg, group)
    if group in ("act", "task"):
        assert section.name == option
    assert not hasattr(section, "_metadata")  # a dataclass, not a DictConfig


@pytest.mark.parametrize("option", _options("experiment"))
def test_every_experiment_preset_composes(compose_config, option):
    cfg = compose_config(f"experiment={option}")
    assert isinstance(cfg.act, ActConfig) and isinstance(cfg.trainer, TrainerConfig)


def test_every_yaml_lists_its_schema():
    for group in ["act", "noise", "optim", "trainer"]:
        for path in (CONF_DIR / group).glob("*.yaml"):
            assert f"base_{group}" in path.read_text(), path
    for path in (CONF_DIR / "task").glob("*.yaml"):
        assert f"base_{path.stem}" in path.read_text(), path


def test_misspelled_key_fails_at_composition(compose_config):
    with pytest.raises(Exception) as info:
        compose_config("trainer.max_stepz=3")
    assert "max_stepz" in str(info.value)


def test_wrong_type_fails_at_composition(compose_config):
    with pytest.raises(Exception) as info:
        compose_config("trainer.max_steps=abc")
    assert isinstance(info.value.__cause__ or info.value, (ValidationError, ConfigKeyError)) or (
        "max_steps" in str(info.value)
    )


def test_negative_noise_scale_is_a_config_error(compose_config):
    with pytest.raises(ConfigError, match=r"act\.c"):
        compose_config("act=noisy_tanh", "act.c=-0.5")


def test_negative_unit_sigma_is_a_config_error(compose_config):
    with pytest.raises(ConfigError, match="c must be"):
        compose_config("act=nani", "act.cell.c=-1")


@pytest.mark.parametrize(
    "build,match",
    [
        (lambda: UnitConfig(type="relu6"), "relu6"),
        (lambda: NoiseConfig(name="cosine"), "noise"),
        (lambda: NoiseConfig(rate=0.0), "noise.rate"),
        (lambda: OptimConfig(name="lbfgs"), "optim"),
        (lambda: OptimConfig(lr=0.0), "optim.lr"),
        (lambda: OptimConfig(lr_decay=1.5), "optim.lr_decay"),
        (lambda: OptimConfig(clip_norm=-1.0), "optim.clip_norm"),
        (lambda: TrainerConfig(max_steps=None, max_epochs=None), "both are null"),
        (lambda: TrainerConfig(max_steps=0), "trainer.max_steps"),
        (lambda: TrainerConfig(device="tpu"), "trainer.device"),
    ],
)
def test_schema_rejects_bad_values_naming_the_key(build, match):
    with pytest.raises(ConfigError, match=match):
        build()


def test_act_options_carry_the_paper_code_defaults(compose_config):
    nan = compose_config("act=noisy_tanh").act
    assert (nan.cell.type, nan.cell.alpha, nan.cell.c) == ("nan", 1.15, 0.5)
    assert (nan.gate.type, nan.gate.alpha, nan.gate.c) == ("nan", 1.1, 0.15)
    assert compose_config("act=nani").act.cell.c == 0.05
    assert compose_config("act=nanis").act.cell.c == 0.25
    assert compose_config("act=nanil").act.cell.c == 0.25


def test_default_config_needs_no_download(compose_config):
    cfg = compose_config()
    assert cfg.task.name == "gaussians"
    assert cfg.act.name == "tanh"


def test_run_dir_pattern_is_unique_per_run():
    text = Path(CONF_DIR / "config.yaml").read_text()
    assert "%f" in text  # microseconds in run dirs
    assert "${hydra.job.num}" in text  # sweep jobs never share a directory
