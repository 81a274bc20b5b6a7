"""Word-level language modelling: Penn Treebank (``ptb``, Table 2) and any corpus (``wordlm``).

Training follows Zaremba et al. (2014): the training stream is cut into ``batch_size`` columns
(:func:`noisyexp.data.text.batchify`), step ``s`` trains on BPTT window ``s % steps_per_epoch``,
the hidden state is carried from window to window (detached) and reset to zeros at the start of
each epoch; the loss is the mean negative log-likelihood per token.

Evaluation scores every token of a split after the first: the split is cut into
``eval_batch_size`` (valid) or ``test_batch_size`` (test) columns and read window by window, the
state carried from each column's start; ppl = exp(total NLL / number of predicted tokens). The
defaults follow Zaremba's code: valid in 20 columns (20 zero-state starts, up to 19 tail tokens
dropped by batchify), test as one stream over the whole split (``test_batch_size=1``, no token
dropped). One stream is the most faithful and the slowest: PTB test takes ~40 s on one CPU core
with reference units (fused kernel), ~90 s with noisy ones; valid in 20 streams ~10 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from noisyexp.activations.roles import Units
from noisyexp.core.errors import ConfigError, DataError
from noisyexp.data import published
from noisyexp.data.files import combined_checksum, ensure_files, md5_file
from noisyexp.data.text import (
    EOS,
    UNK,
    Vocabulary,
    batchify,
    get_window,
    iter_windows,
    num_windows,
    read_text,
    word_tokens,
)
from noisyexp.models.rnn_lm import (
    CELLS,
    RNNLanguageModel,
    RNNState,
    detach_state,
    state_tensors,
)
from noisyexp.tasks.base import DatasetInfo, StepOutput, Task, require_at_least

__all__ = [
    "LanguageModelConfig",
    "PTBConfig",
    "WordLMConfig",
    "LanguageModelTask",
    "PTBTask",
    "WordLMTask",
]

SPLITS = ("train", "valid", "test")


@dataclass
class LanguageModelConfig:
    """Recurrent language model and its batching; defaults = Zaremba's small PTB configuration.

    ``init_scale`` is the half-width of the uniform weight init; ``eval_batch_size`` and
    ``test_batch_size`` the number of parallel streams when scoring valid and test (1 = one
    stream over the whole split, see the module doc).
    """

    name: str = "ptb"
    batch_size: int = 20
    bptt: int = 20
    embedding_size: int = 200
    hidden_size: int = 200
    num_layers: int = 2
    cell: str = "lstm"
    dropout: float = 0.0
    tie_weights: bool = False
    init_scale: float = 0.1
    eval_batch_size: int = 20
    test_batch_size: int = 1
    # Zaremba's code backpropagates the NLL summed over the unrolled steps (averaged over the
    # batch), so its "lr 1, clip 5" act on a gradient bptt times that of the per-token mean.
    sum_over_time: bool = True

    def __post_init__(self) -> None:
        require_at_least(
            self,
            1,
            "batch_size",
            "bptt",
            "embedding_size",
            "hidden_size",
            "num_layers",
            "eval_batch_size",
            "test_batch_size",
        )
        if self.cell not in CELLS:
            raise ConfigError(f"task.cell={self.cell!r} is not one of: {', '.join(CELLS)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"task.dropout must be in [0, 1), got {self.dropout}")
        if not self.init_scale > 0:
            raise ConfigError(f"task.init_scale must be > 0, got {self.init_scale}")
        if self.tie_weights and self.embedding_size != self.hidden_size:
            raise ConfigError(
                "task.tie_weights needs task.embedding_size == task.hidden_size, got "
                f"{self.embedding_size} and {self.hidden_size}"
            )


@dataclass
class PTBConfig(LanguageModelConfig):
    """Penn Treebank, word level, read from ``<paths.data_dir>/ptb``."""

    name: str = "ptb"


@dataclass
class WordLMConfig(LanguageModelConfig):
    """Any word corpus laid out as ``corpus_dir/{train,valid,test}.txt`` (checked when loading)."""

    name: str = "wordlm"
    corpus_dir: str = ""


@dataclass
class _StaticBuffers:
    """The tensors a captured training step reads: the window and the carried state."""

    inputs: torch.Tensor  # (T, B) int64
    targets: torch.Tensor  # (T, B) int64
    state: RNNState  # what the model takes: a GRU's h, an LSTM's (h, c)


class LanguageModelTask(Task):
    """Truncated-BPTT training and carried-state evaluation of a :class:`RNNLanguageModel`.

    Subclasses implement :meth:`_load` (token lists of the three splits and a checksum) and may
    override :meth:`_metrics` (word level: ppl; char level: bpc).
    """

    primary_metric = "ppl"
    dataset_name = "wordlm"
    supports_static_step = True

    cfg: LanguageModelConfig

    def setup(self) -> None:
        cfg, device = self.cfg, self.device
        splits, self._checksum, self._extra = self._load()
        self.vocab = Vocabulary(splits["train"])
        self.vocab.add(EOS)
        unknown = sum(t not in self.vocab for s in ("valid", "test") for t in splits[s])
        if unknown:  # words never seen in training are scored as <unk>
            self.vocab.add(UNK)
        self._extra["unknown_eval_tokens"] = unknown
        self.sizes = {split: len(tokens) for split, tokens in splits.items()}
        self.sizes["vocab"] = len(self.vocab)
        self.ids = {
            split: self.vocab.encode(tokens, unknown=UNK if unknown else None).to(device)
            for split, tokens in splits.items()
        }
        self.train_data = batchify(self.ids["train"], cfg.batch_size)  # (rows, B)
        self._steps_per_epoch = num_windows(self.train_data.size(0), cfg.bptt, drop_last=True)
        if self._steps_per_epoch < 1:
            raise DataError(
                f"{self.dataset_name}: the training split ({self.sizes['train']} tokens) is "
                f"shorter than one window of task.batch_size x task.bptt "
                f"= {cfg.batch_size} x {cfg.bptt} (+1) tokens"
            )
        self._state: RNNState = None
        self._next_step = 0
        self._static: _StaticBuffers | None = None  # trainer.cuda_graphs: see static_batch
        self._pending: RNNState = None  # static_forward's new state, until static_carry

    def _load(self) -> tuple[dict[str, list[str]], str, dict[str, Any]]:
        """Token lists of train/valid/test, the data set checksum, extra summary fields."""
        raise NotImplementedError

    def _metrics(self, loss: float) -> dict[str, float]:
        return {"loss": loss, "ppl": math.exp(min(loss, 700.0))}

    def dataset_info(self) -> DatasetInfo:
        """Token counts per split (with ``<eos>``) and the vocabulary size."""
        return DatasetInfo(
            name=self.dataset_name,
            checksum=self._checksum,
            sizes=dict(self.sizes),
            extra=dict(self._extra),
        )

    def build_model(self, units: Units) -> nn.Module:
        """The recurrent language model, its units from ``units``, on the task's device."""
        cfg = self.cfg
        model = RNNLanguageModel(
            len(self.vocab),
            cfg.embedding_size,
            cfg.hidden_size,
            cfg.num_layers,
            gate_unit=units.gate,
            cell_unit=units.cell,
            cell=cfg.cell,
            dropout=cfg.dropout,
            tie_weights=cfg.tie_weights,
            init_scale=cfg.init_scale,
        )
        return model.to(self.device)

    def steps_per_epoch(self) -> int:
        """Full BPTT windows in the batchified training stream."""
        return self._steps_per_epoch

    def train_step(self, model: nn.Module, step: int) -> StepOutput:
        """NLL of window ``step % steps_per_epoch``, from the carried state.

        The loss to backpropagate is the per-token mean times the window length when
        ``sum_over_time`` (Zaremba's scaling); the logged loss is always the per-token mean.

        The state is zeros at the start of an epoch, and also when ``step`` does not follow the
        last step trained (a state from another window would be meaningless).
        """
        window = step % self._steps_per_epoch
        if self._starts_fresh(step):
            self._state = None
        inputs, targets = get_window(self.train_data, window, self.cfg.bptt)  # (T, B) each
        output, state = self._window_loss(model, inputs, targets, self._state)
        self._state = detach_state(state)
        self._next_step = step + 1
        return output

    def _starts_fresh(self, step: int) -> bool:
        """Whether ``step`` starts from zeros: an epoch's first window, or not the next step."""
        return step % self._steps_per_epoch == 0 or step != self._next_step

    def _window_loss(
        self, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, state: RNNState
    ) -> tuple[StepOutput, RNNState]:
        logits, state = model(inputs, state)  # (T, B, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        scale = inputs.size(0) if self.cfg.sum_over_time else 1  # window length, see the config
        output = StepOutput(loss=loss * scale, num_items=targets.numel(), reported_loss=loss)
        return output, state

    # ---- the static-buffer step (trainer.cuda_graphs) ------------------------------------
    def static_batch(self, model: nn.Module, step: int) -> int:
        """Window ``step`` into the input/target buffers; the state buffers zeroed for a fresh
        start, else loaded from the carried state when it lives elsewhere (after a resume or
        a plain step)."""
        inputs, targets = get_window(self.train_data, step % self._steps_per_epoch, self.cfg.bptt)
        if self._static is None:  # every training window is full length: shapes never change
            self._static = _StaticBuffers(
                torch.empty_like(inputs),
                torch.empty_like(targets),
                model.zero_state(inputs.size(1)),
            )
        buffers = self._static
        buffers.inputs.copy_(inputs)
        buffers.targets.copy_(targets)
        if self._starts_fresh(step) or self._state is None:
            for part in state_tensors(buffers.state):
                part.zero_()
        elif self._state is not buffers.state:
            for part, value in zip(
                state_tensors(buffers.state), state_tensors(self._state), strict=True
            ):
                part.copy_(value)
        self._state = buffers.state
        self._next_step = step + 1
        return targets.numel()

    def static_forward(self, model: nn.Module) -> StepOutput:
        """The window's loss from the state buffers; the new state waits for :meth:`static_carry`
        (the backward pass still reads the old one)."""
        buffers = self._static
        if buffers is None:
            raise RuntimeError("static_forward before static_batch")
        output, self._pending = self._window_loss(
            model, buffers.inputs, buffers.targets, buffers.state
        )
        return output

    def static_carry(self) -> None:
        """The last window's final state into the state buffers, in place."""
        if self._static is None or self._pending is None:
            raise RuntimeError("static_carry without a static_forward before it")
        for part, value in zip(
            state_tensors(self._static.state), state_tensors(self._pending), strict=True
        ):
            part.copy_(value.detach())
        self._pending = None

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        """Loss (mean NLL per predicted token, nats) and perplexity over the whole split."""
        if split not in ("valid", "test"):
            raise ValueError(f"split must be 'valid' or 'test', got {split!r}")
        streams = self.cfg.eval_batch_size if split == "valid" else self.cfg.test_batch_size
        data = batchify(self.ids[split], max(1, min(streams, self.sizes[split] // 2)))  # (rows, B)
        was_training = model.training
        model.eval()
        total, count, state = 0.0, 0, None
        windows = num_windows(data.size(0), self.cfg.bptt, drop_last=False)
        try:
            for done, (inputs, targets) in enumerate(
                iter_windows(data, self.cfg.bptt, drop_last=False), 1
            ):
                logits, state = model(inputs, state)  # (T, B, V)
                nll = F.cross_entropy(
                    logits.reshape(-1, logits.size(-1)), targets.reshape(-1), reduction="sum"
                )
                total += float(nll)
                count += targets.numel()
                if self.eval_progress is not None:
                    self.eval_progress(split, done, windows)
        finally:
            model.train(was_training)
        return self._metrics(total / count)

    def state_dict(self) -> dict[str, Any]:
        """The carried hidden state (tensors on the CPU) and the step it is for."""
        state = self._state
        parts = state_tensors(state)
        return {
            "next_step": self._next_step,
            "hidden": [part.cpu() for part in parts],
            "is_tuple": not torch.is_tensor(state),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output (so a resumed run continues bit for bit)."""
        self._next_step = int(state["next_step"])
        parts = [part.to(self.device) for part in state["hidden"]]
        if not parts:
            self._state = None
        elif state["is_tuple"]:
            self._state = tuple(parts)
        else:
            self._state = parts[0]


class PTBTask(LanguageModelTask):
    """Penn Treebank word level: ``ptb.{train,valid,test}.txt`` in ``data_dir/ptb``, md5-checked."""

    dataset_name = "ptb"

    @staticmethod
    def tokenize(text: str) -> list[str]:
        """Words of a split, ``<eos>`` after each line."""
        return word_tokens(text)

    def _load(self) -> tuple[dict[str, list[str]], str, dict[str, Any]]:
        folder = self.data_dir / "ptb"
        verified = ensure_files(folder, published.PTB_FILES, dataset="ptb", download=self.download)
        splits = {split: self.tokenize(read_text(folder / f"ptb.{split}.txt")) for split in SPLITS}
        return splits, combined_checksum(verified), {"folder": str(folder), "files": verified}


class WordLMTask(LanguageModelTask):
    """A user's corpus: ``corpus_dir/{train,valid,test}.txt``, read as is (no checksum check)."""

    dataset_name = "wordlm"

    def _load(self) -> tuple[dict[str, list[str]], str, dict[str, Any]]:
        folder = _corpus_folder(self.cfg.corpus_dir)
        verified = {f"{split}.txt": md5_file(folder / f"{split}.txt") for split in SPLITS}
        splits = {split: word_tokens(read_text(folder / f"{split}.txt")) for split in SPLITS}
        for split, tokens in splits.items():  # checked before training, naming the file
            words = sum(token != EOS for token in tokens)
            if words < _MIN_SPLIT_WORDS:
                raise DataError(
                    f"wordlm: {folder / f'{split}.txt'} holds {words} word(s); every split "
                    f"needs at least {_MIN_SPLIT_WORDS} to train or score a language model"
                )
        return splits, combined_checksum(verified), {"folder": str(folder), "files": verified}


#: fewest words a wordlm split may hold (one word leaves nothing to predict after <eos>)
_MIN_SPLIT_WORDS = 2


def _corpus_folder(corpus_dir: str) -> Path:
    """The corpus folder, checked to hold the three files.

    Raises:
        ConfigError: ``task.corpus_dir`` is not set.
        DataError: the folder or one of its files is missing.
    """
    if not corpus_dir:
        raise ConfigError(
            "task.corpus_dir is not set; pass task.corpus_dir=DIR, a folder holding "
            "train.txt, valid.txt and test.txt"
        )
    folder = Path(corpus_dir).expanduser()
    missing = [f"{split}.txt" for split in SPLITS if not (folder / f"{split}.txt").is_file()]
    if missing:
        raise DataError(
            f"wordlm: {folder} lacks {', '.join(missing)}; task.corpus_dir must hold "
            "train.txt, valid.txt and test.txt"
        )
    return folder
