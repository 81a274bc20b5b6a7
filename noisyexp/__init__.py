"""noisyexp: noisy activation functions (Gulcehre et al., ICML 2016) and an experiment runner.

The library's front door: the drop-in recurrent layers (``noisyexp.NoisyLSTM``, ``NoisyGRU``,
``NoisyLSTMCell``, ``NoisyGRUCell``), ``make_unit``, ``set_noise_generator`` and the noise-scale
schedules. They are imported on first use (PEP 562), so ``import noisyexp`` (the CLI, the
version) does not import torch.
"""

import importlib as _importlib
import typing as _typing

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "Anneal",
    "Constant",
    "Exponential",
    "Linear",
    "NoisyGRU",
    "NoisyGRUCell",
    "NoisyLSTM",
    "NoisyLSTMCell",
    "make_schedule",
    "make_unit",
    "set_noise_generator",
    "set_noise_scale",
]

#: public name -> the module it lives in, imported when the name is first read
_LAZY = {
    "NoisyGRU": "noisyexp.layers.dropin",
    "NoisyGRUCell": "noisyexp.layers.dropin",
    "NoisyLSTM": "noisyexp.layers.dropin",
    "NoisyLSTMCell": "noisyexp.layers.dropin",
    "make_unit": "noisyexp.activations",
    "set_noise_generator": "noisyexp.activations",
    "Anneal": "noisyexp.activations.schedules",
    "Constant": "noisyexp.activations.schedules",
    "Exponential": "noisyexp.activations.schedules",
    "Linear": "noisyexp.activations.schedules",
    "make_schedule": "noisyexp.activations.schedules",
    "set_noise_scale": "noisyexp.activations.schedules",
}

if _typing.TYPE_CHECKING:
    from noisyexp.activations import make_unit, set_noise_generator
    from noisyexp.activations.schedules import (
        Anneal,
        Constant,
        Exponential,
        Linear,
        make_schedule,
        set_noise_scale,
    )
    from noisyexp.layers.dropin import NoisyGRU, NoisyGRUCell, NoisyLSTM, NoisyLSTMCell


def __getattr__(name: str) -> _typing.Any:
    """Import a public name's module on first access and keep the name here."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names (loaded or not), the submodules imported so far and the dunders."""
    names = {name for name in globals() if not name.startswith("_") or name.startswith("__")}
    return sorted(names | set(__all__))
