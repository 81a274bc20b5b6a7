"""The curriculum strategies of Learning to Execute (Zaremba & Sutskever 2014, §4).

Followed from the original code (``wojciechz/learning_to_execute``: ``utils/strategies.lua`` for
the strategies and ``make_harder``, ``main.lua`` for when it is called), rewritten here:

* the difficulty is ``(length, nesting)``; training starts at (1, 1) and aims at the target
  (6, 3 by default);
* strategies, each a way to pick the difficulty of one draw:

  - ``baseline``: always the target ("no curriculum");
  - ``naive``: always the current difficulty;
  - ``mix``: length uniform in 1..target length and nesting uniform in 1..target nesting;
  - ``combined`` (the original's ``blend``, the paper's setting): with probability 1/5 as
    ``mix``, otherwise the current difficulty;

* after each evaluation the difficulty is raised when the validation accuracy at the current
  difficulty exceeds ``threshold`` (the original's ``target_accuracy = 0.95``), or when the
  training accuracy is below the one recorded ``window`` (5) evaluations earlier (training has
  stopped improving). Raising adds 1 to the length up to the target, then resets the length to 1
  and adds 1 to the nesting. When no harder difficulty remains the original multiplies its
  learning rate by 0.8; here the raise only counts as ``exhausted`` (the trainer owns the
  learning rate);
* the accuracies recorded for the plateau rule are cleared whenever the difficulty was raised
  (or could not be).

Everything random takes an explicit :class:`random.Random`, and :meth:`Curriculum.state_dict`
holds the whole state (plain data), so a resumed run continues at the same difficulty.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from noisyexp.data.programs import DifficultySampler

__all__ = ["STRATEGIES", "Curriculum"]

STRATEGIES = ("baseline", "naive", "mix", "combined")
"""Strategy names; ``blend`` is accepted as the original's name of ``combined``."""

MIX_PROBABILITY = 0.2  # ``combined``: the original's ``random(5) == 1``


@dataclass
class Curriculum:
    """Current difficulty, target, and the rule that raises one towards the other."""

    strategy: str = "combined"
    target_length: int = 6
    target_nesting: int = 3
    threshold: float = 0.95
    window: int = 5
    length: int = 1
    nesting: int = 1
    exhausted: int = 0  # raises asked for with no harder difficulty left
    train_accs: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.strategy == "blend":
            self.strategy = "combined"
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}"
            )
        if self.target_length < 1 or self.target_nesting < 1:
            raise ValueError("target length and nesting must be >= 1")
        if self.window < 1:
            raise ValueError(f"window must be >= 1, got {self.window}")

    @property
    def current(self) -> tuple[int, int]:
        return self.length, self.nesting

    @property
    def target(self) -> tuple[int, int]:
        return self.target_length, self.target_nesting

    def draw(self, rng: random.Random) -> tuple[int, int]:
        """One difficulty under the strategy."""
        if self.strategy == "baseline":
            return self.target
        if self.strategy == "naive":
            return self.current
        if self.strategy == "combined" and rng.random() >= MIX_PROBABILITY:
            return self.current
        return rng.randint(1, self.target_length), rng.randint(1, self.target_nesting)

    def sampler(self, rng: random.Random) -> DifficultySampler:
        """A difficulty sampler for :func:`noisyexp.data.programs.generate_program`."""
        return lambda: self.draw(rng)

    def make_harder(self) -> bool:
        """Raise the difficulty one notch; False when it is already the target."""
        if self.length < self.target_length:
            self.length += 1
            return True
        if self.nesting < self.target_nesting:
            self.length = 1
            self.nesting += 1
            return True
        return False

    def update(self, valid_accuracy: float, train_accuracy: float) -> bool:
        """Apply the original's rule after an evaluation; True when the difficulty was raised.

        ``valid_accuracy`` is measured at the current difficulty, both are fractions in [0, 1].
        """
        plateau = (
            len(self.train_accs) >= self.window and self.train_accs[-self.window] > train_accuracy
        )
        raised = False
        if valid_accuracy > self.threshold or plateau:
            raised = self.make_harder()
            if not raised:
                self.exhausted += 1
            self.train_accs = []
        self.train_accs.append(float(train_accuracy))
        return raised

    def state_dict(self) -> dict[str, Any]:
        return {
            "length": self.length,
            "nesting": self.nesting,
            "exhausted": self.exhausted,
            "train_accs": list(self.train_accs),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.length = int(state["length"])
        self.nesting = int(state["nesting"])
        self.exhausted = int(state["exhausted"])
        self.train_accs = [float(a) for a in state["train_accs"]]
