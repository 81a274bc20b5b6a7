"""Parallel corpora for translation: reading, tokenising, vocabularies and length-bucketed batches.

A corpus folder holds one file per split and language, ``<split>.<lang>`` or ``<split>.<lang>.gz``
(Multi30k's layout: ``train.en.gz``, ``val.fr.gz``, ``test_2016_flickr.de.gz``), one sentence a
line, line *i* of one language the translation of line *i* of the other. Nothing here knows a
language or a split name: any pair and any folder in that layout is read the same way.

Tokenisation is Moses' (``sacremoses``), reversed by its detokeniser before BLEU is computed on
plain text, or subword units (``sentencepiece``) learned from the training split. Vocabularies
are by frequency over the training split, with ``<pad>`` (id 0), ``<unk>``, ``<s>`` and ``</s>``
first. Training batches are a pure function of ``(seed, epoch, index)``: each epoch shuffles the
pairs, sorts windows of ``bucket`` batches by length (so a batch holds sentences of similar
length, little padding) and shuffles the batches.
"""

from __future__ import annotations

import functools
import gzip
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from noisyexp.core.errors import DataError
from noisyexp.core.rng import seeded_generator

__all__ = [
    "PAD",
    "UNK",
    "BOS",
    "EOS",
    "SPECIALS",
    "corpus_file",
    "corpus_languages",
    "read_lines",
    "read_parallel",
    "MosesTokenizer",
    "SentencePieceTokenizer",
    "TokenVocabulary",
    "Batch",
    "make_batch",
    "epoch_batches",
    "eval_batches",
    "length_filter",
]

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = (PAD, UNK, BOS, EOS)
"""Ids 0-3 of every vocabulary, in this order (the padding id is 0)."""


def corpus_file(folder: Path, split: str, lang: str) -> Path | None:
    """``folder/<split>.<lang>``, else ``folder/<split>.<lang>.gz``, else None."""
    for name in (f"{split}.{lang}", f"{split}.{lang}.gz"):
        path = Path(folder) / name
        if path.is_file():
            return path
    return None


def corpus_languages(folder: Path) -> list[str]:
    """Language codes that have at least one file in ``folder`` (the part after the last dot)."""
    found = set()
    for path in Path(folder).glob("*") if Path(folder).is_dir() else ():
        name = path.name[: -len(".gz")] if path.name.endswith(".gz") else path.name
        if "." in name and path.is_file():
            found.add(name.rsplit(".", 1)[1])
    return sorted(found)


def read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file, plain or gzip (``\\r\\n`` and a missing last newline ok).

    Raises:
        DataError: unreadable, not gzip although named ``.gz``, or not UTF-8.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                raw = handle.read()
        else:
            raw = path.read_bytes()
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise DataError(f"{path} is missing") from None
    except (OSError, EOFError) as err:
        raise DataError(f"{path} cannot be read ({err})") from None
    except UnicodeDecodeError as err:
        raise DataError(f"{path} is not UTF-8 text ({err.reason} at byte {err.start})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def read_parallel(
    folder: Path, split: str, src: str, tgt: str, *, dataset: str = "nmt"
) -> tuple[list[str], list[str]]:
    """The aligned source and target lines of ``split``.

    Raises:
        DataError: a file is missing (the message lists the languages and files the folder has)
            or the two files have different numbers of lines.
    """
    folder = Path(folder)
    paths = {}
    for lang in (src, tgt):
        path = corpus_file(folder, split, lang)
        if path is None:
            langs = corpus_languages(folder)
            there = f"languages there: {', '.join(langs)}" if langs else "it holds no corpus file"
            raise DataError(
                f"{dataset}: no {split}.{lang} or {split}.{lang}.gz in {folder} ({there}); "
                "task.corpus_dir must hold <split>.<lang>[.gz] files"
            )
        paths[lang] = path
    source, target = read_lines(paths[src]), read_lines(paths[tgt])
    if len(source) != len(target):
        raise DataError(
            f"{dataset}: {paths[src].name} has {len(source)} lines but {paths[tgt].name} has "
            f"{len(target)}; the files of a split must be line-aligned"
        )
    return source, target


class MosesTokenizer:
    """Moses tokeniser and detokeniser of one language (``sacremoses``), optionally lowercasing.

    Tokens are not XML-escaped, so ``detokenize(tokenize(s))`` gives back ``s`` for ordinary
    sentences (spacing around punctuation normalised the way Moses writes the language).
    """

    def __init__(self, lang: str, *, lowercase: bool = False) -> None:
        import sacremoses  # deferred: only the translation task needs it

        self.lang = lang
        self.lowercase = lowercase
        self._tokenizer = sacremoses.MosesTokenizer(lang=lang)
        self._detokenizer = sacremoses.MosesDetokenizer(lang=lang)

    def tokenize(self, line: str) -> list[str]:
        """Tokens of one sentence (an empty or blank line gives none)."""
        line = line.strip()
        if self.lowercase:
            line = line.lower()
        if not line:
            return []
        return self._tokenizer.tokenize(line, escape=False, aggressive_dash_splits=False)

    def detokenize(self, tokens: Sequence[str]) -> str:
        """One plain-text sentence from tokens."""
        return self._detokenizer.detokenize(list(tokens)) if tokens else ""


class SentencePieceTokenizer:
    """Subword units (``sentencepiece``, unigram model) learned from a language's training lines.

    ``proto`` is the serialised model: a run keeps it (as bytes in its checkpoint) so the same
    segmentation translates new text. Install with ``pip install sentencepiece``.
    """

    def __init__(self, proto: bytes, *, lowercase: bool = False) -> None:
        import sentencepiece

        self.proto = bytes(proto)
        self.lowercase = lowercase
        self._processor = sentencepiece.SentencePieceProcessor(model_proto=self.proto)

    @classmethod
    def train(
        cls, lines: Iterable[str], vocab_size: int, *, lowercase: bool = False
    ) -> SentencePieceTokenizer:
        """Learn a model of (at most) ``vocab_size`` pieces from ``lines`` (one thread)."""
        import io

        import sentencepiece

        sentences = [line.strip().lower() if lowercase else line.strip() for line in lines]
        model = io.BytesIO()
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter([line for line in sentences if line]),
            model_writer=model,
            vocab_size=vocab_size,
            hard_vocab_limit=False,
            character_coverage=1.0,
            num_threads=1,
            minloglevel=2,
        )
        return cls(model.getvalue(), lowercase=lowercase)

    def tokenize(self, line: str) -> list[str]:
        """Pieces of one sentence (an empty or blank line gives none)."""
        line = line.strip()
        if self.lowercase:
            line = line.lower()
        return list(self._processor.encode(line, out_type=str)) if line else []

    def detokenize(self, tokens: Sequence[str]) -> str:
        """Plain text from pieces (``<unk>`` pieces are kept as the text ``<unk>``)."""
        return self._processor.decode_pieces(list(tokens)) if tokens else ""


class TokenVocabulary:
    """Tokens by decreasing training frequency (ties: alphabetical), after :data:`SPECIALS`.

    Args:
        sentences: tokenised training sentences.
        max_size: at most this many entries, specials included (0 = no limit).
        min_freq: tokens seen fewer times are left out (they become ``<unk>``).
    """

    def __init__(
        self, sentences: Iterable[Sequence[str]] = (), *, max_size: int = 0, min_freq: int = 1
    ) -> None:
        counts = Counter(token for sentence in sentences for token in sentence)
        ranked = sorted(
            (t for t, n in counts.items() if n >= min_freq and t not in SPECIALS),
            key=lambda t: (-counts[t], t),
        )
        if max_size:
            ranked = ranked[: max(0, max_size - len(SPECIALS))]
        self.itos: list[str] = [*SPECIALS, *ranked]
        self.stoi = {token: index for index, token in enumerate(self.itos)}

    @classmethod
    def from_list(cls, itos: Sequence[str]) -> TokenVocabulary:
        """The vocabulary whose id -> token list is ``itos`` (as saved by :meth:`to_list`)."""
        if tuple(itos[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with {', '.join(SPECIALS)}")
        vocab = cls()
        vocab.itos = list(itos)
        vocab.stoi = {token: index for index, token in enumerate(vocab.itos)}
        return vocab

    def to_list(self) -> list[str]:
        return list(self.itos)

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def pad(self) -> int:
        return 0

    @property
    def unk(self) -> int:
        return 1

    @property
    def bos(self) -> int:
        return 2

    @property
    def eos(self) -> int:
        return 3

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Ids of ``tokens`` followed by ``</s>``; unknown tokens -> ``<unk>``."""
        unk = self.unk
        return [self.stoi.get(token, unk) for token in tokens] + [self.eos]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ``ids`` up to the first ``</s>`` (padding and ``<s>`` dropped)."""
        tokens = []
        for index in ids:
            index = int(index)
            if index == self.eos:
                break
            if index not in (self.pad, self.bos):
                tokens.append(self.itos[index])
        return tokens


def length_filter(
    src: list[list[str]], tgt: list[list[str]], max_len: int
) -> tuple[list[int], dict[str, int]]:
    """Indices of the pairs to train on: both sides non-empty and at most ``max_len`` tokens.

    Returns the kept indices and the counts of pairs dropped for each reason.
    """
    kept, empty, long = [], 0, 0
    for index, (source, target) in enumerate(zip(src, tgt, strict=True)):
        if not source or not target:
            empty += 1
        elif max_len and (len(source) > max_len or len(target) > max_len):
            long += 1
        else:
            kept.append(index)
    return kept, {"dropped_empty": empty, "dropped_long": long}


@dataclass
class Batch:
    """Padded, time-major id tensors of a batch, sorted by decreasing target length.

    ``src`` (S, B) ends each sentence with ``</s>``; ``tgt_in`` (T, B) starts with ``<s>`` and
    ``tgt_out`` (T, B) is the same shifted by one, ending with ``</s>``. Masks are True on real
    tokens. ``index`` holds the position of each row's pair in the list it came from.
    """

    src: torch.Tensor
    src_mask: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor
    tgt_mask: torch.Tensor
    index: torch.Tensor

    @property
    def size(self) -> int:
        return self.src.size(1)

    def to(self, device: torch.device) -> Batch:
        return Batch(*(getattr(self, k).to(device) for k in self.__dataclass_fields__))


def _pad(rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    length = max(len(row) for row in rows)
    ids = torch.zeros(length, len(rows), dtype=torch.long)
    for column, row in enumerate(rows):
        ids[: len(row), column] = torch.tensor(row, dtype=torch.long)
    return ids, ids != 0


def make_batch(
    src: Sequence[list[int]], tgt: Sequence[list[int]], index: Sequence[int], *, bos: int = 2
) -> Batch:
    """Pad encoded pairs (each ending with ``</s>``) into a :class:`Batch`.

    Rows are ordered by decreasing target length, so the decoder's active rows at any step are
    a prefix of the batch.
    """
    order = sorted(range(len(index)), key=lambda i: (-len(tgt[i]), -len(src[i]), index[i]))
    src_ids, src_mask = _pad([src[i] for i in order])
    tgt_out, tgt_mask = _pad([tgt[i] for i in order])
    tgt_in = torch.zeros_like(tgt_out)
    tgt_in[0] = bos
    tgt_in[1:] = tgt_out[:-1]
    tgt_in = tgt_in * tgt_mask
    return Batch(
        src_ids, src_mask, tgt_in, tgt_out, tgt_mask, torch.tensor([index[i] for i in order])
    )


@functools.lru_cache(maxsize=2)
def _epoch_order(lengths: tuple[int, ...], batch_size: int, bucket: int, seed: int, epoch: int):
    generator = seeded_generator(seed, epoch)
    count = len(lengths) // batch_size * batch_size
    order = torch.randperm(len(lengths), generator=generator)[:count].tolist()
    window = batch_size * max(1, bucket)
    batches = []
    for start in range(0, count, window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches.extend(chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size))
    shuffle = torch.randperm(len(batches), generator=generator).tolist()
    return tuple(tuple(batches[i]) for i in shuffle)


def epoch_batches(
    lengths: Sequence[int], batch_size: int, bucket: int, seed: int, epoch: int
) -> tuple[tuple[int, ...], ...]:
    """Batches of pair indices for one epoch: a pure function of the arguments.

    The pairs are shuffled, the last partial batch is dropped, windows of ``bucket`` batches are
    sorted by ``lengths`` and cut into batches, and the batches are shuffled. There are always
    ``len(lengths) // batch_size`` batches.
    """
    if len(lengths) < batch_size:
        raise ValueError(f"{len(lengths)} pairs cannot fill one batch of {batch_size}")
    return _epoch_order(tuple(lengths), batch_size, bucket, seed, epoch)


def eval_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """All indices, sorted by length (fewest padding), in batches of at most ``batch_size``."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    return [order[k : k + batch_size] for k in range(0, len(order), batch_size)]
