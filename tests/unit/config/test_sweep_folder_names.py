"""The default sweep folder names a job by its overrides, less the bookkeeping keys."""

from __future__ import annotations

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from noisyexp.cli.app import CONF_DIR
from noisyexp.config.schema import register_configs
from noisyexp.paper import reproduce


def _hydra_config():
    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose("config", return_hydra_config=True).hydra
    finally:
        GlobalHydra.instance().clear()


def test_the_subdir_is_the_job_number_and_the_overrides():
    hydra = _hydra_config()
    subdir = hydra.sweep._get_node("subdir")._value()  # the interpolation, unresolved
    assert subdir == "${hydra.job.num}_${hydra.job.override_dirname}"


def test_the_keys_noisyexp_paper_adds_never_name_a_folder():
    excluded = set(_hydra_config().job.config.override_dirname.exclude_keys)
    assert set(reproduce._BOOKKEEPING_KEYS) <= excluded
    assert {"act.c", "seed", "experiment", "act"}.isdisjoint(excluded)  # swept keys do
