"""Text corpora for language modelling: vocabulary, tokens, batchify and BPTT windows.

This is the project's own short replacement for torchtext. A corpus is read line by line; every
line ends with an end-of-sentence symbol ``<eos>`` (so the model learns where sentences stop, as
in Mikolov's and Zaremba's setups). The token stream of a split is cut into ``batch_size``
parallel streams and read in windows of ``bptt`` steps, carrying the hidden state from one
window to the next (truncated backpropagation through time).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from pathlib import Path

import torch

from noisyexp.core.errors import DataError

__all__ = [
    "EOS",
    "UNK",
    "SPACE",
    "Vocabulary",
    "read_text",
    "word_tokens",
    "char_tokens",
    "batchify",
    "num_windows",
    "get_window",
    "iter_windows",
]

EOS = "<eos>"
"""Symbol appended at the end of every line."""

UNK = "<unk>"
"""Symbol that replaces words of valid/test that the training split never shows."""

SPACE = "_"
"""Character-level stand-in for the space between words (Mikolov's char files)."""


class Vocabulary:
    """A two-way map between symbols and integer ids, in order of first appearance.

    First-appearance order (rather than Zaremba's frequency order) keeps ids stable when a
    corpus grows at the end; perplexity does not depend on the order.
    """

    def __init__(self, symbols: Iterable[str] = ()) -> None:
        self.id_to_symbol: list[str] = []
        self.symbol_to_id: dict[str, int] = {}
        for symbol in symbols:
            self.add(symbol)

    def add(self, symbol: str) -> int:
        """Add ``symbol`` if it is new; return its id."""
        index = self.symbol_to_id.get(symbol)
        if index is None:
            index = len(self.id_to_symbol)
            self.symbol_to_id[symbol] = index
            self.id_to_symbol.append(symbol)
        return index

    def __len__(self) -> int:
        return len(self.id_to_symbol)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self.symbol_to_id

    def encode(self, tokens: Iterable[str], *, unknown: str | None = None) -> torch.Tensor:
        """Ids of ``tokens`` as a 1-D int64 tensor.

        Args:
            tokens: the symbols to encode.
            unknown: symbol (already in the vocabulary) used for symbols that are not; ``None``
                makes an unknown symbol an error.

        Raises:
            KeyError: a symbol is not in the vocabulary and ``unknown`` is None.
        """
        lookup = self.symbol_to_id
        if unknown is None:
            ids = [lookup[token] for token in tokens]
        else:
            fallback = lookup[unknown]
            ids = [lookup.get(token, fallback) for token in tokens]
        return torch.tensor(ids, dtype=torch.long)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Symbols of ``ids``."""
        return [self.id_to_symbol[int(index)] for index in ids]


def read_text(path: Path) -> str:
    """Read a UTF-8 text file.

    Raises:
        DataError: the file is missing or is not valid UTF-8.
    """
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path} is missing") from None
    except UnicodeDecodeError as err:
        raise DataError(f"{path} is not UTF-8 text ({err.reason} at byte {err.start})") from None


def _lines(text: str) -> list[str]:
    # Only "\n" ends a line (str.splitlines would also split on \x0b, \x1c, \u2028, ...). A final
    # line without its newline still counts as a line.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def word_tokens(text: str) -> list[str]:
    """Whitespace-separated words, with :data:`EOS` after each line.

    Every line, blank ones included, contributes one ``<eos>``; this matches Zaremba's reader
    (``read().replace("\\n", "<eos>").split()``) on files that end with a newline, which gives
    PTB's 929,589 / 73,760 / 82,430 tokens.
    """
    tokens: list[str] = []
    for line in _lines(text):
        tokens.extend(line.split())
        tokens.append(EOS)
    return tokens


def char_tokens(text: str) -> list[str]:
    """Characters of each line's words, :data:`SPACE` between words, :data:`EOS` at line end.

    Words are re-joined with one ``_`` each (leading/trailing blanks dropped), as in Mikolov's
    ``ptb.char.*`` files; the line end is one symbol, ``<eos>``, like the word-level task. A
    ``<unk>`` word becomes its five characters, as in those files.
    """
    tokens: list[str] = []
    for line in _lines(text):
        tokens.extend(SPACE.join(line.split()))
        tokens.append(EOS)
    return tokens


# How a stream of N tokens becomes a (rows, batch_size) matrix, batch_size = 4, N = 26:
#
#   stream:  a b c d e f | g h i j k l | m n o p q r | s t u v w x | y z   (y z are dropped)
#
#              column 0  1  2  3          each column is one contiguous piece of the stream,
#   row 0        [ a  g  m  s ]           read top to bottom; the hidden state of column j
#   row 1        [ b  h  n  t ]           at the end of one window is the right state for
#   row 2        [ c  i  o  u ]           row 0 of column j in the next window
#   row 3        [ d  j  p  v ]
#   row 4        [ e  k  q  w ]
#   row 5        [ f  l  r  x ]
#
# BPTT windows with bptt = 2: window w takes rows [2w, 2w + 2) as inputs and the rows one step
# later as targets, so targets always exist; the last row is only ever a target:
#
#   window 0: inputs rows 0-1 (a b | g h ...)  targets rows 1-2 (b c | h i ...)
#   window 1: inputs rows 2-3                  targets rows 3-4
#   window 2: inputs rows 4   (partial)        targets rows 5     (only with drop_last=False)


def batchify(ids: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Cut a 1-D token stream into ``batch_size`` contiguous columns (see the drawing above).

    Returns:
        int64 tensor of shape (N // batch_size, batch_size); the last N % batch_size tokens are
        dropped.

    Raises:
        DataError: the stream has fewer than ``2 * batch_size`` tokens (no input/target pair).
    """
    if ids.dim() != 1:
        raise ValueError(f"batchify expects a 1-D stream, got shape {tuple(ids.shape)}")
    rows = ids.numel() // batch_size
    if rows < 2:
        raise DataError(
            f"a split of {ids.numel()} tokens is too short for batch size {batch_size}; "
            "use a smaller batch size or a longer text"
        )
    # (rows * B,) -> (B, rows): column j is the j-th piece; transpose to time-major (rows, B)
    return ids[: rows * batch_size].view(batch_size, rows).t().contiguous()


def num_windows(rows: int, bptt: int, *, drop_last: bool) -> int:
    """How many BPTT windows a (rows, B) matrix gives.

    ``drop_last=True`` counts only full windows of ``bptt`` steps (training, as Zaremba);
    ``False`` also counts the final shorter one, so every target is scored (evaluation).
    """
    targets = rows - 1
    return targets // bptt if drop_last else math.ceil(targets / bptt)


def get_window(data: torch.Tensor, index: int, bptt: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets of window ``index``: two (T, B) tensors, T = bptt or fewer at the end.

    The targets are the inputs shifted one step later in each column.
    """
    start = index * bptt
    length = min(bptt, data.size(0) - 1 - start)
    assert length >= 1, f"window {index} is past the end of {data.size(0)} rows"
    return data[start : start + length], data[start + 1 : start + 1 + length]


def iter_windows(
    data: torch.Tensor, bptt: int, *, drop_last: bool
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """All windows of ``data`` in order (see :func:`num_windows`)."""
    for index in range(num_windows(data.size(0), bptt, drop_last=drop_last)):
        yield get_window(data, index, bptt)
