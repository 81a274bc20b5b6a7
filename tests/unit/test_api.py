"""Every module declares its API: names in ``__all__`` exist and are listed once."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import noisyexp


def _modules() -> list[str]:
    names = ["noisyexp"]
    for info in pkgutil.walk_packages(noisyexp.__path__, prefix="noisyexp."):
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_all_lists_existing_names_once(name):
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    if name.endswith("__init__") or (exported is None and module.__file__.endswith("__init__.py")):
        pytest.skip("package marker without exports")
    assert exported is not None, f"{name} has no __all__"
    assert len(exported) == len(set(exported)), f"{name} lists a name twice"
    missing = [item for item in exported if not hasattr(module, item)]
    assert not missing, f"{name}.__all__ names missing attributes: {missing}"
