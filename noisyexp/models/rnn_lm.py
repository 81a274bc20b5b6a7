"""Recurrent language model: embedding -> LSTM/GRU with pluggable units -> softmax layer.

Zaremba et al. (2014)'s PTB model: every weight (embedding, recurrent, softmax) starts
U(±init_scale), dropout is applied on the non-recurrent connections only (after the embedding,
between layers, before the softmax), and the hidden state is carried from one window to the next
and detached in between (truncated BPTT, :func:`detach_state`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from noisyexp.activations.roles import UnitFactory
from noisyexp.layers.gru import GRU
from noisyexp.layers.lstm import LSTM

__all__ = ["CELLS", "RNNLanguageModel", "RNNState", "detach_state", "state_tensors"]

CELLS = ("lstm", "gru")

RNNState = Any
"""An LSTM's (h, c) tuple or a GRU's h tensor; each (num_layers, B, hidden_size)."""


def detach_state(state: RNNState) -> RNNState:
    """Cut the graph behind a carried state (tensors, or tuples/lists of them; None stays None)."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return type(state)(detach_state(part) for part in state)


def state_tensors(state: RNNState) -> list[torch.Tensor]:
    """The tensors of a state, in order: h, or h and c (none for None)."""
    if state is None:
        return []
    return [state] if isinstance(state, torch.Tensor) else list(state)


class RNNLanguageModel(nn.Module):
    """Word- or character-level recurrent language model.

    Args:
        vocab_size: number of symbols V.
        embedding_size: size of the input embedding E.
        hidden_size: recurrent state size H.
        num_layers: stacked recurrent layers.
        gate_unit: builds sigmoid-like units (``num_units -> nn.Module``).
        cell_unit: builds tanh-like units.
        cell: ``"lstm"`` or ``"gru"``.
        dropout: dropout probability on non-recurrent connections.
        tie_weights: share the embedding matrix with the softmax layer (needs E == H).
        init_scale: weights start U(±init_scale); the units' own parameters keep their init.

    Raises:
        ValueError: unknown cell, or tied weights with E != H.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int,
        hidden_size: int,
        num_layers: int,
        *,
        gate_unit: UnitFactory,
        cell_unit: UnitFactory,
        cell: str = "lstm",
        dropout: float = 0.0,
        tie_weights: bool = False,
        init_scale: float = 0.1,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")
        if tie_weights and embedding_size != hidden_size:
            raise ValueError(
                f"tie_weights needs embedding_size == hidden_size, got {embedding_size} "
                f"and {hidden_size}"
            )
        self.vocab_size = vocab_size
        self.cell = cell
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.dropout = nn.Dropout(dropout)
        rnn_class = LSTM if cell == "lstm" else GRU
        self.rnn = rnn_class(
            embedding_size,
            hidden_size,
            num_layers,
            gate_unit=gate_unit,
            cell_unit=cell_unit,
            dropout=dropout,
        )
        self.decoder = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            self.decoder.weight = self.embedding.weight
        self.init_weights(init_scale)

    def init_weights(self, init_scale: float) -> None:
        """U(±init_scale) for the embedding, the recurrent weights/biases and the softmax layer."""
        weights = [self.embedding.weight, self.decoder.weight, self.decoder.bias]
        weights += list(self.rnn.parameters(recurse=False))
        for weight in weights:
            nn.init.uniform_(weight, -init_scale, init_scale)

    def zero_state(self, batch_size: int) -> RNNState:
        """The state ``forward`` starts from when given None, as tensors to fill in place."""
        weight = self.decoder.weight

        def zeros() -> torch.Tensor:
            return weight.new_zeros(self.rnn.num_layers, batch_size, self.rnn.hidden_size)

        return (zeros(), zeros()) if self.cell == "lstm" else zeros()

    def forward(
        self, tokens: torch.Tensor, state: RNNState = None
    ) -> tuple[torch.Tensor, RNNState]:
        """Logits of the next symbol at every step.

        Args:
            tokens: int64 (T, B).
            state: carried recurrent state, or None for zeros.

        Returns:
            logits (T, B, V) and the final state (not detached).
        """
        embedded = self.dropout(self.embedding(tokens))  # (T, B, E)
        output, state = self.rnn(embedded, state)  # (T, B, H)
        logits = self.decoder(self.dropout(output))  # (T, B, V)
        return logits, state
