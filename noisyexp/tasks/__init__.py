"""Task registry: a task name picks a (config dataclass, Task class) pair.

Every module of this package that defines ``TASKS: dict[str, tuple[type, type[Task]]]``
contributes its names, found by walking the package, so adding a task = its module here + one
YAML file ``conf/task/<name>.yaml`` (whose defaults list ``base_<name>``).
"""

from __future__ import annotations

import functools
import importlib
import logging
import pkgutil

from noisyexp.core.errors import ConfigError
from noisyexp.tasks.base import Task

__all__ = ["TASKS", "get_task", "task_names"]

log = logging.getLogger(__name__)


@functools.cache
def _discover() -> dict[str, tuple[type, type[Task]]]:
    found: dict[str, tuple[type, type[Task]]] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        try:
            module = importlib.import_module(f"{__name__}.{module_info.name}")
        except ImportError as err:  # an optional dependency missing: the other tasks still load
            log.warning("task module %s not loaded: %s", module_info.name, err)
            continue
        for name, entry in getattr(module, "TASKS", {}).items():
            if name in found:
                raise RuntimeError(f"task {name!r} is defined twice (again in {module.__name__})")
            found[name] = entry
    return found


def __getattr__(name: str) -> object:
    if name == "TASKS":  # discovered on first use, so `import noisyexp.tasks` stays cheap
        return _discover()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def task_names() -> list[str]:
    """All registered task names."""
    return sorted(_discover())


def get_task(name: str) -> tuple[type, type[Task]]:
    """Return ``(config_class, task_class)`` for ``name``.

    Raises:
        ConfigError: the name is not a registered task.
    """
    tasks = _discover()
    if name not in tasks:
        raise ConfigError(f"unknown task {name!r}; choose one of: {', '.join(task_names())}")
    return tasks[name]
