"""A multilayer perceptron whose hidden activations are pluggable units."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from noisyexp.activations.roles import UnitFactory

__all__ = ["MLP"]


class MLP(nn.Module):
    """``input -> [Linear -> unit] * len(hidden_sizes) -> Linear -> logits``.

    Args:
        input_size: features per example.
        hidden_sizes: width of each hidden layer.
        output_size: number of classes (logits).
        unit: builds the activation of a hidden layer from its width.
        init_scale: if set, weights are drawn U(±init_scale) and biases zeroed; otherwise
            PyTorch's default init is kept.
    """

    def __init__(
        self,
        input_size: int,
        hidden_sizes: Sequence[int],
        output_size: int,
        *,
        unit: UnitFactory,
        init_scale: float | None = None,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_features = input_size
        for width in hidden_sizes:
            layers += [nn.Linear(in_features, width), unit(width)]
            in_features = width
        self.hidden = nn.Sequential(*layers)
        self.output = nn.Linear(in_features, output_size)
        if init_scale is not None:
            for module in self.modules():
                if isinstance(module, nn.Linear):
                    nn.init.uniform_(module.weight, -init_scale, init_scale)
                    nn.init.zeros_(module.bias)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, input_size) -> (B, output_size) logits."""
        return self.output(self.hidden(inputs))
