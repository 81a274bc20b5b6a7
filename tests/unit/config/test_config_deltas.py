"""Every YAML states only what differs: the schemas are the one home of the defaults.

A group option (``conf/{act,noise,optim,trainer,task}/*.yaml``) may set a key only to a value its
schema's default does not already have; an experiment preset only to a value that its own
defaults list (its family base, its ``override /group: x`` entries) does not already compose.
Both are checked the same way: the file is composed once as written and once with its body
removed (header and defaults list kept) in a copy of ``conf/``, and every leaf it sets must
land in the first and differ in the second. Files are discovered, so a new YAML is covered.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from noisyexp.cli.app import CONF_DIR
from noisyexp.config.schema import RunConfig, register_configs

pytestmark = pytest.mark.slow  # composes every YAML file twice: about a minute

GROUPS = ("act", "noise", "optim", "trainer", "task", "experiment")
OPTIONS = [
    (group, path.stem) for group in GROUPS for path in sorted((CONF_DIR / group).glob("*.yaml"))
]
_MISSING = object()


def _is_global(text: str) -> bool:
    header = [line for line in text.splitlines() if line.startswith("#")]
    return any(line.split() == ["#", "@package", "_global_"] for line in header)


def _leaves(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict) and node:
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_leaves(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: node}


def _keys_set(group: str, text: str) -> dict[str, Any]:
    """The leaves a file sets, as dotted keys of the composed config."""
    body = OmegaConf.to_container(OmegaConf.create(text), resolve=False) or {}
    body.pop("defaults", None)
    if not body:
        return {}
    return _leaves(body, "" if _is_global(text) else f"{group}.")


def _without_body(text: str) -> str:
    """The file reduced to its header comments and its defaults list."""
    header = [line for line in text.splitlines() if line.startswith("#")]
    defaults = (OmegaConf.to_container(OmegaConf.create(text)) or {}).get("defaults")
    listed = OmegaConf.to_yaml({"defaults": defaults}) if defaults is not None else ""
    return "\n".join(header) + "\n" + listed


def _compose(conf_dir: Path, *overrides: str) -> Any:
    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
            return compose("config", overrides=list(overrides))
    finally:
        GlobalHydra.instance().clear()


def _lookup(data: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return _MISSING
        data = data[part]
    return data


@pytest.fixture(scope="module")
def conf_copy(tmp_path_factory) -> Path:
    """A copy of conf/ whose files a test may strip, one at a time, and restore."""
    copy = tmp_path_factory.mktemp("conf") / "conf"
    shutil.copytree(CONF_DIR, copy)
    return copy


@pytest.mark.parametrize("group,option", OPTIONS)
def test_yaml_sets_only_values_that_differ(conf_copy, group, option):
    text = (CONF_DIR / group / f"{option}.yaml").read_text()
    if group == "experiment":
        assert _is_global(text), "an experiment preset must be `# @package _global_`"
    choice = f"{group}='{option}'"  # quoted: a bare act=nan parses as the float NaN
    cfg = _compose(CONF_DIR, choice)
    assert isinstance(OmegaConf.to_object(cfg), RunConfig)  # composes and validates
    keys = _keys_set(group, text)
    if not keys:
        return
    composed = OmegaConf.to_container(cfg, resolve=False)
    landed = {key: _lookup(composed, key) for key in keys}
    not_landed = {k: (v, landed[k]) for k, v in keys.items() if landed[k] != v}
    assert not not_landed, f"{choice}: values that do not reach the composed config: {not_landed}"

    stripped = conf_copy / group / f"{option}.yaml"
    stripped.write_text(_without_body(text))
    try:
        base = OmegaConf.to_container(_compose(conf_copy, choice), resolve=False)
    finally:
        stripped.write_text(text)
    restated = sorted(f"{k}: {v!r}" for k, v in keys.items() if _lookup(base, k) == v)
    what = "the schema's default" if group != "experiment" else "what its defaults list composes"
    assert not restated, f"conf/{group}/{option}.yaml restates {what}: {', '.join(restated)}"


def test_without_body_keeps_header_and_defaults():
    text = "# @package _global_\n# doc\ndefaults:\n  - base\n  - override /act: nan\n\nx:\n  y: 1\n"
    reduced = _without_body(text)
    assert _is_global(reduced) and "x:" not in reduced
    assert OmegaConf.create(reduced).defaults == ["base", {"override /act": "nan"}]
    assert _keys_set("experiment", text) == {"x.y": 1}
    assert _keys_set("trainer", "defaults: [base_trainer]\nmax_steps: 3\n") == {
        "trainer.max_steps": 3
    }
