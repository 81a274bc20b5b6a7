"""What the LSTM and GRU with pluggable units share (see :mod:`.lstm` and :mod:`.gru`).

:class:`_RecurrentLayer` holds the ``nn.LSTM``/``nn.GRU``-named parameters, the per-layer unit
modules, the choice of the fused kernel, the initialisation and the layer loop; each subclass
keeps its own cell equations and fused kernel call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from noisyexp.activations.roles import UnitFactory
from noisyexp.layers.fast_step import supports_fast_step

__all__ = ["is_reference_unit", "RecurrentWeightGrad", "set_fast_step"]


def is_reference_unit(module: nn.Module, kind: str) -> bool:
    """Whether ``module`` is the plain, noise-free logistic sigmoid (``kind='sigmoid'``) or tanh.

    Only exact classes count (a subclass may change the function), so a fused kernel computing
    the textbook function is a safe substitute.
    """
    names = {"sigmoid": "Sigmoid", "tanh": "Tanh"}
    if type(module) is getattr(nn, names[kind]):
        return True
    try:  # the activation library may not be importable in a stripped-down install
        from noisyexp import activations
    except ImportError:  # pragma: no cover
        return False
    return type(module) is getattr(activations, names[kind], None)


def set_fast_step(model: nn.Module, enabled: bool) -> int:
    """Switch the compiled per-step kernel of every module in ``model`` that has one (a bool
    ``fast_step``: the LSTM/GRU layers, the NTM); how many."""
    layers = [m for m in model.modules() if isinstance(getattr(m, "fast_step", None), bool)]
    for layer in layers:
        layer.fast_step = enabled
    return len(layers)


class RecurrentWeightGrad(torch.autograd.Function):
    """Zeros whose backward turns the gradients of all T steps into one recurrent-weight gradient.

    In a time loop ``h @ W.t()`` makes autograd compute ``dW`` with T small matmuls. Instead the
    loop multiplies by ``W.detach()`` (only ``dh`` flows back per step) and adds slice t of this
    function's (T, B, R) zero output to the pre-activations. Its incoming gradient is then each
    step's pre-activation gradient G, and the backward computes ``dW = Gᵀ H`` in one matmul, with
    H = the (T, B, H) states the loop multiplied (appended to ``inputs`` as it runs, one (B, H)
    state per step, or as one (T, B, H) tensor).
    """

    @staticmethod
    def forward(
        ctx: Any, weight: torch.Tensor, inputs: list[torch.Tensor], shape: tuple[int, ...]
    ) -> torch.Tensor:
        ctx.inputs = inputs
        ctx.weight_dtype = weight.dtype
        return weight.new_zeros(shape)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        inputs = ctx.inputs
        states = (inputs[0] if len(inputs) == 1 else torch.stack(inputs)).to(grad.dtype)
        grad_weight = grad.reshape(-1, grad.size(-1)).t() @ states.reshape(-1, states.size(-1))
        return grad_weight.to(ctx.weight_dtype), None, None


class _RecurrentLayer(nn.Module):
    """Base of the drop-in ``nn.LSTM``/``nn.GRU`` (time-major, unidirectional, with biases).

    Args:
        input_size: features of x.
        hidden_size: features of h (and c).
        num_layers: stacked layers.
        gate_unit: builds a sigmoid-like unit for ``n`` features.
        cell_unit: builds a tanh-like unit for ``n`` features.
        dropout: dropout on the output of every layer but the last (training only), as nn.LSTM.
        fused: use the nn module's kernel. ``None`` = when both units are plain reference ones;
            ``True`` with other units raises ValueError.
        fast_step: when the nn kernel is not used, run each time step's elementwise work as one
            ``torch.compile``-d kernel (:mod:`.fast_step`); the attribute can be switched later.

    A subclass sets ``_num_gates`` (rows of each weight = gates·H), ``_units_class`` (built as
    ``_units_class(hidden_size, gate_unit, cell_unit)`` once per layer) and ``_reference_kinds``
    (unit attribute → ``is_reference_unit`` kind the fused kernel needs), and implements
    ``forward`` and ``_run_layer``.
    """

    _num_gates: ClassVar[int]
    _units_class: ClassVar[type[nn.Module]]
    _reference_kinds: ClassVar[tuple[tuple[str, str], ...]]

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        gate_unit: UnitFactory,
        cell_unit: UnitFactory,
        dropout: float = 0.0,
        fused: bool | None = None,
        fast_step: bool = False,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        rows = self._num_gates * hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size
            self.register_parameter(
                f"weight_ih_l{layer}", nn.Parameter(torch.empty(rows, layer_input))
            )
            self.register_parameter(
                f"weight_hh_l{layer}", nn.Parameter(torch.empty(rows, hidden_size))
            )
            self.register_parameter(f"bias_ih_l{layer}", nn.Parameter(torch.empty(rows)))
            self.register_parameter(f"bias_hh_l{layer}", nn.Parameter(torch.empty(rows)))
        self.units = nn.ModuleList(
            self._units_class(hidden_size, gate_unit, cell_unit) for _ in range(num_layers)
        )
        reference = all(
            is_reference_unit(getattr(unit, name), kind)
            for unit in self.units
            for name, kind in self._reference_kinds
        )
        if fused and not reference:
            raise ValueError("fused=True needs plain sigmoid/tanh units; use fused=None or False")
        self.fused = reference if fused is None else fused
        self.fast_step = fast_step
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(±1/sqrt(hidden_size)) for every weight and bias, as nn.LSTM and nn.GRU."""
        bound = self.hidden_size**-0.5
        for name, weight in self.named_parameters(recurse=False):
            assert name.startswith(("weight_", "bias_")), name
            nn.init.uniform_(weight, -bound, bound)

    def _layer_weights(self, layer: int) -> list[torch.Tensor]:
        return [
            getattr(self, f"{kind}_l{layer}")
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        ]

    def _flat_weights(self) -> list[torch.Tensor]:
        """All layers' weights in the order the fused kernels take them."""
        return [w for layer in range(self.num_layers) for w in self._layer_weights(layer)]

    def _check_input(self, x: torch.Tensor) -> None:
        """Refuse what is not (T, B, input_size): a 2-D input would run with wrong shapes."""
        if x.dim() != 3 or x.size(-1) != self.input_size:
            raise ValueError(
                f"{type(self).__name__} takes time-major input (T, B, {self.input_size}), got "
                f"shape {tuple(x.shape)}; noisyexp.NoisyLSTM / NoisyGRU take batch-first, "
                "unbatched and packed input"
            )

    def _zero_state(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(self.num_layers, x.size(1), self.hidden_size)

    def _run_layer(self, layer: int, x: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """One layer over the sequence: output (T, B, H) and the layer's final state."""
        raise NotImplementedError

    def _use_fast_step(self, layer: int) -> bool:
        units = self.units[layer]
        return self.fast_step and all(supports_fast_step(unit) for unit in units.children())

    def _run_layers(self, x: torch.Tensor, states: Sequence[Any]) -> tuple[torch.Tensor, list[Any]]:
        """The loop path: every layer in turn (dropout between them); the final states per layer."""
        finals = []
        output = x
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0:
                output = F.dropout(output, self.dropout, self.training)
            output, final = self._run_layer(layer, output, states[layer])
            finals.append(final)
        return output, finals

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
            f"dropout={self.dropout}, fused={self.fused}, fast_step={self.fast_step}"
        )
