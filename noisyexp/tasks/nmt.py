"""Machine translation (paper Table 4): attention NMT on a parallel corpus, Multi30k by default.

``task.corpus_dir`` holds ``<split>.<lang>[.gz]`` files (:mod:`noisyexp.data.parallel`); empty =
``<paths.data_dir>/multi30k``, whose files are checked against Multi30k's published md5s and
downloaded when missing and online. ``task.src``/``task.tgt`` name the languages and
``task.{train,valid,test}_split`` the splits; any pair and any folder in that layout works.

Training: teacher forcing on length-bucketed batches of pairs of at most ``max_len`` tokens a
side (training data only; valid and test are scored whole), loss = NLL summed over a batch's
target tokens / batch size (dl4mt's cost: per sentence). Evaluation: ``nll`` (nats per sentence,
summed over its target tokens with ``</s>``: the paper's "valid nll"), ``nll_token`` and ``ppl``
per token, and ``bleu`` (sacrebleu on detokenised output; on valid when ``valid_bleu``, always on
test). Early stopping: ``patience`` evaluations without a better valid nll end the run; the test
split is translated with the best validation's weights (the trainer hands them over: the
preset's ``trainer.test_weights=best``). Translations go to ``<run dir>/translations/``.
"""

from __future__ import annotations

import logging
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from noisyexp.activations.roles import Units
from noisyexp.core.atomic import write_text_atomic
from noisyexp.core.errors import CheckpointError, ConfigError, DataError
from noisyexp.data import published
from noisyexp.data.files import combined_checksum, ensure_files, md5_file
from noisyexp.data.parallel import (
    MosesTokenizer,
    SentencePieceTokenizer,
    TokenVocabulary,
    corpus_file,
    epoch_batches,
    eval_batches,
    length_filter,
    make_batch,
    read_parallel,
)
from noisyexp.models.nmt import NMTModel, beam_search, greedy_search
from noisyexp.tasks.base import DatasetInfo, StepOutput, Task, require_at_least

__all__ = [
    "NMTConfig",
    "NMTTask",
    "decode",
    "bleu_score",
    "make_tokenizers",
]

log = logging.getLogger(__name__)

TOKENIZERS = ("moses", "sentencepiece")
DECODERS = ("beam", "greedy")


@dataclass
class NMTConfig:
    """Data, model and decoding of the translation task; model sizes are dl4mt's session2.

    ``corpus_dir`` empty = ``<paths.data_dir>/multi30k`` (md5-checked, downloaded when online).
    ``tokenizer``: ``moses`` words, or ``sentencepiece`` subword units (a unigram model of about
    ``subword_vocab_size`` pieces per language, learned from the training split).
    Vocabularies: the ``*_vocab_size`` most frequent training tokens seen ``min_freq`` times
    (0 = no size limit). ``max_len``: training pairs with a longer side are skipped (0 = none).
    ``bucket``: batches per length-sorted window. Decoding stops at ``</s>`` or after
    ``min(decode_max_len, length_ratio * |src| + length_slack)`` tokens; ``beam_size`` 1 or
    ``decoder=greedy`` is greedy. ``patience``: evaluations without a better valid nll before
    training stops (0 = never). ``init_scale``: std of the normal init of non-recurrent weights
    (recurrent ones are orthogonal); dl4mt's 0.01 suits its Adadelta, but with Adam (lr 0.001)
    a 128/256 model stays at the unigram loss (5.57 nats a token on Multi30k) for 200 steps,
    where 0.1 reaches 4.07.
    """

    name: str = "nmt"
    corpus_dir: str = ""
    src: str = "fr"
    tgt: str = "en"
    train_split: str = "train"
    valid_split: str = "val"
    test_split: str = "test_2016_flickr"
    tokenizer: str = "moses"
    subword_vocab_size: int = 8000
    lowercase: bool = False
    src_vocab_size: int = 30000
    tgt_vocab_size: int = 30000
    min_freq: int = 1
    max_len: int = 50
    batch_size: int = 32
    bucket: int = 20
    embedding_size: int = 512
    hidden_size: int = 1024
    init_scale: float = 0.1
    eval_batch_size: int = 64
    decoder: str = "beam"
    beam_size: int = 5
    length_norm: bool = True
    decode_max_len: int = 100
    length_ratio: float = 2.0
    length_slack: int = 10
    valid_bleu: bool = True
    patience: int = 0

    def __post_init__(self) -> None:
        for key in ("src", "tgt", "train_split", "valid_split", "test_split"):
            value = getattr(self, key)
            if not value or "/" in value or value.strip() != value:
                raise ConfigError(f"task.{key} must be a plain name, got {value!r}")
        if self.src == self.tgt:
            raise ConfigError(f"task.src and task.tgt are both {self.src!r}")
        if self.tokenizer not in TOKENIZERS:
            raise ConfigError(
                f"task.tokenizer={self.tokenizer!r} is not one of: {', '.join(TOKENIZERS)}"
            )
        if self.tokenizer == "sentencepiece":
            try:
                import sentencepiece  # noqa: F401
            except ImportError:
                raise ConfigError(
                    "task.tokenizer=sentencepiece needs the sentencepiece package "
                    "(pip install sentencepiece, or noisyexp[subword])"
                ) from None
        if self.decoder not in DECODERS:
            raise ConfigError(f"task.decoder={self.decoder!r} is not one of: beam, greedy")
        require_at_least(self, 0, "src_vocab_size", "tgt_vocab_size", "max_len", "patience")
        require_at_least(
            self,
            1,
            "min_freq",
            "batch_size",
            "bucket",
            "embedding_size",
            "hidden_size",
            "subword_vocab_size",
            "eval_batch_size",
            "beam_size",
            "decode_max_len",
            "length_slack",
        )
        for key in ("src_vocab_size", "tgt_vocab_size"):
            if 0 < getattr(self, key) < 5:
                raise ConfigError(f"task.{key} must be 0 (no limit) or >= 5")
        if not self.init_scale > 0:
            raise ConfigError(f"task.init_scale must be > 0, got {self.init_scale}")
        if not self.length_ratio > 0:
            raise ConfigError(f"task.length_ratio must be > 0, got {self.length_ratio}")


def make_tokenizers(
    cfg: NMTConfig,
    *,
    train: tuple[list[str], list[str]] | None = None,
    protos: dict[str, bytes] | None = None,
) -> dict[str, MosesTokenizer | SentencePieceTokenizer]:
    """The source and target tokenisers: Moses, or sentencepiece models learned from ``train``
    (source, target lines) or rebuilt from saved ``protos`` (language -> model bytes)."""
    langs = (cfg.src, cfg.tgt)
    if cfg.tokenizer == "moses":
        return {lang: MosesTokenizer(lang, lowercase=cfg.lowercase) for lang in langs}
    if protos is not None:
        return {
            lang: SentencePieceTokenizer(protos[lang], lowercase=cfg.lowercase) for lang in langs
        }
    if train is None:
        raise ValueError("sentencepiece tokenisers need the training lines or saved models")
    return {
        lang: SentencePieceTokenizer.train(lines, cfg.subword_vocab_size, lowercase=cfg.lowercase)
        for lang, lines in zip(langs, train, strict=True)
    }


def bleu_score(hypotheses: list[str], references: list[str]) -> float:
    """Corpus BLEU (sacrebleu's defaults: 13a tokenisation, exponential smoothing off)."""
    import sacrebleu

    return float(sacrebleu.corpus_bleu(hypotheses, [references]).score)


@torch.no_grad()
def decode(
    model: NMTModel, sources: list[list[int]], cfg: NMTConfig, device: torch.device
) -> list[list[int]]:
    """Translations (target ids without ``</s>``) of encoded sources, batched by length."""
    results: list[list[int]] = [[] for _ in sources]
    was_training = model.training
    model.eval()
    options = {
        "max_len": cfg.decode_max_len,
        "length_ratio": cfg.length_ratio,
        "length_slack": cfg.length_slack,
    }
    try:
        for rows in eval_batches([len(s) for s in sources], cfg.eval_batch_size):
            batch = make_batch([sources[i] for i in rows], [[3]] * len(rows), rows).to(device)
            if cfg.decoder == "greedy" or cfg.beam_size == 1:
                beams = greedy_search(model, batch.src, batch.src_mask, **options)
            else:
                beams = beam_search(
                    model,
                    batch.src,
                    batch.src_mask,
                    beam_size=cfg.beam_size,
                    length_norm=cfg.length_norm,
                    **options,
                )
            for index, beam in zip(batch.index.tolist(), beams, strict=True):
                results[index] = beam.tokens
    finally:
        model.train(was_training)
    return results


class NMTTask(Task):
    """Teacher-forced training, NLL and BLEU evaluation of :class:`NMTModel`."""

    primary_metric = "nll"
    cfg: NMTConfig

    def setup(self) -> None:
        cfg = self.cfg
        self.folder, self.dataset_name, files = self._files()
        raw = {}
        for role, split in (
            ("train", cfg.train_split),
            ("valid", cfg.valid_split),
            ("test", cfg.test_split),
        ):
            raw[role] = read_parallel(
                self.folder, split, cfg.src, cfg.tgt, dataset=self.dataset_name
            )
        self.references = {role: raw[role][1] for role in ("valid", "test")}
        self.tokenizers = make_tokenizers(cfg, train=raw["train"])
        tokens = {
            role: (
                [self.tokenizers[cfg.src].tokenize(line) for line in source],
                [self.tokenizers[cfg.tgt].tokenize(line) for line in target],
            )
            for role, (source, target) in raw.items()
        }
        kept, dropped = length_filter(*tokens["train"], cfg.max_len)
        if len(kept) < cfg.batch_size:
            raise DataError(
                f"{self.dataset_name}: {len(kept)} training pairs after length filtering "
                f"(task.max_len={cfg.max_len}), fewer than one batch of {cfg.batch_size}"
            )
        train_src = [tokens["train"][0][i] for i in kept]
        train_tgt = [tokens["train"][1][i] for i in kept]
        self.src_vocab = TokenVocabulary(
            train_src, max_size=cfg.src_vocab_size, min_freq=cfg.min_freq
        )
        self.tgt_vocab = TokenVocabulary(
            train_tgt, max_size=cfg.tgt_vocab_size, min_freq=cfg.min_freq
        )
        self.data = {"train": (train_src, train_tgt)}
        self.data.update({role: tokens[role] for role in ("valid", "test")})
        self.ids = {
            role: (
                [self.src_vocab.encode(s) for s in source],
                [self.tgt_vocab.encode(t) for t in target],
            )
            for role, (source, target) in self.data.items()
        }
        self.train_lengths = [max(len(s), len(t)) for s, t in zip(*self.ids["train"], strict=True)]
        self._steps_per_epoch = len(kept) // cfg.batch_size
        self._epoch_cache: tuple[int, tuple[tuple[int, ...], ...]] | None = None
        self.sizes = {
            "train": len(kept),
            "valid": len(raw["valid"][0]),
            "test": len(raw["test"][0]),
            "src_vocab": len(self.src_vocab),
            "tgt_vocab": len(self.tgt_vocab),
        }
        self.extra = {
            "folder": str(self.folder),
            "src": cfg.src,
            "tgt": cfg.tgt,
            "splits": [cfg.train_split, cfg.valid_split, cfg.test_split],
            "train_pairs_read": len(raw["train"][0]),
            **dropped,
            "files": files,
        }
        self.checksum = combined_checksum(files)
        self.best_nll: float | None = None
        self.evals_since_best = 0

    # ---- data ----------------------------------------------------------------------------
    def _files(self) -> tuple[Path, str, dict[str, str]]:
        """The corpus folder, the data set's name and the md5 of each file read."""
        cfg = self.cfg
        default = self.data_dir / "multi30k"
        folder = Path(cfg.corpus_dir).expanduser() if cfg.corpus_dir else default
        is_multi30k = folder.resolve() == default.resolve()
        name = "multi30k" if is_multi30k else "nmt"
        if not folder.is_dir() and not is_multi30k:
            raise DataError(
                f"nmt: task.corpus_dir={folder} is not a folder; it must hold "
                "<split>.<lang>[.gz] files (e.g. train.fr.gz, train.en.gz)"
            )
        needed = [
            (split, lang)
            for split in (cfg.train_split, cfg.valid_split, cfg.test_split)
            for lang in (cfg.src, cfg.tgt)
        ]
        verified: dict[str, str] = {}
        if is_multi30k:  # published files: checked, fetched when missing
            found = {f"{split}.{lang}": corpus_file(folder, split, lang) for split, lang in needed}
            known = published.multi30k_files(
                {stem: path.name if path else None for stem, path in found.items()}
            )
            verified.update(ensure_files(folder, known, dataset="multi30k", download=self.download))
        for split, lang in needed:  # after a download: the files now on disk
            path = corpus_file(folder, split, lang)
            if path is not None and path.name not in verified:
                verified[path.name] = md5_file(path)
        return folder, name, verified

    def dataset_info(self) -> DatasetInfo:
        return DatasetInfo(
            name=self.dataset_name, checksum=self.checksum, sizes=dict(self.sizes), extra=self.extra
        )

    def build_model(self, units: Units) -> nn.Module:
        cfg = self.cfg
        model = NMTModel(
            len(self.src_vocab),
            len(self.tgt_vocab),
            cfg.embedding_size,
            cfg.hidden_size,
            units,
            init_scale=cfg.init_scale,
        )
        return model.to(self.device)

    def steps_per_epoch(self) -> int:
        return self._steps_per_epoch

    def _batch_rows(self, step: int) -> tuple[int, ...]:
        epoch, index = divmod(step, self._steps_per_epoch)
        if self._epoch_cache is None or self._epoch_cache[0] != epoch:
            batches = epoch_batches(
                self.train_lengths, self.cfg.batch_size, self.cfg.bucket, self.seed, epoch
            )
            self._epoch_cache = (epoch, batches)
        return self._epoch_cache[1][index]

    def train_step(self, model: nn.Module, step: int) -> StepOutput:
        """NLL of batch ``step``: summed over its target tokens, divided by its sentences."""
        rows = self._batch_rows(step)
        source, target = self.ids["train"]
        batch = make_batch([source[i] for i in rows], [target[i] for i in rows], rows)
        batch = batch.to(self.device)
        logits = model(batch.src, batch.src_mask, batch.tgt_in, batch.tgt_mask)
        gold = batch.tgt_out[batch.tgt_mask]  # t-major, as the logits
        total = F.cross_entropy(logits, gold, reduction="sum")
        tokens = gold.numel()
        return StepOutput(
            loss=total / batch.size, num_items=tokens, reported_loss=(total / tokens).detach()
        )

    # ---- evaluation ----------------------------------------------------------------------
    @torch.no_grad()
    def score(self, model: nn.Module, role: str) -> dict[str, float]:
        """NLL per sentence and per token of a split (teacher forcing, eval mode)."""
        source, target = self.ids[role]
        total, tokens = 0.0, 0
        for rows in eval_batches([len(t) for t in target], self.cfg.eval_batch_size):
            batch = make_batch([source[i] for i in rows], [target[i] for i in rows], rows)
            batch = batch.to(self.device)
            logits = model(batch.src, batch.src_mask, batch.tgt_in, batch.tgt_mask)
            gold = batch.tgt_out[batch.tgt_mask]
            total += float(F.cross_entropy(logits.double(), gold, reduction="sum"))
            tokens += gold.numel()
        per_token = total / max(tokens, 1)
        return {
            "nll": total / max(len(target), 1),
            "nll_token": per_token,
            "ppl": math.exp(min(per_token, 700.0)),
        }

    def translate_split(self, model: nn.Module, role: str) -> list[str]:
        """Detokenised translations of a split's source side."""
        outputs = decode(model, self.ids[role][0], self.cfg, self.device)
        detok = self.tokenizers[self.cfg.tgt]
        return [detok.detokenize(self.tgt_vocab.decode(ids)) for ids in outputs]

    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        """NLL (per sentence, per token), ppl and BLEU (the trainer picks the weights: best.pt's for
        the test split, ``trainer.test_weights=best``)."""
        if split not in ("valid", "test"):
            raise ValueError(f"split must be 'valid' or 'test', got {split!r}")
        was_training = model.training
        model.eval()
        try:
            metrics = self.score(model, split)
            if split == "test" or self.cfg.valid_bleu:
                hypotheses = self.translate_split(model, split)
                metrics["bleu"] = bleu_score(hypotheses, self.references[split])
                self._write(f"{split}.txt", hypotheses)
        finally:
            model.train(was_training)
        return metrics

    def _write(self, name: str, lines: list[str]) -> None:
        if self.output_dir is None:
            return
        folder = self.output_dir / "translations"
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(folder / name, "".join(f"{line}\n" for line in lines))

    def on_evaluate(self, metrics: dict[str, float], step: int) -> None:
        """Count evaluations without a better valid nll (early stopping); keep best's output."""
        nll = metrics.get("valid/nll")
        if nll is None:
            return
        if self.best_nll is None or nll < self.best_nll:
            self.best_nll, self.evals_since_best = nll, 0
            folder = None if self.output_dir is None else self.output_dir / "translations"
            if folder is not None and (folder / "valid.txt").is_file():
                shutil.copyfile(folder / "valid.txt", folder / "valid.best.txt")
        else:
            self.evals_since_best += 1

    def should_stop(self) -> bool:
        """After ``patience`` evaluations without a better valid nll (never when 0)."""
        return 0 < self.cfg.patience <= self.evals_since_best

    def state_dict(self) -> dict[str, Any]:
        """Early-stopping counters, vocabularies and subword models (``noisyexp translate``)."""
        state: dict[str, Any] = {
            "best_nll": self.best_nll,
            "evals_since_best": self.evals_since_best,
            "src_vocab": self.src_vocab.to_list(),
            "tgt_vocab": self.tgt_vocab.to_list(),
        }
        for lang, tokenizer in self.tokenizers.items():  # subword models, as uint8 tensors
            if isinstance(tokenizer, SentencePieceTokenizer):
                proto = bytearray(tokenizer.proto)
                state[f"sentencepiece_{lang}"] = torch.frombuffer(proto, dtype=torch.uint8)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_nll = state["best_nll"]
        self.evals_since_best = int(state["evals_since_best"])
        if state["src_vocab"] != self.src_vocab.to_list():
            raise CheckpointError("the corpus gives other vocabularies than the checkpoint's")
