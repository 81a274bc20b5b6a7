"""Task registry: a task name picks a (config dataclass, Task class) pair.

Each task module defines ``TASKS: dict[str, tuple[type, type[Task]]]``. Modules are imported
when a task is asked for, so a broken optional task never stops the others from loading.
"""

from __future__ import annotations

import importlib

from noisyexp.errors import ConfigError
from noisyexp.tasks.base import Task

__all__ = ["TASK_MODULES", "task_names", "get_task"]

#: task name -> module that defines it
TASK_MODULES: dict[str, str] = {
    "gaussians": "noisyexp.tasks.gaussians",
    "mnist": "noisyexp.tasks.mnist",
    "ptb": "noisyexp.tasks.ptb",
    "wordlm": "noisyexp.tasks.ptb",
    "ptb_char": "noisyexp.tasks.ptb_char",
    "unique_count": "noisyexp.tasks.unique_count",
    "copy": "noisyexp.tasks.ntm_tasks",
    "assoc_recall": "noisyexp.tasks.ntm_tasks",
}


def task_names() -> list[str]:
    """All registered task names."""
    return sorted(TASK_MODULES)


def get_task(name: str) -> tuple[type, type[Task]]:
    """Return ``(config_class, task_class)`` for ``name``.

    Raises:
        ConfigError: the name is not a registered task.
    """
    if name not in TASK_MODULES:
        raise ConfigError(f"unknown task {name!r}; choose one of: {', '.join(task_names())}")
    module = importlib.import_module(TASK_MODULES[name])
    return module.TASKS[name]
