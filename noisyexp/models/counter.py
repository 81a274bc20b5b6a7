"""The unique-integer counter of the paper's Table 5: LSTM, time-average pooling, ReLU MLP.

The paper (§6.6) describes the model in one sentence: an LSTM reads the sequence, its hidden
states are averaged over time into a fixed vector, and a one-hidden-layer MLP with ReLU units
predicts the count. Only the LSTM's units come from ``act`` (gates from ``gate_unit``, candidate
and cell output from ``cell_unit``); the MLP stays ReLU as the paper states.

Integers enter as one-hot vectors, so the model has no embedding to learn (``scalar_input``:
as one number each, value / (V - 1), a harder variant)::

    tokens (T, B) ─► one-hot (T, B, V) ─► LSTM ─► (T, B, H) ─► mean over T ─► (B, H)
                  ─► Linear + ReLU ─► (B, mlp_size) ─► Linear ─► logits (B, num_classes)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from noisyexp.layers.lstm import LSTM

__all__ = ["UniqueCounter"]


class UniqueCounter(nn.Module):
    """LSTM + time-average pooling + one-hidden-layer ReLU MLP classifier.

    Args:
        num_values: number of distinct integer symbols V (inputs are in ``[0, V)``).
        hidden_size: LSTM hidden units H.
        mlp_size: hidden units of the ReLU MLP.
        num_classes: number of output classes (counts).
        gate_unit: factory for the LSTM's sigmoid-like gate units.
        cell_unit: factory for the LSTM's tanh-like units.
        num_layers: stacked LSTM layers.
        scalar_input: one input feature per step, value / (V - 1), instead of a one-hot vector.
    """

    def __init__(
        self,
        num_values: int,
        hidden_size: int,
        mlp_size: int,
        num_classes: int,
        *,
        gate_unit: Callable[[int], nn.Module],
        cell_unit: Callable[[int], nn.Module],
        num_layers: int = 1,
        scalar_input: bool = False,
    ) -> None:
        super().__init__()
        self.num_values = num_values
        self.scalar_input = scalar_input
        self.lstm = LSTM(
            1 if scalar_input else num_values,
            hidden_size,
            num_layers,
            gate_unit=gate_unit,
            cell_unit=cell_unit,
        )
        self.mlp_hidden = nn.Linear(hidden_size, mlp_size)
        self.classifier = nn.Linear(mlp_size, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Map integer sequences (T, B) to class logits (B, num_classes)."""
        if self.scalar_input:
            inputs = (tokens.float() / (self.num_values - 1)).unsqueeze(-1)  # (T, B, 1)
        else:
            inputs = F.one_hot(tokens, self.num_values).float()  # (T, B, V)
        hidden, _ = self.lstm(inputs)  # (T, B, H)
        pooled = hidden.mean(dim=0)  # (B, H)
        return self.classifier(torch.relu(self.mlp_hidden(pooled)))  # (B, C)
