"""The one list of unit types: a name picks a class, its variant and the authors' defaults.

Configs, the drop-in layers, figures and benches all read :data:`UNIT_TYPES`; an unknown name is
an error listing the known ones. Adding a unit type = its class (in :mod:`.modules` or your own
module) plus one :func:`register_unit` call.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from .functional import KINDS, check_kind
from .modules import (
    OUTPUT_DEFAULTS,
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

__all__ = ["UNIT_TYPES", "UnitType", "make_unit", "paper_defaults", "register_unit", "unit_type"]


@dataclass(frozen=True)
class UnitType:
    """One registered unit type: its class, what makes the variant, and its paper defaults.

    Attributes:
        cls: the module class, built as ``cls(num_units, kind, **knobs)`` (reference units:
            ``cls(num_units)``, their kind is fixed by the class).
        variant: fixed keyword arguments that make this type out of ``cls`` (e.g. NAH is
            NoisyOutput with ``half_normal=True``); a user cannot override them.
        defaults: kind -> the authors' code defaults of the knobs (paper.md §1.10).
        description: one line for listings and help.
    """

    cls: type[Unit]
    variant: dict[str, object] = field(default_factory=dict)
    defaults: dict[str, dict[str, float]] = field(default_factory=dict)
    description: str = ""

    @property
    def noisy(self) -> bool:
        """Whether the unit draws noise in training (and has a noise scale buffer ``c``)."""
        return issubclass(self.cls, NoisyUnit)

    @property
    def has_pure_form(self) -> bool:
        """Whether the class has the pure form the compiled recurrent step fuses
        (``trainer.compile=true`` needs it)."""
        return self.cls.has_pure_form()

    @property
    def knobs(self) -> tuple[str, ...]:
        """Keyword arguments a user may set: the class signature minus the variant's own."""
        skip = {"self", "num_units", "kind", *self.variant}
        return tuple(n for n in inspect.signature(self.cls).parameters if n not in skip)

    @property
    def scale_knob(self) -> str | None:
        """The knob that holds the noise scale (``c``, or ``sigma`` for input noise)."""
        if not self.noisy:
            return None
        return "sigma" if "sigma" in self.knobs else "c"


#: unit type name -> UnitType: the one list of unit types (configs, figures, benches read it)
UNIT_TYPES: dict[str, UnitType] = {}


def register_unit(
    name: str,
    cls: type[Unit],
    *,
    variant: dict[str, object] | None = None,
    defaults: dict[str, dict[str, float]] | None = None,
    description: str = "",
) -> UnitType:
    """Add a unit type under ``name`` (a new variant = its class or variant kwargs + this call).

    ``defaults`` maps each kind to knob values; a knob it omits keeps the class's own default.

    The class must be a :class:`Unit` (its ``forward`` and, for ``trainer.compile=true``, its
    ``pure`` form: a class without ``pure`` registers, and a compiled run refuses it at config
    time, see :attr:`UnitType.has_pure_form`).

    Raises:
        ValueError: the name is taken, the class is not a Unit, or a default names a knob the
            class does not take.
    """
    if name in UNIT_TYPES:
        raise ValueError(f"unit type {name!r} is already registered")
    if not (isinstance(cls, type) and issubclass(cls, Unit)):
        raise ValueError(f"unit type {name!r}: {cls!r} is not a subclass of activations.Unit")
    spec = UnitType(
        cls, dict(variant or {}), {k: dict(v) for k, v in (defaults or {}).items()}, description
    )
    for kind, values in spec.defaults.items():
        check_kind(kind)
        unknown = sorted(set(values) - set(spec.knobs))
        if unknown:
            raise ValueError(f"unit type {name!r}: defaults for unknown knobs {unknown}")
    UNIT_TYPES[name] = spec
    return spec


def _same_for_both_kinds(**values: float) -> dict[str, dict[str, float]]:
    return {kind: dict(values) for kind in KINDS}


register_unit("sigmoid", Sigmoid, description="logistic sigmoid (reference gate)")
register_unit("tanh", Tanh, description="tanh (reference cell)")
register_unit("hard_sigmoid", HardSigmoid, description="hard sigmoid, slope 0.25 (Eq 3)")
register_unit("hard_tanh", HardTanh, description="hard tanh (Eq 4)")
register_unit(
    "nan",
    NoisyOutput,
    defaults=OUTPUT_DEFAULTS,
    description="NAN: normal noise at the output, learned p (Eq 12)",
)
register_unit(
    "nah",
    NoisyOutput,
    variant={"half_normal": True},
    defaults=OUTPUT_DEFAULTS,
    description="NAH: half-normal noise toward the linear regime (Algorithm 1)",
)
register_unit(
    "laplace",
    NoisyOutput,
    variant={"noise": "laplace"},
    defaults=OUTPUT_DEFAULTS,
    description="NAN with unit-variance Laplace noise (v3 Fig 5)",
)
register_unit(
    "nan_fixed_p",
    NoisyOutput,
    variant={"learn_p": False},
    defaults=OUTPUT_DEFAULTS,
    description="NAN with p fixed at its U(-1, 1) draw (v3 Fig 5)",
)
register_unit(
    "nani",
    NoisyInput,
    defaults=_same_for_both_kinds(sigma=0.05),
    description="NANI: h(x + sigma xi), fixed sigma (Eq 14)",
)
register_unit(
    "nanis",
    NoisyInputSaturated,
    defaults=_same_for_both_kinds(sigma=0.25),
    description="NANIS: input noise only where saturated (Eq 15)",
)
register_unit(
    "nanil",
    NoisyInputLearned,
    defaults=_same_for_both_kinds(c=0.25),
    description="NANIL: input noise with a learned scale (Eq 9)",
)


def unit_type(type_name: str) -> UnitType:
    """The registered :class:`UnitType` called ``type_name``.

    Raises:
        ValueError: no unit type has that name (the message lists them).
    """
    try:
        return UNIT_TYPES[type_name]
    except KeyError:
        raise ValueError(
            f"unknown unit type {type_name!r}; choose one of: {', '.join(UNIT_TYPES)}"
        ) from None


def paper_defaults(type_name: str, kind: str) -> dict[str, float]:
    """The authors' code defaults for ``type_name`` used as a ``kind`` unit (paper.md §1.10).

    Output-noise units (nan, nah, laplace, nan_fixed_p): α = 1.15, c = 0.5 for tanh and
    α = 1.1, c = 0.15 for sigmoid; NANI σ = 0.05; NANIS σ = 0.25; NANIL c = 0.25; reference
    units take no parameters.

    Raises:
        ValueError: unknown type name or kind.
    """
    spec = unit_type(type_name)
    check_kind(kind)
    return dict(spec.defaults.get(kind, {}))


def make_unit(type_name: str, num_units: int, *, kind: str | None = None, **overrides) -> Unit:
    """Build a unit by name with the paper's defaults, then ``overrides``.

    ``kind`` is required for noisy types and ignored for reference ones (implied by the name).
    Overrides set to None are dropped (the default stays); ``c`` is accepted as an alias of
    ``sigma`` for nani/nanis, whose σ lives in the ``c`` buffer.

    Raises:
        ValueError: unknown type name, missing/unknown kind, a parameter the unit does not
            take, or a negative noise scale.
    """
    spec = unit_type(type_name)
    overrides = {key: value for key, value in overrides.items() if value is not None}
    if not spec.noisy:
        if overrides:
            raise ValueError(f"unit {type_name!r} takes no parameters, got {sorted(overrides)}")
        return spec.cls(num_units)
    if kind is None:
        raise ValueError(f"unit {type_name!r} needs kind= one of {KINDS}")
    accepted = list(spec.knobs)
    if spec.scale_knob == "sigma" and "c" in overrides:
        if "sigma" in overrides:
            raise ValueError(f"unit {type_name!r}: give sigma or its alias c, not both")
        overrides["sigma"] = overrides.pop("c")
    unknown = sorted(set(overrides) - set(accepted))
    if unknown:
        raise ValueError(f"unit {type_name!r} does not take {unknown}; it takes {accepted}")
    params = {**paper_defaults(type_name, kind), **spec.variant, **overrides}
    return spec.cls(num_units, kind, **params)
