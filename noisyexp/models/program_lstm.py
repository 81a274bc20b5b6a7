"""The Learning to Execute model (Zaremba & Sutskever 2014): a character LSTM over program text.

One stacked LSTM reads a stream of samples ``<program>@<output>.`` character by character and, from
``@`` on, predicts the next character: the output is emitted under teacher forcing (the input at
each output position is the true previous output character). As in the original
``wojciechz/learning_to_execute`` (``main.lua``): an embedding of ``hidden_size``, dropout on the
input of every layer (the embedding and each lower layer's output, not before the softmax),
every weight U(±init_scale) (0.08). Every sigmoid and tanh of the LSTM comes from the unit
factories, so the act swaps them all.
"""

from __future__ import annotations

import torch
from torch import nn

from noisyexp.activations.roles import UnitFactory
from noisyexp.layers.lstm import LSTM, LSTMState

__all__ = ["ProgramLSTM"]


class ProgramLSTM(nn.Module):
    """Embedding -> dropout -> LSTM (dropout between layers) -> linear softmax layer.

    Args:
        vocab_size: number of symbols V.
        hidden_size: embedding and LSTM size H (the original: 400).
        num_layers: stacked LSTM layers (the original: 2).
        gate_unit: builds sigmoid-like units.
        cell_unit: builds tanh-like units.
        dropout: dropout probability on each layer's input.
        init_scale: every weight and bias starts U(±init_scale); units keep their own init.
    """

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        num_layers: int,
        *,
        gate_unit: UnitFactory,
        cell_unit: UnitFactory,
        dropout: float = 0.5,
        init_scale: float = 0.08,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.rnn = LSTM(
            hidden_size,
            hidden_size,
            num_layers,
            gate_unit=gate_unit,
            cell_unit=cell_unit,
            dropout=dropout,
        )
        self.decoder = nn.Linear(hidden_size, vocab_size)
        weights = [self.embedding.weight, self.decoder.weight, self.decoder.bias]
        weights += list(self.rnn.parameters(recurse=False))
        for weight in weights:
            nn.init.uniform_(weight, -init_scale, init_scale)

    def forward(
        self, tokens: torch.Tensor, state: LSTMState | None = None
    ) -> tuple[torch.Tensor, LSTMState]:
        """Logits of the next character at every position.

        Args:
            tokens: int64 (T, B).
            state: carried (h, c), or None for zeros.

        Returns:
            logits (T, B, V) and the final state (not detached).
        """
        output, state = self.rnn(self.dropout(self.embedding(tokens)), state)
        return self.decoder(output), state
