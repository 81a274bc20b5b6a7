"""Structured-config schemas: one dataclass per config group, registered with Hydra.

Every YAML file in ``conf/<group>/`` lists its schema (``base_<group>``) in its defaults, so a
misspelled key or a wrongly typed value fails when the config is composed. The CLI converts the
composed config once with ``OmegaConf.to_object``, which also runs each ``__post_init__``: no code
below the CLI ever sees a DictConfig.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from noisyexp.errors import ConfigError

__all__ = [
    "UNIT_TYPES",
    "ActConfig",
    "NoiseConfig",
    "OptimConfig",
    "PathsConfig",
    "RunConfig",
    "TrainerConfig",
    "UnitConfig",
    "register_configs",
]

#: unit type names an act option may use (the activation library's registry names)
UNIT_TYPES = (
    "sigmoid",
    "tanh",
    "hard_sigmoid",
    "hard_tanh",
    "nan",
    "nah",
    "nani",
    "nanis",
    "nanil",
    "laplace",
    "nan_fixed_p",
)
#: unit types whose noise scale is the input-noise std σ rather than c
SIGMA_UNIT_TYPES = ("nani", "nanis")
REFERENCE_UNIT_TYPES = ("sigmoid", "tanh", "hard_sigmoid", "hard_tanh")
NOISY_UNIT_TYPES = ("nan", "nah", "nani", "nanis", "nanil", "laplace", "nan_fixed_p")


def _check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{key}={value!r} is not one of: {', '.join(choices)}")


def _check_non_negative(key: str, value: float | None) -> None:
    if value is not None and (not math.isfinite(value) or value < 0):
        raise ConfigError(f"{key} must be a finite number >= 0, got {value}")


def _check_positive_int(key: str, value: int | None, *, allow_zero: bool = False) -> None:
    if value is None:
        return
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else ">= 1"
        raise ConfigError(f"{key} must be {bound}, got {value}")


@dataclass
class UnitConfig:
    """One activation unit: its type and the paper's knobs (``None`` = the paper code's default).

    ``c`` is the noise scale of Eq 9 for NAN/NAH/NANIL; for NANI/NANIS the input-noise std σ.
    """

    type: str = "tanh"
    alpha: float | None = None
    c: float | None = None
    softplus: bool = False  # NANIL: the authors' softplus(p|Δ|/|ξ|) σ instead of Eq 9
    test_mean: float | None = None  # NAH: E|ξ| at test time (None = exact sqrt(2/pi))
    clip: bool = False  # NAN/NAH: clamp the output to h's range (the authors' first code)

    def __post_init__(self) -> None:
        _check_choice("act unit type", self.type, UNIT_TYPES)
        _check_non_negative("act.*.c", self.c)


@dataclass
class ActConfig:
    """Which units a model is built from: ``gate`` (sigmoid-like) and ``cell`` (tanh-like).

    ``c``, ``alpha`` and ``clip``, when set, override both units (``act.c=0.5`` sweeps the
    noise scale).
    """

    name: str = MISSING
    gate: UnitConfig = field(default_factory=lambda: UnitConfig(type="sigmoid"))
    cell: UnitConfig = field(default_factory=lambda: UnitConfig(type="tanh"))
    c: float | None = None
    alpha: float | None = None
    clip: bool | None = None

    def __post_init__(self) -> None:
        _check_non_negative("act.c", self.c)

    @property
    def is_noisy(self) -> bool:
        """Whether any unit draws noise."""
        return self.gate.type in NOISY_UNIT_TYPES or self.cell.type in NOISY_UNIT_TYPES


NOISE_SCHEDULES = ("constant", "anneal", "linear", "exponential")


@dataclass
class NoiseConfig:
    """Schedule of the noise scale c during training (paper §1.9).

    ``constant`` leaves each unit's own c. The others set c_t on every noisy unit each step:
    ``anneal`` = max(c_min, c0/sqrt(floor(step/every)+1)); ``linear`` goes from c0 to c_min over
    ``decay_steps``; ``exponential`` = max(c_min, c0 * rate**floor(step/every)).
    """

    name: str = "constant"
    c0: float = 30.0
    c_min: float = 0.5
    every: int = 200
    decay_steps: int = 10000
    rate: float = 0.9

    def __post_init__(self) -> None:
        _check_choice("noise", self.name, NOISE_SCHEDULES)
        _check_non_negative("noise.c0", self.c0)
        _check_non_negative("noise.c_min", self.c_min)
        _check_positive_int("noise.every", self.every)
        _check_positive_int("noise.decay_steps", self.decay_steps)
        if not 0 < self.rate <= 1:
            raise ConfigError(f"noise.rate must be in (0, 1], got {self.rate}")


OPTIMIZERS = ("sgd", "adam", "rmsprop")


@dataclass
class OptimConfig:
    """Optimizer, gradient clipping and the per-epoch learning-rate decay.

    The lr of 0-based epoch e is ``lr * lr_decay ** max(0, e + 1 - lr_decay_start_epoch)``, so
    ``lr_decay_start_epoch`` epochs run at the full lr. Zaremba's code ("halve after the 4th
    epoch", checked as ``epoch > 4`` at the end of each epoch) is ``lr_decay=0.5,
    lr_decay_start_epoch=5``: the 6th epoch is the first at lr 0.5.
    """

    name: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    rms_alpha: float = 0.99
    eps: float = 1e-8
    clip_norm: float | None = None
    lr_decay: float = 1.0
    lr_decay_start_epoch: int = 0

    def __post_init__(self) -> None:
        _check_choice("optim", self.name, OPTIMIZERS)
        if not self.lr > 0:
            raise ConfigError(f"optim.lr must be > 0, got {self.lr}")
        _check_non_negative("optim.momentum", self.momentum)
        _check_non_negative("optim.weight_decay", self.weight_decay)
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise ConfigError(f"optim.clip_norm must be > 0 or null, got {self.clip_norm}")
        if not 0 < self.lr_decay <= 1:
            raise ConfigError(f"optim.lr_decay must be in (0, 1], got {self.lr_decay}")
        _check_positive_int(
            "optim.lr_decay_start_epoch", self.lr_decay_start_epoch, allow_zero=True
        )


DEVICES = ("auto", "cpu", "cuda")


@dataclass
class TrainerConfig:
    """How long to train, how often to evaluate and checkpoint, and on what device.

    Training stops at ``max_steps`` or after ``max_epochs``, whichever comes first (at least one
    must be set). ``eval_every=0`` evaluates at the end of each epoch; ``ckpt_every=0``
    checkpoints at each evaluation.
    """

    max_steps: int | None = 200
    max_epochs: int | None = None
    eval_every: int = 0
    ckpt_every: int = 0
    log_every: int = 10
    device: str = "auto"
    deterministic: bool = True
    progress: bool | None = None  # None = on when stderr is a terminal
    eval_test: bool = True
    track_saturation: bool = True
    num_threads: int | None = None  # torch CPU threads (None = torch's default)

    def __post_init__(self) -> None:
        if self.max_steps is None and self.max_epochs is None:
            raise ConfigError("set trainer.max_steps or trainer.max_epochs (both are null)")
        _check_positive_int("trainer.max_steps", self.max_steps)
        _check_positive_int("trainer.max_epochs", self.max_epochs)
        _check_positive_int("trainer.eval_every", self.eval_every, allow_zero=True)
        _check_positive_int("trainer.ckpt_every", self.ckpt_every, allow_zero=True)
        _check_positive_int("trainer.log_every", self.log_every)
        _check_choice("trainer.device", self.device, DEVICES)
        _check_positive_int("trainer.num_threads", self.num_threads)


@dataclass
class PathsConfig:
    """Where data is read (and downloaded) and where runs are written."""

    data_dir: str = "data"
    results_dir: str = "results"
    download: bool = True


@dataclass
class RunConfig:
    """The whole configuration of one run."""

    task: Any = MISSING
    act: ActConfig = MISSING
    noise: NoiseConfig = MISSING
    optim: OptimConfig = MISSING
    trainer: TrainerConfig = MISSING
    paths: PathsConfig = field(default_factory=PathsConfig)
    seed: int = 0
    resume: str | None = None
    profile: str | None = None
    debug: bool = False


def register_configs() -> None:
    """Store every schema in Hydra's ConfigStore (called by the CLI, never at import)."""
    from hydra.core.config_store import ConfigStore

    from noisyexp.tasks import TASK_MODULES, get_task

    store = ConfigStore.instance()
    store.store(name="base_run", node=RunConfig)
    store.store(group="act", name="base_act", node=ActConfig)
    store.store(group="noise", name="base_noise", node=NoiseConfig)
    store.store(group="optim", name="base_optim", node=OptimConfig)
    store.store(group="trainer", name="base_trainer", node=TrainerConfig)
    for name in TASK_MODULES:
        try:
            config_class, _ = get_task(name)
        except ImportError:  # a task module not written yet; its YAML cannot compose
            continue
        store.store(group="task", name=f"base_{name}", node=config_class)
