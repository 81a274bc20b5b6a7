"""What the four drop-ins share: nn's weights, the inner layers that run them, the conversions.

A drop-in is its weights, under nn's names and drawn as nn draws them, plus one
:mod:`~noisyexp.layers.dropin.lent_layers` layer per layer and direction (a cell: one) holding the
units. :class:`DropIn` builds both from a layout, switches the layers' paths, converts torch's
modules and states, so the sequence modules and the cells differ only in their inputs.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

import torch
from torch import nn

from noisyexp.layers.dropin.lent_layers import LentWeights, State, StateCall, state_call
from noisyexp.layers.dropin.state_dict import NnStateDict
from noisyexp.layers.dropin.units import unit_factories
from noisyexp.layers.lstm import LSTM

__all__ = ["DropIn", "check_sizes"]

_D = TypeVar("_D", bound="DropIn")


def check_sizes(owner: str, **sizes: Any) -> None:
    """Refuse a size that is not a positive int (nn's messages, ``owner`` first).

    Raises:
        TypeError: a size is not an int (a bool is not one).
        ValueError: a size is zero or negative.
    """
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{owner}: {name} should be of type int, got {type(value).__name__}")
        if value <= 0:
            raise ValueError(f"{owner}: {name} must be greater than zero, got {value}")


class DropIn(NnStateDict):
    """Base of the drop-ins (see :mod:`noisyexp.layers.dropin`).

    Subclasses set ``_layer_class`` (:class:`~noisyexp.layers.dropin.lent_layers.LentLSTM` or
    ``LentGRU``) and ``_nn_class`` (torch's module), and say where the inner layers live
    (:meth:`_keep_layers`, :meth:`_layers`) and how torch's module is configured
    (:meth:`_nn_arguments`).
    """

    _layer_class: ClassVar[type[LentWeights]]
    _nn_class: ClassVar[type[nn.Module]]

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        layout: Mapping[str, int],
        *,
        unit: str = "nan",
        gate_knobs: Mapping[str, Any] | None = None,
        cell_knobs: Mapping[str, Any] | None = None,
        fused: bool | None = None,
        fast_step: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        **unit_knobs: Any,
    ) -> None:
        """The weights of every inner layer, drawn as nn draws them, then the layers.

        Args:
            input_size, hidden_size, bias: as torch's module (the caller checked the sizes).
            layout: weight-name suffix -> input size of that inner layer, in nn's order
                (``{"_l0": ..., "_l0_reverse": ...}``; a cell's ``{"": input_size}``).
            unit, gate_knobs, cell_knobs, fused, fast_step, device, dtype, **unit_knobs: as
                :class:`~noisyexp.layers.dropin.NoisyLSTM`.
        """
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bool(bias)
        self.unit = unit
        rows = self._layer_class._num_gates * hidden_size
        factory = {"device": device, "dtype": dtype}
        self._weight_names: list[list[str]] = []  # per inner layer, in nn's order
        for suffix, layer_input in layout.items():
            shapes = {
                f"weight_ih{suffix}": (rows, layer_input),
                f"weight_hh{suffix}": (rows, hidden_size),
            }
            if self.bias:
                shapes.update({f"bias_ih{suffix}": (rows,), f"bias_hh{suffix}": (rows,)})
            for name, shape in shapes.items():
                self.register_parameter(name, nn.Parameter(torch.empty(shape, **factory)))
            self._weight_names.append(list(shapes))
        self.reset_parameters()  # before the units draw theirs: nn's draws for a given seed
        factories = unit_factories(type(self).__name__, unit, unit_knobs, gate_knobs, cell_knobs)
        layers = {}
        for suffix, layer_input in layout.items():
            layer = self._layer_class(
                layer_input,
                hidden_size,
                gate_unit=factories["gate"],
                cell_unit=factories["cell"],
                fused=fused,
                fast_step=fast_step,
            )
            layer.forget_weights()
            if device is not None or dtype is not None:
                layer.to(device=device, dtype=dtype)
            layers[suffix.lstrip("_")] = layer
        self._keep_layers(layers)

    def _keep_layers(self, layers: dict[str, LentWeights]) -> None:
        """Register the inner layers (keyed by weight-name suffix) under their state-dict name."""
        raise NotImplementedError

    def _layers(self) -> list[LentWeights]:
        """The inner layers, in the order of the layout."""
        raise NotImplementedError

    @classmethod
    def _nn_arguments(cls, module: nn.Module) -> dict[str, Any]:
        """The constructor arguments of this class that rebuild torch's ``module``."""
        raise NotImplementedError

    def reset_parameters(self) -> None:
        """U(±1/sqrt(hidden_size)) for every weight and bias, in nn's order (the same draws)."""
        bound = self.hidden_size**-0.5
        for weight in self.parameters(recurse=False):
            nn.init.uniform_(weight, -bound, bound)

    # -- paths ----------------------------------------------------------------------------

    @property
    def fast_step(self) -> bool:
        """Whether every inner layer runs its compiled per-step kernel (settable)."""
        return all(layer.fast_step for layer in self._layers())

    @fast_step.setter
    def fast_step(self, enabled: bool) -> None:
        for layer in self._layers():
            layer.fast_step = bool(enabled)

    @property
    def fused(self) -> bool:
        """Whether every inner layer runs nn's kernel (reference units)."""
        return all(layer.fused for layer in self._layers())

    # -- torch's module, weights and states -----------------------------------------------

    @classmethod
    def from_rnn(cls: type[_D], module: nn.Module, **kwargs: Any) -> _D:
        """This class with ``module``'s configuration, weights, device, dtype and mode.

        Args:
            module: torch's module of this class (``nn.LSTM`` for ``NoisyLSTM``, ``nn.GRUCell``
                for ``NoisyGRUCell``, ...).
            **kwargs: ``unit=``, knobs, ``fast_step=`` ... as for the constructor.

        Returns:
            The drop-in, in ``module``'s training or eval mode.

        Raises:
            TypeError: ``module`` is not of the matching nn class.
            ValueError: an LSTM with ``proj_size``, or a bad unit or knob.
        """
        if not isinstance(module, cls._nn_class):
            raise TypeError(f"{cls.__name__}.from_rnn needs an nn.{cls._nn_class.__name__}")
        weight = next(module.parameters())  # weight_ih(_l0): nn registers it first
        with warnings.catch_warnings():  # nn warned already about dropout with one layer
            warnings.simplefilter("ignore", UserWarning)
            converted = cls(
                **cls._nn_arguments(module), device=weight.device, dtype=weight.dtype, **kwargs
            )
        converted.load_state_dict(module.state_dict())
        return converted.train(module.training)

    def _lent_weights(self, index: int) -> list[torch.Tensor]:
        """Inner layer ``index``'s w_ih, w_hh, b_ih, b_hh (zeros for the biases without bias)."""
        weights = [getattr(self, name) for name in self._weight_names[index]]
        if not self.bias:
            zeros = weights[0].new_zeros(weights[0].size(0))
            weights += [zeros, zeros]
        return weights

    def _call(self, index: int) -> StateCall:
        """Inner layer ``index`` on its weights, states as (B, H) tuples."""
        return state_call(self._layers()[index], self._lent_weights(index))

    @property
    def _lstm(self) -> bool:
        """Whether the state is (h, c), else h."""
        return issubclass(self._layer_class, LSTM)

    def _state_parts(self, hx: Any) -> State:
        """nn's form of a state ((h, c) for an LSTM, h for a GRU) as a tuple; refuse others."""
        if self._lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{type(self).__name__}: hx must be a tuple (h_0, c_0)")
            return tuple(hx)
        if not torch.is_tensor(hx):
            raise TypeError(f"{type(self).__name__}: hx must be a tensor h_0")
        return (hx,)

    def _nn_state(self, parts: State) -> Any:
        """The reverse of :meth:`_state_parts`: (h, c) for an LSTM, h for a GRU."""
        return parts if self._lstm else parts[0]

    def _zero_state(self, like: torch.Tensor, *shape: int) -> State:
        """The all-zero state of ``shape`` per part, on ``like``'s device and dtype."""
        zeros = like.new_zeros(shape)
        return (zeros,) * (2 if self._lstm else 1)
