"""Noisy activation functions (Gulcehre, Moczulski, Denil, Bengio, ICML 2016), in PyTorch.

The unit library. It depends on torch alone, so this folder can be copied into another project.
One module per job:

* :mod:`.functional`: the formulas, pure functions of tensors with the noise ``xi`` passed in
  (hard units and linearisations, Eqs 1-4; σ(x), Eq 9; NANI/NANIS/NANIL, Eqs 14, 15, 9);
* :mod:`.kernel`: the fast fused form of Eq 12 (NAN/NAH) and its opt-in compiled variant;
* :mod:`.modules`: the ``nn.Module`` units, ``Cls(num_units, kind, ...)``;
* :mod:`.registry`: the unit types by name (``make_unit("nah", 128, kind="tanh")``);
* :mod:`.roles`: gate and cell roles, and the unit factories models are built from;
* :mod:`.schedules`: noise-scale schedules (Section 6.6's annealing) and ``set_noise_scale``;
* :mod:`.model_tools`: helpers over a model's units (noise generators, saturation statistics).

Every public name is re-exported here: ``from noisyexp.activations import make_unit``.

Layer rule: torch and the standard library only, and relative imports inside the folder, so it
works copied into another project under any name.
"""

from .functional import (
    AUTHORS_HALF_NORMAL_MEAN,
    HALF_NORMAL_MEAN,
    KINDS,
    LAPLACE_ABS_MEAN,
    THRESHOLDS,
    hard,
    hard_sigmoid,
    hard_tanh,
    linear,
    linear_sigmoid,
    linear_tanh,
    noise_std,
    noisy_input,
    noisy_input_learned,
    noisy_input_saturated,
    noisy_output_reference,
    paper_sign,
)
from .kernel import noisy_output, use_compiled_kernel
from .model_tools import (
    noisy_modules,
    saturation_stats,
    set_noise_generator,
    track_saturation,
)
from .modules import (
    HardSigmoid,
    HardTanh,
    NoisyInput,
    NoisyInputLearned,
    NoisyInputSaturated,
    NoisyOutput,
    NoisyUnit,
    Sigmoid,
    Tanh,
    Unit,
)
from .registry import (
    UNIT_TYPES,
    UnitType,
    make_unit,
    paper_defaults,
    register_unit,
    unit_type,
)
from .roles import ROLE_ATTRIBUTE, ROLES, UnitFactory, Units
from .schedules import SCHEDULES, make_schedule, set_noise_scale

__all__ = [
    "AUTHORS_HALF_NORMAL_MEAN",
    "HALF_NORMAL_MEAN",
    "KINDS",
    "LAPLACE_ABS_MEAN",
    "ROLES",
    "ROLE_ATTRIBUTE",
    "SCHEDULES",
    "THRESHOLDS",
    "UNIT_TYPES",
    "HardSigmoid",
    "HardTanh",
    "NoisyInput",
    "NoisyInputLearned",
    "NoisyInputSaturated",
    "NoisyOutput",
    "NoisyUnit",
    "Sigmoid",
    "Tanh",
    "Unit",
    "UnitFactory",
    "UnitType",
    "Units",
    "hard",
    "hard_sigmoid",
    "hard_tanh",
    "linear",
    "linear_sigmoid",
    "linear_tanh",
    "make_schedule",
    "make_unit",
    "noise_std",
    "noisy_input",
    "noisy_input_learned",
    "noisy_input_saturated",
    "noisy_modules",
    "noisy_output",
    "noisy_output_reference",
    "paper_defaults",
    "paper_sign",
    "register_unit",
    "saturation_stats",
    "set_noise_generator",
    "set_noise_scale",
    "track_saturation",
    "unit_type",
    "use_compiled_kernel",
]
