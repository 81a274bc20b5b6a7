"""Every data file of the package is covered by pyproject's package-data (the wheel carries it)."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "noisyexp"


def _patterns() -> list[str]:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        project = tomllib.load(handle)
    return project["tool"]["setuptools"]["package-data"]["noisyexp"]


def _covered(relative: str, patterns: list[str]) -> bool:
    # setuptools globs relative to the package; ``**/`` also matches no folder at all
    return any(
        fnmatch.fnmatch(relative, p) or fnmatch.fnmatch(relative, p.replace("**/", ""))
        for p in patterns
    )


def test_every_non_python_file_of_the_package_ships():
    patterns = _patterns()
    data = []
    for folder, dirs, files in os.walk(PACKAGE, followlinks=True):  # conf may be a link
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if not name.endswith((".py", ".pyc")):
                data.append((Path(folder) / name).relative_to(PACKAGE).as_posix())
    assert (
        "py.typed" in data and "conf/config.yaml" in data and "paper/tables/table2_ptb.yaml" in data
    )
    missing = [name for name in data if not _covered(name, patterns)]
    assert not missing, f"not in [tool.setuptools.package-data]: {missing}"


def test_the_license_is_mit_and_named_in_the_metadata():
    with open(ROOT / "pyproject.toml", "rb") as handle:
        project = tomllib.load(handle)["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "the noisyexp authors" in text
