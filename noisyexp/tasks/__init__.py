"""The task registry: a task name picks its (config dataclass, Task class) pair.

:data:`TASKS` lists every task of this package explicitly, so a task module that fails to import
fails loudly with its own error, never as "unknown task". A task defined elsewhere (your own
package) joins with :func:`register_task`; the CLI imports such packages first when they are named
in ``NOISYEXP_PLUGINS``. Adding a task = its module, its entry here (or a ``register_task`` call)
and one YAML file ``conf/task/<name>.yaml`` (whose defaults list ``base_<name>``).

Layer rule: tasks may import :mod:`noisyexp.core`, :mod:`noisyexp.activations`,
:mod:`noisyexp.layers`, :mod:`noisyexp.data` and :mod:`noisyexp.models`; they know nothing of
Hydra, configs files, checkpoints or the trainer (it hands them what they need).
"""

from __future__ import annotations

from noisyexp.core.errors import ConfigError
from noisyexp.tasks import gaussians, lte, mnist, nmt, ntm_tasks, ptb, ptb_char, unique_count
from noisyexp.tasks.base import Task

__all__ = ["TASKS", "get_task", "register_task", "task_names"]

#: task name (``task.name``) -> (config dataclass, Task class)
TASKS: dict[str, tuple[type, type[Task]]] = {
    "gaussians": (gaussians.GaussiansConfig, gaussians.GaussiansTask),
    "mnist": (mnist.MNISTConfig, mnist.MNISTTask),
    "ptb": (ptb.PTBConfig, ptb.PTBTask),
    "wordlm": (ptb.WordLMConfig, ptb.WordLMTask),
    "ptb_char": (ptb_char.PTBCharConfig, ptb_char.PTBCharTask),
    "unique_count": (unique_count.UniqueCountConfig, unique_count.UniqueCountTask),
    "copy": (ntm_tasks.CopyConfig, ntm_tasks.CopyTask),
    "assoc_recall": (ntm_tasks.AssocRecallConfig, ntm_tasks.AssocRecallTask),
    "lte": (lte.LTEConfig, lte.LTETask),
    "nmt": (nmt.NMTConfig, nmt.NMTTask),
}


def register_task(name: str, config_class: type, task_class: type[Task]) -> None:
    """Add a task defined outside this package (its config dataclass needs ``name: str = name``).

    Raises:
        ValueError: the name is taken, or the classes do not fit the contract.
    """
    if name in TASKS:
        raise ValueError(f"task {name!r} is already registered")
    if not (isinstance(task_class, type) and issubclass(task_class, Task)):
        raise ValueError(f"task {name!r}: {task_class!r} is not a Task subclass")
    if getattr(config_class, "name", None) != name:
        raise ValueError(f"task {name!r}: {config_class.__name__}.name must default to {name!r}")
    TASKS[name] = (config_class, task_class)


def task_names() -> list[str]:
    """All registered task names."""
    return sorted(TASKS)


def get_task(name: str) -> tuple[type, type[Task]]:
    """Return ``(config_class, task_class)`` for ``name``.

    Raises:
        ConfigError: the name is not a registered task.
    """
    if name not in TASKS:
        raise ConfigError(f"unknown task {name!r}; choose one of: {', '.join(task_names())}")
    return TASKS[name]
