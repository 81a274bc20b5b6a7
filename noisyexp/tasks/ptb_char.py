"""Character-level Penn Treebank with a GRU (arXiv v3 Fig 8: NAN vs NANI vs NANIS).

The characters are derived from the word-level files (same download and md5 check as ``ptb``):
each line's words joined by ``_`` (Mikolov's stand-in for a space), then one ``<eos>`` symbol
for the line end, see :func:`noisyexp.data.text.char_tokens`. On the real files this gives
5,017,482 / 393,042 / 442,423 characters and 50 symbols, matching the paper's starting point of
log2(50) = 5.64 bits per character.

The metric is bits per character: bpc = mean NLL per predicted character (nats) / ln 2. The
model size, batch size and optimizer are not in the paper; the defaults here are marked
[inferred] in the docstring of :class:`PTBCharConfig`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from noisyexp.data.text import char_tokens
from noisyexp.tasks.ptb import LanguageModelConfig, PTBTask

__all__ = ["PTBCharConfig", "PTBCharTask"]


@dataclass
class PTBCharConfig(LanguageModelConfig):
    """GRU character model: sequence length 200 (paper); 1 x 512 units, embedding 64, batch 32
    [inferred]. Validation/test use 32 parallel streams (each starts from a zero state)."""

    name: str = "ptb_char"
    batch_size: int = 32
    bptt: int = 200
    embedding_size: int = 64
    hidden_size: int = 512
    num_layers: int = 1
    cell: str = "gru"
    eval_batch_size: int = 32
    test_batch_size: int = 32
    sum_over_time: bool = False  # Adam on the per-character mean; Zaremba's scaling is for SGD


class PTBCharTask(PTBTask):
    """Penn Treebank characters; ``evaluate`` returns ``loss`` (nats) and ``bpc``."""

    primary_metric = "bpc"
    dataset_name = "ptb_char"

    @staticmethod
    def tokenize(text: str) -> list[str]:
        """Characters, ``_`` between words, ``<eos>`` at each line end."""
        return char_tokens(text)

    def _metrics(self, loss: float) -> dict[str, float]:
        return {"loss": loss, "bpc": loss / math.log(2)}
