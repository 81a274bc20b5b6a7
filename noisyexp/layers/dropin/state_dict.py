"""State dicts that move both ways between a drop-in and torch's module.

The weights carry nn's names at the top level and the units' own entries (a NAN unit's learned
``p``, its noise scale ``c``) live under the inner layers' names, so a checkpoint of the torch
model must load into the noisy one (strictly, also nested in a bigger model) and the noisy one's
weights into torch's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

__all__ = ["NnStateDict"]


def _forgive_missing_unit_keys(module: nn.Module, incompatible: Any) -> None:
    """Load post-hook: an nn module's state dict (no unit entries) leaves the units as built."""
    prefixes = module.__dict__.pop("_plain_rnn_load", None)
    if prefixes:
        kept = [key for key in incompatible.missing_keys if not key.startswith(prefixes)]
        incompatible.missing_keys[:] = kept


class NnStateDict(nn.Module):
    """Mixin: nn's state dicts load strictly, and :meth:`rnn_state_dict` gives one back.

    ``load_state_dict`` stays strict for everything, with one exception: a state dict with *none*
    of this module's unit entries (one saved from torch's module) loads its weights strictly and
    leaves the units as they were built. The weights are this module's own parameters; every
    submodule holds units.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_load_state_dict_post_hook(_forgive_missing_unit_keys)

    def rnn_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights alone, under nn's keys: torch's module loads it strictly."""
        own = set(self._parameters)
        return {key: value for key, value in self.state_dict().items() if key in own}

    def _load_from_state_dict(
        self, state_dict: Mapping[str, Any], prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        units = tuple(f"{prefix}{name}." for name in self._modules)
        if not any(key.startswith(units) for key in state_dict):
            self._plain_rnn_load = units  # read (and cleared) by _forgive_missing_unit_keys
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
