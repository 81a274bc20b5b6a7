"""Every task config refuses a count or size below its minimum with one line naming the key."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from noisyexp.core.errors import ConfigError
from noisyexp.tasks import TASKS
from noisyexp.tasks.base import require_at_least


@dataclass
class _Sizes:
    batch_size: int = 4
    patience: int = 0


def test_require_at_least_names_the_first_key_below_the_minimum() -> None:
    require_at_least(_Sizes(), 0, "batch_size", "patience")  # at the minimum: fine
    with pytest.raises(ConfigError, match=r"^task\.patience must be >= 1, got 0$"):
        require_at_least(_Sizes(), 1, "batch_size", "patience")
    with pytest.raises(ConfigError, match=r"^task\.batch_size must be >= 5, got 4$"):
        require_at_least(_Sizes(patience=-1), 5, "batch_size", "patience")


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_task_config_refuses_a_zero_batch_size(task: str) -> None:
    config_class = TASKS[task][0]
    if "batch_size" not in config_class.__dataclass_fields__:
        pytest.skip(f"{task} has no batch_size")
    with pytest.raises(ConfigError, match=r"task\.batch_size must be >= 1, got 0"):
        config_class(batch_size=0)
