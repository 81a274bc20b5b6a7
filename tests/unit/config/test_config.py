"""Every YAML composes against its schema; bad values fail loudly with the key named."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf.errors import ConfigKeyError, ValidationError

from noisyexp.cli.app import CONF_DIR
from noisyexp.config.act import build_units
from noisyexp.config.schema import (
    ACT_ALIASES,
    ActConfig,
    OptimConfig,
    RunConfig,
    TrainerConfig,
    UnitConfig,
    noise_schemas,
)
from noisyexp.core.errors import ConfigError

GROUPS = ["act", "noise", "optim", "trainer", "task"]


def _options(group: str) -> list[str]:
    return sorted(path.stem for path in (CONF_DIR / group).glob("*.yaml"))


@pytest.mark.parametrize(
    "group,option", [(group, option) for group in GROUPS for option in _options(group)]
)
def test_every_group_option_composes_against_its_schema(compose_config, group, option):
    cfg = compose_config(f"{group}='{option}'")  # quoted: Hydra reads a bare nan as a number
    assert isinstance(cfg, RunConfig)
    section = getattr(cfg, group)
    if group in ("act", "task"):
        assert section.name == ACT_ALIASES.get(option, option)
    assert not hasattr(section, "_metadata")  # a dataclass, not a DictConfig


@pytest.mark.parametrize("option", _options("experiment"))
def test_every_experiment_preset_composes(compose_config, option):
    cfg = compose_config(f"experiment='{option}'")
    assert isinstance(cfg.act, ActConfig) and isinstance(cfg.trainer, TrainerConfig)


def test_every_yaml_lists_its_schema():
    for group in ["act", "optim", "trainer"]:
        for path in (CONF_DIR / group).glob("*.yaml"):
            if group == "act" and path.stem in ACT_ALIASES:
                continue  # an alias lists the option it stands for
            assert f"base_{group}" in path.read_text(), path
    for group in ["noise", "task"]:  # one schema per option, derived from its registry
        for path in (CONF_DIR / group).glob("*.yaml"):
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
        compose_config("act='nan'", "act.c=-0.5")


def test_negative_unit_sigma_is_a_config_error(compose_config):
    with pytest.raises(ConfigError, match="c must be"):
        compose_config("act=nani", "act.cell.c=-1")


@pytest.mark.parametrize(
    "build,match",
    [
        (lambda: UnitConfig(type="relu6"), "relu6"),
        (lambda: noise_schemas()["anneal"](name="cosine"), "noise='cosine' is not one of"),
        (lambda: noise_schemas()["exponential"](rate=0.0), "noise.rate"),
        (lambda: noise_schemas()["anneal"](every=0), "noise.every"),
        (lambda: noise_schemas()["linear"](decay_steps=0), "noise.decay_steps"),
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


def test_act_options_build_the_paper_code_defaults(compose_config):
    units = build_units(compose_config("act='nan'").act)
    cell, gate = units.cell(3), units.gate(3)
    assert (type(cell).__name__, cell.alpha, float(cell.c)) == ("NoisyOutput", 1.15, 0.5)
    assert (gate.alpha, float(gate.c)) == (1.1, pytest.approx(0.15))
    assert float(build_units(compose_config("act=nani").act).cell(3).c) == pytest.approx(0.05)
    assert float(build_units(compose_config("act=nanis").act).cell(3).c) == 0.25
    assert float(build_units(compose_config("act=nanil").act).cell(3).c) == 0.25


@pytest.mark.parametrize("alias", sorted(ACT_ALIASES))
def test_old_act_names_compose_to_the_renamed_options(compose_config, alias):
    renamed = compose_config(f"act='{ACT_ALIASES[alias]}'").act
    assert compose_config(f"act={alias}").act == renamed
    text = (CONF_DIR / "act" / f"{alias}.yaml").read_text()
    assert f"- {ACT_ALIASES[alias]}" in text  # the alias file is nothing but a pointer


def test_every_act_option_is_named_after_its_file(compose_config):
    for option in _options("act"):
        expected = ACT_ALIASES.get(option, option)
        assert compose_config(f"act='{option}'").act.name == expected


def test_default_config_needs_no_download(compose_config):
    cfg = compose_config()
    assert cfg.task.name == "gaussians"
    assert cfg.act.name == "sigmoid_tanh"


def test_run_dir_pattern_is_unique_per_run():
    text = Path(CONF_DIR / "config.yaml").read_text()
    assert "%f" in text  # microseconds in run dirs
    assert "${hydra.job.num}" in text  # sweep jobs never share a directory


@pytest.mark.parametrize(
    ("option", "expected"),
    [  # the values each noise option had when its YAML spelled them all out
        ("constant", {"name": "constant"}),
        ("anneal", {"name": "anneal", "c0": 30.0, "c_min": 0.5, "every": 200}),
        ("linear", {"name": "linear", "c0": 5.0, "c_min": 0.5, "decay_steps": 10000}),
        (
            "exponential",
            {"name": "exponential", "c0": 5.0, "c_min": 0.5, "rate": 0.9, "every": 200},
        ),
    ],
)
def test_noise_options_compose_to_their_schedules_knobs(compose_config, option, expected):
    import dataclasses

    # plus noise.roles, added later: null = the schedule sets every noisy unit, as before
    noise = dataclasses.asdict(compose_config(f"noise={option}").noise)
    assert noise == {**expected, "roles": None}


def test_a_knob_of_another_schedule_fails_at_composition(compose_config):
    with pytest.raises(Exception, match="rate"):
        compose_config("noise=anneal", "noise.rate=0.5")


@pytest.mark.parametrize(
    ("option", "expected"),
    [  # the values each optim option had when its YAML spelled them all out
        ("adam", {"name": "adam", "lr": 0.001}),
        ("rmsprop", {"name": "rmsprop", "lr": 0.001, "rms_alpha": 0.9}),
        ("sgd", {"name": "sgd", "lr": 1.0}),
        (
            "zaremba",
            {
                "name": "sgd",
                "lr": 1.0,
                "clip_norm": 5.0,
                "lr_decay": 0.5,
                "lr_decay_start_epoch": 5,
            },
        ),
    ],
)
def test_optim_options_keep_their_values(compose_config, option, expected):
    optim = compose_config(f"optim={option}", "task=gaussians").optim
    assert {key: getattr(optim, key) for key in expected} == expected
