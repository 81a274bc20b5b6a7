"""Structured-config schemas: one dataclass per config group, registered with Hydra.

Every YAML file in ``conf/<group>/`` lists its schema (``base_<group>``) in its defaults, so a
misspelled key or a wrongly typed value fails when the config is composed. The CLI converts the
composed config once with ``OmegaConf.to_object``, which also runs each ``__post_init__``: no code
below the CLI ever sees a DictConfig.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from noisyexp.core.errors import ConfigError

__all__ = [
    "ACT_ALIASES",
    "ActConfig",
    "OptimConfig",
    "PathsConfig",
    "RunConfig",
    "TrainerConfig",
    "UnitConfig",
    "canonical_act_name",
    "make_noise_schedule",
    "noise_roles",
    "noise_schemas",
    "register_configs",
]

#: act option names from before the rename to unit-type names -> today's option; old commands,
#: run directories and table rows that used them mean the same units (conf/act/<alias>.yaml)
ACT_ALIASES = {
    "noisy_tanh": "nan",
    "noisy_tanh_half": "nah",
    "tanh": "sigmoid_tanh",
    "hard_tanh": "hard",
}


def canonical_act_name(name: str) -> str:
    """Today's name of an act option (an alias from :data:`ACT_ALIASES` or the name itself)."""
    return ACT_ALIASES.get(name, name)


def _check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{key}={value!r} is not one of: {', '.join(choices)}")


def _check_non_negative(key: str, value: float | None) -> None:
    if value is not None and (not math.isfinite(value) or value < 0):
        raise ConfigError(f"{key} must be a finite number >= 0, got {value}")


def _check_finite(key: str, value: float | None) -> None:
    if value is not None and not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number, got {value}")


def _check_unit_interval(key: str, value: float) -> None:
    """0 <= value < 1 (a moving-average coefficient)."""
    if not (math.isfinite(value) and 0 <= value < 1):
        raise ConfigError(f"{key} must be in [0, 1), got {value}")


#: seeds are 0 <= seed < 2**62 (torch, NumPy and the derived noise stream all accept them)
MAX_SEED = 2**62


def _check_positive_int(key: str, value: int | None, *, allow_zero: bool = False) -> None:
    if value is None:
        return
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else ">= 1"
        raise ConfigError(f"{key} must be {bound}, got {value}")


@dataclass
class UnitConfig:
    """One activation unit: a registered unit type and the knobs set for it.

    A knob left ``None`` (or ``False``) keeps the unit type's paper default
    (``activations.paper_defaults``); a knob the unit type does not take is an error.
    ``c`` is the unit's noise scale: c of Eq 9 (NAN, NAH, NANIL), or the input-noise std σ of
    Eqs 14-15 (NANI, NANIS), the value a noise schedule sets.
    """

    type: str = "tanh"
    alpha: float | None = None
    c: float | None = None
    softplus: bool = False  # NANIL: the authors' softplus(p|Δ|/|ξ|) σ instead of Eq 9
    test_mean: float | None = None  # NAH: E|ξ| at test time (None = exact sqrt(2/pi))
    clip: bool = False  # NAN/NAH: clamp the output to h's range (the authors' first code)

    def __post_init__(self) -> None:
        from noisyexp import activations  # torch: only when a config is built, not for tables

        _check_choice("act unit type", self.type, tuple(activations.UNIT_TYPES))
        _check_non_negative("act.*.c", self.c)
        _check_finite("act.*.alpha", self.alpha)
        _check_finite("act.*.test_mean", self.test_mean)


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
        _check_finite("act.alpha", self.alpha)

    @property
    def is_noisy(self) -> bool:
        """Whether any unit draws noise."""
        from noisyexp import activations

        return any(activations.UNIT_TYPES[u.type].noisy for u in (self.gate, self.cell))


def noise_schemas() -> dict[str, type]:
    """One config schema per noise schedule, derived from :data:`schedules.SCHEDULES`.

    The schema of ``<name>`` is a dataclass with ``name: str = <name>`` plus the schedule's own
    fields and defaults, and ``roles``: which units the schedule sets c on (``[cell]``: the
    tanh-like units only; ``null``, the default: every noisy unit, gates and cells). Its
    ``__post_init__`` builds the schedule, so a bad value is a ConfigError when the config is
    converted. Read at call time: a schedule added to the registry gets its schema without any
    code here.
    """
    from noisyexp.activations import schedules

    return {name: _noise_schema(name, schedule) for name, schedule in schedules.SCHEDULES.items()}


def _noise_schema(name: str, schedule: type) -> type:
    hints = typing.get_type_hints(schedule)
    knobs = [
        (f.name, hints[f.name], field(default=f.default)) for f in dataclasses.fields(schedule)
    ]
    return dataclasses.make_dataclass(
        f"{schedule.__name__}NoiseConfig",
        [
            ("name", str, field(default=name)),
            *knobs,
            ("roles", list[str] | None, field(default=None)),
        ],
        namespace={"__post_init__": make_noise_schedule, "__module__": __name__},
    )


def make_noise_schedule(noise: Any) -> Any:
    """The schedule object a ``noise`` config names (see :mod:`noisyexp.activations.schedules`).

    Raises:
        ConfigError: an unknown schedule name, or a knob value the schedule rejects.
    """
    from noisyexp.activations import schedules

    params = dataclasses.asdict(noise)
    name = params.pop("name")
    noise_roles(params.pop("roles", None))
    if name not in schedules.SCHEDULES:
        raise ConfigError(f"noise={name!r} is not one of: {', '.join(schedules.SCHEDULES)}")
    try:
        return schedules.make_schedule(name, **params)
    except ValueError as err:
        raise ConfigError(f"noise.{err}") from None


NOISE_ROLES = ("gate", "cell")  # = units.ROLES, without importing torch here


def noise_roles(roles: Any) -> tuple[str, ...] | None:
    """The roles a ``noise.roles`` value names (None: every unit), checked.

    Raises:
        ConfigError: an empty list, or a role that is not ``gate`` or ``cell``.
    """
    if roles is None:
        return None
    roles = tuple(roles)
    if not roles:
        raise ConfigError("noise.roles must name at least one of: gate, cell (or be null)")
    for role in roles:
        _check_choice("noise.roles entry", role, NOISE_ROLES)
    return roles


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
        from noisyexp.config.optimizers import OPTIMIZERS  # the registry (imports torch)

        _check_choice("optim", self.name, tuple(OPTIMIZERS))
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"optim.lr must be a finite number > 0, got {self.lr}")
        _check_non_negative("optim.momentum", self.momentum)
        _check_non_negative("optim.weight_decay", self.weight_decay)
        if self.clip_norm is not None and not (
            math.isfinite(self.clip_norm) and self.clip_norm > 0
        ):
            raise ConfigError(
                f"optim.clip_norm must be a finite number > 0 or null, got {self.clip_norm}"
            )
        if len(self.betas) != 2:
            raise ConfigError(f"optim.betas must be two numbers, got {list(self.betas)}")
        for index, beta in enumerate(self.betas):
            _check_unit_interval(f"optim.betas[{index}]", beta)
        _check_unit_interval("optim.rms_alpha", self.rms_alpha)
        if not (math.isfinite(self.eps) and self.eps > 0):
            raise ConfigError(f"optim.eps must be a finite number > 0, got {self.eps}")
        if not 0 < self.lr_decay <= 1:
            raise ConfigError(f"optim.lr_decay must be in (0, 1], got {self.lr_decay}")
        _check_positive_int(
            "optim.lr_decay_start_epoch", self.lr_decay_start_epoch, allow_zero=True
        )


DEVICES = ("auto", "cpu", "cuda")
#: what a resume does when its checkpoint's noise stream was drawn on another device type
CROSS_DEVICE_RESUME = ("reseed", "refuse")
TEST_WEIGHTS = ("last", "best")


@dataclass
class TrainerConfig:
    """How long to train, how often to evaluate and checkpoint, and on what device.

    Training stops at ``max_steps`` or after ``max_epochs``, whichever comes first (at least one
    must be set). ``eval_every=0`` evaluates at the end of each epoch; ``ckpt_every=0``
    checkpoints at each evaluation. These defaults are ``trainer=default`` (300 steps, an
    evaluation every 100); the other trainer options state only what they change.
    """

    max_steps: int | None = 300
    max_epochs: int | None = None
    eval_every: int = 100
    ckpt_every: int = 0
    log_every: int = 10
    device: str = "auto"
    deterministic: bool = True
    progress: bool | None = None  # the tqdm bar; None = on when stdout and stderr are terminals
    #: without the bar, a progress line (steps/s, ETA) at most this often, in seconds
    progress_interval_s: float = 60.0
    eval_test: bool = True
    #: the weights the test split is scored with: ``last`` (the run's end) or ``best`` (those of
    #: the best validation, checkpoints/best.pt: dl4mt's choice for translation)
    test_weights: str = "last"
    track_saturation: bool = True
    num_threads: int | None = None  # torch CPU threads (None = torch's default)
    #: non-finite losses skipped (no update) before the run fails; counted in the summary
    skip_nonfinite: int = 0
    #: GiB the model's parameters, gradients, optimizer state and activations may need,
    #: estimated before anything is allocated (None: 80% of the device's memory)
    memory_budget_gb: float | None = None
    #: TF32 tensor cores for float32 CUDA matmuls and every cuDNN kernel (conv, RNN) alike, so
    #: cuDNN reference runs and custom-loop noisy runs use the same arithmetic (False: IEEE fp32)
    tf32: bool = False
    #: resuming a checkpoint written on another device type (CPU <-> CUDA): ``reseed`` the noise
    #: stream from (seed, step) with a warning (not bit-exact), or ``refuse``
    cross_device_resume: str = "reseed"
    #: the LSTM/GRU layers run each time step's unit math as one ``torch.compile``-d kernel
    #: (Inductor: C++ on CPU, needing a C compiler; Triton on GPU) instead of op by op. Off by
    #: default: the numbers then differ from the plain path's by float rounding, and a compile
    #: costs ~30 s per model kind; on a GPU it removes most of a noisy step's launches
    compile: bool = False
    #: capture the training step as a CUDA graph and replay it (one launch a step instead of
    #: thousands); CUDA only, and tasks with a static-buffer step (language models,
    #: classifiers); re-captured when the lr or the noise scale changes, logged steps eager
    #: (see noisyexp/graph_step.py)
    cuda_graphs: bool = False

    def __post_init__(self) -> None:
        if self.max_steps is None and self.max_epochs is None:
            raise ConfigError("set trainer.max_steps or trainer.max_epochs (both are null)")
        _check_positive_int("trainer.max_steps", self.max_steps)
        _check_positive_int("trainer.max_epochs", self.max_epochs)
        _check_positive_int("trainer.eval_every", self.eval_every, allow_zero=True)
        _check_positive_int("trainer.ckpt_every", self.ckpt_every, allow_zero=True)
        _check_positive_int("trainer.log_every", self.log_every)
        if not (math.isfinite(self.progress_interval_s) and self.progress_interval_s >= 0):
            raise ConfigError(
                f"trainer.progress_interval_s must be a finite number >= 0, "
                f"got {self.progress_interval_s}"
            )
        _check_choice("trainer.device", self.device, DEVICES)
        _check_choice("trainer.cross_device_resume", self.cross_device_resume, CROSS_DEVICE_RESUME)
        _check_choice("trainer.test_weights", self.test_weights, TEST_WEIGHTS)
        _check_positive_int("trainer.num_threads", self.num_threads)
        _check_positive_int("trainer.skip_nonfinite", self.skip_nonfinite, allow_zero=True)
        if self.memory_budget_gb is not None and not (
            math.isfinite(self.memory_budget_gb) and self.memory_budget_gb > 0
        ):
            raise ConfigError(
                f"trainer.memory_budget_gb must be a finite number > 0 or null, "
                f"got {self.memory_budget_gb}"
            )


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
    noise: Any = MISSING  # one of noise_schemas(), picked by the noise= option
    optim: OptimConfig = MISSING
    trainer: TrainerConfig = MISSING
    paths: PathsConfig = field(default_factory=PathsConfig)
    seed: int = 0
    resume: str | None = None
    profile: str | None = None
    debug: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.seed < MAX_SEED:
            raise ConfigError(f"seed must be in [0, 2**62), got {self.seed}")
        from noisyexp.tasks import TASKS

        name = getattr(self.task, "name", None)
        if name not in TASKS:
            raise ConfigError(f"task.name={name!r} is not one of: {', '.join(TASKS)}")
        if type(self.task) is not TASKS[name][0]:
            raise ConfigError(
                f"task.name={name!r} does not match the task's settings; pick a task with "
                f"task={name}, not by renaming another one"
            )
        if self.trainer.compile:
            self._check_compilable()

    def _check_compilable(self) -> None:
        """``trainer.compile=true`` fuses each unit's pure form: refuse a type that has none."""
        from noisyexp import activations

        for role in ("gate", "cell"):
            unit_type = getattr(self.act, role).type
            if not activations.UNIT_TYPES[unit_type].has_pure_form:
                raise ConfigError(
                    f"trainer.compile=true: unit type {unit_type!r} (act.{role}) has no pure(x, "
                    "noise) form for the compiled step; define it or set trainer.compile=false"
                )


def register_configs() -> None:
    """Store every schema in Hydra's ConfigStore (called by the CLI, never at import)."""
    from hydra.core.config_store import ConfigStore

    from noisyexp.tasks import TASKS

    store = ConfigStore.instance()
    store.store(name="base_run", node=RunConfig)
    store.store(group="act", name="base_act", node=ActConfig)
    store.store(group="optim", name="base_optim", node=OptimConfig)
    store.store(group="trainer", name="base_trainer", node=TrainerConfig)
    for name, schema in noise_schemas().items():
        store.store(group="noise", name=f"base_{name}", node=schema)
    for name, (config_class, _) in TASKS.items():
        store.store(group="task", name=f"base_{name}", node=config_class)
