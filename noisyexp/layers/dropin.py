"""Drop-in ``nn.LSTM``/``nn.GRU``/``nn.LSTMCell``/``nn.GRUCell`` whose every sigmoid and tanh is a
(noisy) activation unit.

Same constructor arguments, inputs, outputs and state-dict keys as torch's modules (batch-first,
bidirectional, unbatched and ``PackedSequence`` inputs, ``bias=False``), plus the keyword-only
``unit``: a noisy unit type of :data:`noisyexp.activations.UNIT_TYPES` (gates get kind sigmoid,
cells kind tanh), ``"reference"`` (sigmoid, tanh: nn's numbers) or ``"hard"``::

    import torch
    from noisyexp import Anneal, NoisyLSTM, set_noise_generator, set_noise_scale

    rnn = NoisyLSTM(32, 64, num_layers=2, batch_first=True, dropout=0.2, unit="nah")
    rnn.load_state_dict(torch.nn.LSTM(32, 64, 2, batch_first=True).state_dict())  # weights
    set_noise_generator(rnn, torch.Generator().manual_seed(0))  # reproducible noise
    schedule = Anneal(c0=30.0, c_min=0.5)  # the paper's annealing of the noise scale c
    for step in range(3):
        set_noise_scale(rnn, schedule(step))  # roles=["cell"]: the tanh-like units only
        output, (h_n, c_n) = rnn(torch.randn(8, 20, 32))  # (8, 20, 64); (2, 8, 64) each

Knobs: ``NoisyLSTM(..., unit="nan", alpha=1.3, c=0.25)`` sets them on both roles;
``gate_knobs={"c": 0.1}`` / ``cell_knobs={...}`` per role. A knob no unit takes is an error.

State dicts: the weights carry nn's names at the top level (``weight_ih_l0``, ``..._reverse``);
the units' own entries (a NAN unit's learned ``p`` and its noise scale ``c``) live under
``rnns.`` (cells: ``rnn.``). ``load_state_dict`` stays strict for everything, with one
exception: a state dict with *none* of this module's unit entries (one saved from torch's module,
also inside a bigger model) loads its weights strictly and leaves the units as they were built.
The other way: ``nn.LSTM(...).load_state_dict(noisy.rnn_state_dict())``; and
``NoisyLSTM.from_rnn(nn_lstm, unit="nan")`` converts a module.

Each direction of each layer is one :class:`~noisyexp.layers.lstm.LSTM` or
:class:`~noisyexp.layers.gru.GRU` layer (the weights are the owner's, lent per call), so nn's
fused kernel (reference units), the loop path and the compiled ``fast_step`` path
(:func:`noisyexp.layers.recurrent.set_fast_step` reaches them) all apply.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import PackedSequence

from noisyexp.activations.registry import UNIT_TYPES, make_unit
from noisyexp.activations.roles import ROLE_ATTRIBUTE, ROLES
from noisyexp.layers.gru import GRU
from noisyexp.layers.lstm import LSTM

__all__ = ["NoisyGRU", "NoisyGRUCell", "NoisyLSTM", "NoisyLSTMCell", "unit_choices"]

#: ``unit=`` names that pick a different, noise-free type per role: role -> unit type
_PAIRS = {
    "reference": {"gate": "sigmoid", "cell": "tanh"},
    "hard": {"gate": "hard_sigmoid", "cell": "hard_tanh"},
}

State = tuple[torch.Tensor, ...]
"""A recurrent state as a tuple of tensors: (h,) for a GRU, (h, c) for an LSTM."""
_Call = Callable[[torch.Tensor, State], tuple[torch.Tensor, State]]


def unit_choices() -> tuple[str, ...]:
    """The values ``unit=`` takes: ``reference``, ``hard`` and every registered noisy type."""
    return (*_PAIRS, *(name for name, spec in UNIT_TYPES.items() if spec.noisy))


def _role_unit(
    type_name: str, kind: str, role: str, knobs: dict[str, Any], num_units: int
) -> nn.Module:
    """One unit of ``role`` (a :data:`~noisyexp.activations.roles.UnitFactory` via partial)."""
    unit = make_unit(type_name, num_units, kind=kind, **knobs)
    setattr(unit, ROLE_ATTRIBUTE, role)
    return unit


def _unit_factories(
    owner: str,
    unit: str,
    knobs: dict[str, Any],
    gate_knobs: Mapping[str, Any] | None,
    cell_knobs: Mapping[str, Any] | None,
) -> dict[str, Callable[[int], nn.Module]]:
    """Role -> factory of its units, each unit tagged with its role; bad names fail here."""
    choices = unit_choices()
    if not isinstance(unit, str) or unit not in choices:
        raise ValueError(f"{owner}: unknown unit {unit!r}; choose one of: {', '.join(choices)}")
    per_role = {"gate": gate_knobs, "cell": cell_knobs}
    factories = {}
    for role, kind in ROLES.items():
        extra = per_role[role]
        if extra is not None and not isinstance(extra, Mapping):
            raise TypeError(f"{owner}: {role}_knobs must be a dict, got {type(extra).__name__}")
        role_knobs = {**knobs, **(extra or {})}
        type_name = _PAIRS[unit][role] if unit in _PAIRS else unit
        try:  # one unit now, so a bad knob fails at construction, naming the role
            make_unit(type_name, 1, kind=kind, **role_knobs)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{owner}(unit={unit!r}), {role} units: {err}") from None
        factories[role] = partial(_role_unit, type_name, kind, role, role_knobs)
    return factories


def _check_sizes(owner: str, **sizes: Any) -> None:
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{owner}: {name} should be of type int, got {type(value).__name__}")
        if value <= 0:
            raise ValueError(f"{owner}: {name} must be greater than zero, got {value}")


def _forgive_missing_unit_keys(module: nn.Module, incompatible: Any) -> None:
    """Load post-hook: an nn module's state dict (no unit entries) leaves the units as built."""
    prefixes = module.__dict__.pop("_plain_rnn_load", None)
    if prefixes:
        kept = [key for key in incompatible.missing_keys if not key.startswith(prefixes)]
        incompatible.missing_keys[:] = kept


class _LentWeights(nn.Module):
    """Mixin for a one-layer LSTM/GRU layer without weights of its own: :meth:`run` lends them.

    The owner keeps the parameters under nn's names (one copy, one place for ``.to``,
    ``load_state_dict(assign=True)`` and optimizers); the layer keeps its units and its paths.
    """

    _lent: list[torch.Tensor] | None

    def _forget_weights(self) -> None:
        for name in [name for name, _ in self.named_parameters(recurse=False)]:
            delattr(self, name)
        self._lent = None

    def _layer_weights(self, layer: int) -> list[torch.Tensor]:
        if self._lent is None:
            raise RuntimeError(f"{type(self).__name__} runs only inside its owner's forward")
        return list(self._lent)

    def _flat_weights(self) -> list[torch.Tensor]:
        return self._layer_weights(0)

    def run(self, x: torch.Tensor, state: Any, weights: list[torch.Tensor]) -> Any:
        """``self(x, state)`` with ``weights`` (w_ih, w_hh, b_ih, b_hh) as the layer's own."""
        self._lent = weights
        try:
            return self(x, state)
        finally:
            self._lent = None


class _LentLSTM(_LentWeights, LSTM):
    """One direction of one layer of a :class:`NoisyLSTM` (or the layer of a cell)."""


class _LentGRU(_LentWeights, GRU):
    """One direction of one layer of a :class:`NoisyGRU` (or the layer of a cell)."""


def _call(layer: _LentWeights, weights: list[torch.Tensor], lstm: bool) -> _Call:
    """``call(x (T, B, F), state) -> (output (T, B, H), final state)``, states as (B, H) tuples."""

    def call(x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        inner = tuple(part.unsqueeze(0) for part in state)
        output, final = layer.run(x, inner if lstm else inner[0], weights)
        final = final if isinstance(final, tuple) else (final,)
        return output, tuple(part[0] for part in final)

    return call


def _cat(tensors: list[torch.Tensor]) -> torch.Tensor:
    return tensors[0] if len(tensors) == 1 else torch.cat(tensors)


def _segments(batch_sizes: Sequence[int]) -> list[tuple[int, int]]:
    """(steps, batch) runs of equal batch size: the pieces a packed batch is run in."""
    runs: list[tuple[int, int]] = []
    for size in batch_sizes:
        if runs and runs[-1][1] == size:
            runs[-1] = (runs[-1][0] + 1, size)
        else:
            runs.append((1, size))
    return runs


def _forward_direction(
    call: _Call, data: torch.Tensor, segments: list[tuple[int, int]], state: State
) -> tuple[torch.Tensor, State]:
    """Time-major packed ``data`` (N, F) forward; a sequence's final state is its last step's.

    Sequences are sorted by length, so at each run's start the rows past its batch size have
    ended: their states are final.
    """
    outputs, ended, offset = [], [], 0
    for steps, size in segments:
        if state[0].size(0) > size:
            ended.append(tuple(part[size:] for part in state))
            state = tuple(part[:size] for part in state)
        rows = steps * size
        output, state = call(data[offset : offset + rows].reshape(steps, size, -1), state)
        outputs.append(output.reshape(rows, -1))
        offset += rows
    ended.append(state)
    final = tuple(_cat(list(parts)) for parts in zip(*reversed(ended), strict=True))
    return _cat(outputs), final


def _reverse_direction(
    call: _Call, data: torch.Tensor, segments: list[tuple[int, int]], initial: State
) -> tuple[torch.Tensor, State]:
    """Packed ``data`` backward in time: each sequence starts from its own last step (with its
    initial state), so shorter sequences join as the time index falls to theirs."""
    outputs, end = [], data.size(0)
    state: State | None = None
    for steps, size in reversed(segments):
        if state is None:
            state = tuple(part[:size] for part in initial)
        elif state[0].size(0) < size:
            have = state[0].size(0)
            state = tuple(
                torch.cat([part, start[have:size]])
                for part, start in zip(state, initial, strict=True)
            )
        rows = steps * size
        piece = data[end - rows : end].reshape(steps, size, -1).flip(0)
        output, state = call(piece, state)
        outputs.append(output.flip(0).reshape(rows, -1))
        end -= rows
    outputs.reverse()
    assert state is not None
    return _cat(outputs), state


class _DropIn(nn.Module):
    """What the four drop-ins share: nn's initialisation, the state-dict rules, the state check.

    Subclasses set ``_lstm`` (state (h, c), else h) and ``_nn_class`` (torch's module).
    """

    _lstm: ClassVar[bool]
    _nn_class: ClassVar[type[nn.Module]]

    def _finish(self) -> None:
        """Last step of ``__init__``: the load rule of the module docstring."""
        self.register_load_state_dict_post_hook(_forgive_missing_unit_keys)

    def reset_parameters(self) -> None:
        """U(±1/sqrt(hidden_size)) for every weight and bias, in nn's order (the same draws)."""
        bound = self.hidden_size**-0.5
        for weight in self.parameters(recurse=False):
            nn.init.uniform_(weight, -bound, bound)

    def rnn_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights alone, under nn's keys: torch's module loads it strictly."""
        own = set(self._parameters)
        return {key: value for key, value in self.state_dict().items() if key in own}

    def _load_from_state_dict(self, state_dict, prefix, *args: Any, **kwargs: Any) -> None:
        units = tuple(f"{prefix}{name}." for name in self._modules)
        if not any(key.startswith(units) for key in state_dict):
            self._plain_rnn_load = units  # read (and cleared) by _forgive_missing_unit_keys
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _state_parts(self, hx: Any) -> State:
        if self._lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{type(self).__name__}: hx must be a tuple (h_0, c_0)")
            return tuple(hx)
        if not torch.is_tensor(hx):
            raise TypeError(f"{type(self).__name__}: hx must be a tensor h_0")
        return (hx,)


class _NoisyRNN(_DropIn):
    """What :class:`NoisyLSTM` and :class:`NoisyGRU` share (see the module docstring)."""

    _layer_class: ClassVar[type[_LentWeights]]
    _nn_class: ClassVar[type[nn.RNNBase]]
    _num_gates: ClassVar[int]
    _lstm: ClassVar[bool]

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        unit: str = "nan",
        gate_knobs: Mapping[str, Any] | None = None,
        cell_knobs: Mapping[str, Any] | None = None,
        fused: bool | None = None,
        fast_step: bool = False,
        proj_size: int = 0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        **unit_knobs: Any,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        _check_sizes(owner, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
        if proj_size:
            raise ValueError(f"{owner} does not support proj_size > 0 (nn.LSTM's projections)")
        if (
            not isinstance(dropout, numbers.Number)
            or isinstance(dropout, bool)
            or not 0 <= dropout <= 1
        ):
            raise ValueError(
                f"{owner}: dropout should be a number in range [0, 1] representing the "
                f"probability of an element being zeroed, got {dropout!r}"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                "dropout expects num_layers greater than 1, but got "
                f"dropout={dropout} and num_layers={num_layers}",
                stacklevel=2,
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.unit = unit
        directions = 2 if bidirectional else 1
        rows = self._num_gates * hidden_size
        factory = {"device": device, "dtype": dtype}
        self._weight_names: list[list[str]] = []  # per layer and direction, in nn's order
        suffixes = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else directions * hidden_size
            for direction in range(directions):
                suffix = f"_l{layer}{'_reverse' if direction else ''}"
                shapes = {
                    f"weight_ih{suffix}": (rows, layer_input),
                    f"weight_hh{suffix}": (rows, hidden_size),
                }
                if self.bias:
                    shapes.update({f"bias_ih{suffix}": (rows,), f"bias_hh{suffix}": (rows,)})
                for name, shape in shapes.items():
                    self.register_parameter(name, nn.Parameter(torch.empty(shape, **factory)))
                self._weight_names.append(list(shapes))
                suffixes.append((suffix[1:], layer_input))
        self.reset_parameters()  # before the units draw theirs: nn's draws for a given seed
        factories = _unit_factories(owner, unit, unit_knobs, gate_knobs, cell_knobs)
        self.rnns = nn.ModuleDict()
        for key, layer_input in suffixes:
            layer = self._layer_class(
                layer_input,
                hidden_size,
                gate_unit=factories["gate"],
                cell_unit=factories["cell"],
                fused=fused,
                fast_step=fast_step,
            )
            layer._forget_weights()
            self.rnns[key] = layer
        if device is not None or dtype is not None:
            self.rnns.to(device=device, dtype=dtype)
        self._finish()

    # -- nn.RNNBase's surface -------------------------------------------------------------

    def flatten_parameters(self) -> None:
        """No-op (nn's cuDNN weight compaction), so code that calls it keeps working."""

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """The weights per layer and direction, as ``nn.LSTM.all_weights``."""
        return [[getattr(self, name) for name in names] for names in self._weight_names]

    @property
    def fast_step(self) -> bool:
        """Whether every inner layer runs its compiled per-step kernel (settable)."""
        return all(layer.fast_step for layer in self.rnns.values())

    @fast_step.setter
    def fast_step(self, enabled: bool) -> None:
        for layer in self.rnns.values():
            layer.fast_step = bool(enabled)

    @property
    def fused(self) -> bool:
        """Whether every inner layer runs nn's kernel (reference units)."""
        return all(layer.fused for layer in self.rnns.values())

    # -- state dicts ----------------------------------------------------------------------

    @classmethod
    def from_rnn(cls, module: nn.RNNBase, **kwargs: Any) -> _NoisyRNN:
        """This class with ``module``'s configuration, weights, device, dtype and mode.

        Args:
            module: an ``nn.LSTM`` (for :class:`NoisyLSTM`) or ``nn.GRU``.
            **kwargs: ``unit=``, knobs, ``fast_step=`` ... as for the constructor.

        Raises:
            TypeError: ``module`` is not of the matching nn class.
            ValueError: an LSTM with ``proj_size``, or a bad unit or knob.
        """
        if not isinstance(module, cls._nn_class):
            raise TypeError(f"{cls.__name__}.from_rnn needs an nn.{cls._nn_class.__name__}")
        weight = module.weight_ih_l0
        with warnings.catch_warnings():  # nn warned already about dropout with one layer
            warnings.simplefilter("ignore", UserWarning)
            converted = cls(
                module.input_size,
                module.hidden_size,
                module.num_layers,
                module.bias,
                module.batch_first,
                float(module.dropout),
                module.bidirectional,
                proj_size=getattr(module, "proj_size", 0),
                device=weight.device,
                dtype=weight.dtype,
                **kwargs,
            )
        converted.load_state_dict(module.state_dict())
        return converted.train(module.training)

    # -- forward --------------------------------------------------------------------------

    def _check_rank(self, parts: State, batched: bool) -> None:
        want = 3 if batched else 2
        if all(part.dim() == want for part in parts):
            return
        dims = ", ".join(f"{part.dim()}-D" for part in parts)
        if self._lstm:
            raise RuntimeError(
                f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, hx and cx should "
                f"also be {want}-D but got ({dims}) tensors"
            )
        raise RuntimeError(
            f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, hx should also be "
            f"{want}-D but got {dims} tensor"
        )

    def _check_input(self, x: torch.Tensor) -> None:
        weight = self.weight_ih_l0
        if x.dtype != weight.dtype:
            raise ValueError(
                f"{type(self).__name__} input dtype ({x.dtype}) does not match weight dtype "
                f"({weight.dtype}). Convert input: input.to({weight.dtype}), or convert model: "
                f"model.to({x.dtype})"
            )
        if x.size(-1) != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {x.size(-1)}"
            )

    def _initial_state(self, hx: Any, like: torch.Tensor, batch: int) -> State:
        shape = ((2 if self.bidirectional else 1) * self.num_layers, batch, self.hidden_size)
        if hx is None:
            zeros = like.new_zeros(shape)
            return (zeros,) * (2 if self._lstm else 1)
        for index, part in enumerate(hx):
            if tuple(part.shape) != shape:
                where = f"hidden[{index}]" if self._lstm else "hidden"
                raise RuntimeError(f"Expected {where} size {shape}, got {list(part.shape)}")
        return hx

    def forward(self, input: torch.Tensor | PackedSequence, hx: Any = None) -> tuple[Any, Any]:
        """Run the sequence(s), as ``nn.LSTM.forward`` / ``nn.GRU.forward``.

        Args:
            input: (T, B, input_size) (``batch_first``: (B, T, ...)), (T, input_size)
                unbatched, or a ``PackedSequence``.
            hx: the initial state, (h_0, c_0) for an LSTM, h_0 for a GRU, each
                (num_layers · directions, B, hidden_size) ((..., hidden_size) unbatched);
                zeros when None.

        Returns:
            output ((T, B, directions · hidden_size), or a PackedSequence) and the final
            state, as nn's; a packed sequence's is each sequence's last valid step.

        Raises:
            ValueError: input of the wrong rank or dtype.
            RuntimeError: wrong feature or state size, or state rank.
        """
        owner = type(self).__name__
        parts = None if hx is None else self._state_parts(hx)
        packed = isinstance(input, PackedSequence)
        if packed:
            data, batch_sizes, sorted_indices, unsorted_indices = input
            if data.dim() != 2:
                raise ValueError(f"{owner}: a packed sequence's data must be 2-D (N, features)")
            self._check_input(data)
            sizes = batch_sizes.tolist()
            batch, unbatched = sizes[0], False
            if parts is not None:
                self._check_rank(parts, True)
                if sorted_indices is not None:
                    parts = tuple(part.index_select(1, sorted_indices) for part in parts)
        else:
            if input.dim() not in (2, 3):
                raise ValueError(
                    f"{owner}: Expected input to be 2D or 3D, got {input.dim()}D instead"
                )
            unbatched = input.dim() == 2
            if parts is not None:
                self._check_rank(parts, not unbatched)
                if unbatched:
                    parts = tuple(part.unsqueeze(1) for part in parts)
            x = input.unsqueeze(1) if unbatched else input
            if self.batch_first and not unbatched:
                x = x.transpose(0, 1)
            self._check_input(x)
            steps, batch = x.shape[:2]
            if steps == 0:
                raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
            data, sizes = x.reshape(steps * batch, x.size(-1)), [batch] * steps
        state = self._initial_state(parts, data, batch)
        output, finals = self._run(data, _segments(sizes), state)
        if packed:
            if unsorted_indices is not None:
                finals = tuple(part.index_select(1, unsorted_indices) for part in finals)
            result = PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices)
        else:
            result = output.reshape(steps, batch, -1)
            if unbatched:
                result = result.squeeze(1)
                finals = tuple(part.squeeze(1) for part in finals)
            elif self.batch_first:
                result = result.transpose(0, 1).contiguous()  # contiguous, as nn's
        return result, (finals if self._lstm else finals[0])

    def _run(
        self, data: torch.Tensor, segments: list[tuple[int, int]], state: State
    ) -> tuple[torch.Tensor, State]:
        """Every layer and direction over packed ``data``: output (N, D·H), final states."""
        directions = 2 if self.bidirectional else 1
        layers = list(self.rnns.values())
        finals = []
        x = data
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0:
                x = F.dropout(x, self.dropout, self.training)
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                call = _call(layers[index], self._lent_weights(index), self._lstm)
                start = tuple(part[index] for part in state)
                run = _reverse_direction if direction else _forward_direction
                output, final = run(call, x, segments, start)
                outputs.append(output)
                finals.append(final)
            x = outputs[0] if directions == 1 else torch.cat(outputs, dim=1)
        return x, tuple(torch.stack(parts) for parts in zip(*finals, strict=True))

    def _lent_weights(self, index: int) -> list[torch.Tensor]:
        weights = [getattr(self, name) for name in self._weight_names[index]]
        if not self.bias:
            zeros = weights[0].new_zeros(weights[0].size(0))
            weights += [zeros, zeros]
        return weights

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return f"{text}, unit={self.unit!r}"


class NoisyLSTM(_NoisyRNN):
    """Drop-in ``nn.LSTM`` whose gates (i, f, o), candidate and cell output are units.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional: as
            ``nn.LSTM``; ``proj_size`` is accepted only as 0.
        unit: one of :func:`unit_choices`: a noisy unit type (``"nan"``, ``"nah"``, ...) for
            both roles, ``"reference"`` (sigmoid/tanh) or ``"hard"`` (hard sigmoid/tanh).
        gate_knobs, cell_knobs: knobs for one role's units only (override ``unit_knobs``).
        fused: use nn's kernel (``None``: when the units are the reference ones).
        fast_step: the compiled multi-step kernel of :mod:`noisyexp.layers.fast_step`.
        device, dtype: where and in which dtype to build the weights and units.
        **unit_knobs: the unit type's knobs (``UnitType.knobs``: alpha, c, clip_output, ...),
            for both roles.

    Raises:
        ValueError: an unknown unit, a knob the units do not take, bad sizes or dropout.
    """

    _layer_class = _LentLSTM
    _nn_class = nn.LSTM
    _num_gates = 4
    _lstm = True


class NoisyGRU(_NoisyRNN):
    """Drop-in ``nn.GRU`` whose gates (r, z) and candidate n are units; arguments as
    :class:`NoisyLSTM`."""

    _layer_class = _LentGRU
    _nn_class = nn.GRU
    _num_gates = 3
    _lstm = False


class _NoisyRNNCell(_DropIn):
    """What :class:`NoisyLSTMCell` and :class:`NoisyGRUCell` share: one step of a one-layer
    :class:`_LentLSTM`/:class:`_LentGRU` (``rnn``) with the weights ``weight_ih``, ...."""

    _layer_class: ClassVar[type[_LentWeights]]
    _nn_class: ClassVar[type[nn.RNNCellBase]]
    _num_gates: ClassVar[int]
    _lstm: ClassVar[bool]

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
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
        super().__init__()
        owner = type(self).__name__
        _check_sizes(owner, input_size=input_size, hidden_size=hidden_size)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bool(bias)
        self.unit = unit
        rows = self._num_gates * hidden_size
        factory = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size, **factory))
        if self.bias:
            self.bias_ih = nn.Parameter(torch.empty(rows, **factory))
            self.bias_hh = nn.Parameter(torch.empty(rows, **factory))
        self.reset_parameters()
        factories = _unit_factories(owner, unit, unit_knobs, gate_knobs, cell_knobs)
        self.rnn = self._layer_class(
            input_size,
            hidden_size,
            gate_unit=factories["gate"],
            cell_unit=factories["cell"],
            fused=fused,
            fast_step=fast_step,
        )
        self.rnn._forget_weights()
        if device is not None or dtype is not None:
            self.rnn.to(device=device, dtype=dtype)
        self._finish()

    @property
    def fast_step(self) -> bool:
        """Whether the step runs as the compiled kernel (settable)."""
        return self.rnn.fast_step

    @fast_step.setter
    def fast_step(self, enabled: bool) -> None:
        self.rnn.fast_step = bool(enabled)

    @property
    def fused(self) -> bool:
        """Whether the step runs nn's kernel (reference units)."""
        return self.rnn.fused

    @classmethod
    def from_rnn(cls, module: nn.RNNCellBase, **kwargs: Any) -> _NoisyRNNCell:
        """This class with ``module``'s sizes, weights, device, dtype and mode (as
        :meth:`NoisyLSTM.from_rnn`)."""
        if not isinstance(module, cls._nn_class):
            raise TypeError(f"{cls.__name__}.from_rnn needs an nn.{cls._nn_class.__name__}")
        weight = module.weight_ih
        converted = cls(
            module.input_size,
            module.hidden_size,
            module.bias,
            device=weight.device,
            dtype=weight.dtype,
            **kwargs,
        )
        converted.load_state_dict(module.state_dict())
        return converted.train(module.training)

    def forward(self, input: torch.Tensor, hx: Any = None) -> Any:
        """One step, as ``nn.LSTMCell.forward`` / ``nn.GRUCell.forward``.

        Args:
            input: (B, input_size), or (input_size,) unbatched.
            hx: (h, c) for an LSTM cell, h for a GRU cell, each (B, hidden_size) (unbatched:
                (hidden_size,)); zeros when None.

        Returns:
            (h', c') for an LSTM cell, h' for a GRU cell, shaped as ``hx``.

        Raises:
            ValueError: input or state of the wrong rank, or input of the wrong dtype.
            RuntimeError: wrong feature, state or batch size.
        """
        owner = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{owner}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        batched = input.dim() == 2
        parts = None if hx is None else self._state_parts(hx)
        for index, part in enumerate(parts or ()):
            if part.dim() != input.dim():
                raise ValueError(
                    f"{owner}: Expected hx[{index}] to be {input.dim()}D like the input, "
                    f"got {part.dim()}D instead"
                )
        x = input if batched else input.unsqueeze(0)
        if x.dtype != self.weight_ih.dtype:
            raise ValueError(
                f"{owner} input dtype ({x.dtype}) does not match weight dtype "
                f"({self.weight_ih.dtype})"
            )
        if x.size(1) != self.input_size:
            raise RuntimeError(
                f"input has inconsistent input_size: got {x.size(1)} expected {self.input_size}"
            )
        batch = x.size(0)
        if parts is None:
            zeros = x.new_zeros(batch, self.hidden_size)
            parts = (zeros,) * (2 if self._lstm else 1)
        else:
            parts = parts if batched else tuple(part.unsqueeze(0) for part in parts)
            for index, part in enumerate(parts):
                if part.size(0) != batch:
                    raise RuntimeError(
                        f"Input batch size {batch} doesn't match hidden{index} batch size "
                        f"{part.size(0)}"
                    )
                if part.size(1) != self.hidden_size:
                    raise RuntimeError(
                        f"hidden{index} has inconsistent hidden_size: got {part.size(1)}, "
                        f"expected {self.hidden_size}"
                    )
        weights = [self.weight_ih, self.weight_hh]
        if self.bias:
            weights += [self.bias_ih, self.bias_hh]
        else:
            zeros = self.weight_ih.new_zeros(self.weight_ih.size(0))
            weights += [zeros, zeros]
        _, final = _call(self.rnn, weights, self._lstm)(x.unsqueeze(0), parts)
        if not batched:
            final = tuple(part.squeeze(0) for part in final)
        return final if self._lstm else final[0]

    def extra_repr(self) -> str:
        bias = "" if self.bias else ", bias=False"
        return f"{self.input_size}, {self.hidden_size}{bias}, unit={self.unit!r}"


class NoisyLSTMCell(_NoisyRNNCell):
    """Drop-in ``nn.LSTMCell`` with units (arguments as :class:`NoisyLSTM`, without the
    sequence ones); parameters ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``."""

    _layer_class = _LentLSTM
    _nn_class = nn.LSTMCell
    _num_gates = 4
    _lstm = True


class NoisyGRUCell(_NoisyRNNCell):
    """Drop-in ``nn.GRUCell`` with units (arguments as :class:`NoisyLSTMCell`)."""

    _layer_class = _LentGRU
    _nn_class = nn.GRUCell
    _num_gates = 3
    _lstm = False
