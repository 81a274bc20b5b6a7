"""Learning to Execute (paper §6.2, Table 1 and ICML Fig 8; Zaremba & Sutskever 2014).

An LSTM reads a short Python-like program character by character and predicts what it prints.
The paper took the original code (``wojciechz/learning_to_execute``) and replaced every sigmoid
and tanh with NAH units; both models train with the "combined" curriculum towards length 6,
nesting 3. Paper: test accuracy 46.45 % (reference) and 48.09 % (NAH).

Data (:mod:`noisyexp.data.programs`, :mod:`noisyexp.data.lte_curriculum`). Samples
``<program>@<output>.`` are generated on the fly and split three ways by a hash of their text,
as in the original: training keeps hash 0, validation 1, test 2, so no text is in two splits.

Training, as the original ``main.lua``: ``batch_size`` columns, each an endless stream of
concatenated samples; a step reads the next ``unroll`` (50) characters of every column and
carries the LSTM state to the next step (truncated BPTT; the state is zeroed at each epoch of
``steps_per_epoch`` = 200 steps, when the original loads new data). The difficulty of each new
program of a column comes from the curriculum (``strategy``). Program k of column j is drawn
from a generator seeded with ``(seed, j, k)``; the column buffers, program counters, carried
state, curriculum and running training accuracy are the task's ``state_dict``, so a resumed run
continues bit for bit. Only output characters are scored: from ``@`` on, each position predicts
the next output character, ending with ``.``. The loss is the original's: the NLL summed over
the scored characters of the window divided by the number of columns (``reported_loss`` is the
mean NLL per scored character).

Metric: ``accuracy``, the percentage of output characters (the ``.`` included) whose most likely
prediction is right (:func:`char_accuracy`). ``train/accuracy`` is the running accuracy of the
training steps since the last evaluation (dropout and noise on, as the original's "Training
acc."). ``valid/accuracy`` and ``test/accuracy`` are on fixed sets at the target difficulty drawn
from ``data_seed`` (the same for every run seed), evaluated with the state carried through
``eval_columns`` streams of whole samples; ``valid/curriculum_accuracy`` is on a fixed validation
set at the current difficulty and drives the curriculum (raise above ``threshold``, or when the
training accuracy fell below its value ``window`` evaluations back).

Not followed: the original multiplies its learning rate by 0.8 each time the curriculum cannot be
raised and stops below 1e-3; here the trainer owns the learning rate and the budget, and
``valid/curriculum_exhausted`` counts those events.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from noisyexp.activations.roles import Units
from noisyexp.core.errors import ConfigError
from noisyexp.core.rng import derived_seed
from noisyexp.data.lte_curriculum import STRATEGIES, Curriculum
from noisyexp.data.programs import VOCAB, DifficultySampler, generate_program, sample_text, split_of
from noisyexp.models.program_lstm import ProgramLSTM
from noisyexp.tasks.base import DatasetInfo, StepOutput, Task, require_at_least

__all__ = ["LTEConfig", "LTETask", "char_accuracy", "encode_sample"]

IGNORE = -100  # target of a position that is not scored
PAD = 0  # VOCAB[0]
_CHAR_ID = {char: index for index, char in enumerate(VOCAB)}
_TRAIN, _VALID, _TEST = 0, 1, 2  # hash classes of the splits, as the original's ``kind``


@dataclass
class LTEConfig:
    """Config of ``task=lte``; defaults are the original code's (``main.lua``).

    Attributes:
        name: task name.
        target_length: constants of up to this many digits at the target difficulty.
        target_nesting: operations composed at the target difficulty.
        strategy: curriculum: baseline, naive, mix or combined (= the original's blend).
        threshold: validation accuracy (fraction, current difficulty) above which it is raised.
        window: raise also when the training accuracy is below its value this many evaluations
            back.
        batch_size: columns (parallel streams) of a training step.
        unroll: characters per column and step (truncated BPTT length).
        steps_per_epoch: steps of one "epoch" (the original: 10001-character columns / 50).
        hidden_size: embedding and LSTM size.
        num_layers: LSTM layers.
        dropout: dropout on each layer's input.
        init_scale: every weight U(±init_scale).
        valid_size: programs of each fixed validation set (target and current difficulty).
        test_size: programs of the fixed test set (target difficulty).
        eval_columns: streams the validation and test programs are packed into.
        data_seed: seed of the validation and test sets (shared by every run seed).
    """

    name: str = "lte"
    target_length: int = 6
    target_nesting: int = 3
    strategy: str = "combined"
    threshold: float = 0.95
    window: int = 5
    batch_size: int = 100
    unroll: int = 50
    steps_per_epoch: int = 200
    hidden_size: int = 400
    num_layers: int = 2
    dropout: float = 0.5
    init_scale: float = 0.08
    valid_size: int = 500
    test_size: int = 1000
    eval_columns: int = 100
    data_seed: int = 0

    def __post_init__(self) -> None:
        require_at_least(
            self,
            1,
            "target_length",
            "target_nesting",
            "window",
            "batch_size",
            "unroll",
            "steps_per_epoch",
            "hidden_size",
            "num_layers",
            "valid_size",
            "test_size",
            "eval_columns",
        )
        if self.strategy not in (*STRATEGIES, "blend"):
            raise ConfigError(
                f"task.strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}"
            )
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"task.threshold must be in (0, 1], got {self.threshold}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"task.dropout must be in [0, 1), got {self.dropout}")
        if self.init_scale <= 0:
            raise ConfigError(f"task.init_scale must be > 0, got {self.init_scale}")


def encode_sample(program_text: str, output_text: str) -> tuple[list[int], list[int]]:
    """Inputs and aligned targets of one sample ``program_text + output_text``.

    ``program_text`` ends with ``@`` and ``output_text`` with ``.``. The target of position i is
    the character i + 1 when that character is part of the output, else :data:`IGNORE`: the
    positions from ``@`` to the last output digit are scored, the final ``.`` is not an input
    that predicts anything.
    """
    text = program_text + output_text
    inputs = [_CHAR_ID[char] for char in text]
    first = len(program_text) - 1  # the position of "@"
    targets = [IGNORE] * len(text)
    targets[first : len(text) - 1] = inputs[first + 1 :]
    return inputs, targets


def char_accuracy(logits: torch.Tensor, targets: torch.Tensor) -> tuple[int, int]:
    """``(correct, scored)``: scored positions (target != IGNORE) whose argmax is the target."""
    scored = targets != IGNORE
    correct = (logits.argmax(-1) == targets) & scored
    return int(correct.sum()), int(scored.sum())


def _draw_sample(rng: random.Random, sampler: DifficultySampler, kind: int) -> tuple[str, str]:
    """The next sample of hash class ``kind`` (the others are drawn and dropped, as originally)."""
    while True:
        program_text, output_text = sample_text(generate_program(rng, sampler))
        if split_of(program_text + output_text) == kind:
            return program_text, output_text


def _fixed_samples(
    count: int, difficulty: tuple[int, int], kind: int, *seed: int
) -> list[tuple[str, str]]:
    rng = random.Random(derived_seed(*seed))
    return [_draw_sample(rng, lambda: difficulty, kind) for _ in range(count)]


def _pack(samples: list[tuple[str, str]], columns: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Samples dealt round-robin into ``columns`` streams, padded: (T, B) inputs and targets."""
    columns = max(1, min(columns, len(samples)))
    streams: list[tuple[list[int], list[int]]] = [([], []) for _ in range(columns)]
    for index, sample in enumerate(samples):
        inputs, targets = encode_sample(*sample)
        streams[index % columns][0].extend(inputs)
        streams[index % columns][1].extend(targets)
    length = max(len(inputs) for inputs, _ in streams)
    x = torch.full((length, columns), PAD, dtype=torch.long)
    y = torch.full((length, columns), IGNORE, dtype=torch.long)
    for column, (inputs, targets) in enumerate(streams):
        x[: len(inputs), column] = torch.tensor(inputs)
        y[: len(targets), column] = torch.tensor(targets)
    return x, y


class LTETask(Task):
    """Learning to Execute; see the module docstring."""

    primary_metric = "accuracy"
    higher_is_better = True
    eval_splits = ("train", "valid")

    cfg: LTEConfig

    def setup(self) -> None:
        cfg = self.cfg
        self.curriculum = Curriculum(
            strategy=cfg.strategy,
            target_length=cfg.target_length,
            target_nesting=cfg.target_nesting,
            threshold=cfg.threshold,
            window=cfg.window,
        )
        target = self.curriculum.target
        self.fixed = {
            "valid": _pack(
                _fixed_samples(cfg.valid_size, target, _VALID, cfg.data_seed, _VALID, *target),
                cfg.eval_columns,
            ),
            "test": _pack(
                _fixed_samples(cfg.test_size, target, _TEST, cfg.data_seed, _TEST, *target),
                cfg.eval_columns,
            ),
        }
        self._current_valid: tuple[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] | None = None
        self._reset_streams()

    def _reset_streams(self) -> None:
        self.pending: list[tuple[list[int], list[int]]] = [
            ([], []) for _ in range(self.cfg.batch_size)
        ]
        self.programs_drawn = [0] * self.cfg.batch_size
        self.hidden: tuple[torch.Tensor, torch.Tensor] | None = None
        self.next_step = 0
        self.train_correct, self.train_scored = 0, 0

    def dataset_info(self) -> DatasetInfo:
        digest = hashlib.sha256()
        for split in ("valid", "test"):
            digest.update(self.fixed[split][0].numpy().tobytes())
        cfg = self.cfg
        return DatasetInfo(
            name="lte",
            checksum=f"generated:{digest.hexdigest()[:16]}",
            sizes={"valid": cfg.valid_size, "test": cfg.test_size},
            extra={
                "target_length": cfg.target_length,
                "target_nesting": cfg.target_nesting,
                "strategy": self.curriculum.strategy,
                "data_seed": cfg.data_seed,
            },
        )

    def build_model(self, units: Units) -> nn.Module:
        cfg = self.cfg
        return ProgramLSTM(
            len(VOCAB),
            cfg.hidden_size,
            cfg.num_layers,
            gate_unit=units.gate,
            cell_unit=units.cell,
            dropout=cfg.dropout,
            init_scale=cfg.init_scale,
        ).to(self.device)

    def steps_per_epoch(self) -> int:
        return self.cfg.steps_per_epoch

    # ---- training stream ---------------------------------------------------------------
    def _window(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next ``unroll`` characters of every column, refilling columns with new samples."""
        cfg = self.cfg
        x = torch.empty((cfg.unroll, cfg.batch_size), dtype=torch.long)
        y = torch.empty((cfg.unroll, cfg.batch_size), dtype=torch.long)
        for column, (inputs, targets) in enumerate(self.pending):
            while len(inputs) < cfg.unroll:
                rng = random.Random(derived_seed(self.seed, column, self.programs_drawn[column]))
                self.programs_drawn[column] += 1
                new_inputs, new_targets = encode_sample(
                    *_draw_sample(rng, self.curriculum.sampler(rng), _TRAIN)
                )
                inputs.extend(new_inputs)
                targets.extend(new_targets)
            x[:, column] = torch.tensor(inputs[: cfg.unroll])
            y[:, column] = torch.tensor(targets[: cfg.unroll])
            del inputs[: cfg.unroll], targets[: cfg.unroll]
        return x.to(self.device), y.to(self.device)

    def train_step(self, model: nn.Module, step: int) -> StepOutput:
        """NLL of the next window of every column, from the carried state.

        The state is zeros at the start of an epoch (and when ``step`` does not follow the last
        step trained).
        """
        if step % self.cfg.steps_per_epoch == 0 or step != self.next_step:
            self.hidden = None
        inputs, targets = self._window()
        logits, state = model(inputs, self.hidden)  # (T, B, V)
        self.hidden = (state[0].detach(), state[1].detach())
        self.next_step = step + 1
        flat_logits, flat_targets = logits.reshape(-1, logits.size(-1)), targets.reshape(-1)
        nll = F.cross_entropy(flat_logits, flat_targets, ignore_index=IGNORE, reduction="sum")
        correct, scored = char_accuracy(logits.detach(), targets)
        self.train_correct += correct
        self.train_scored += scored
        return StepOutput(
            loss=nll / self.cfg.batch_size,
            num_items=scored,
            reported_loss=nll.detach() / max(1, scored),
        )

    # ---- evaluation --------------------------------------------------------------------
    def _current_valid_set(self) -> tuple[torch.Tensor, torch.Tensor]:
        current = self.curriculum.current
        if current == self.curriculum.target:
            return self.fixed["valid"]
        if self._current_valid is None or self._current_valid[0] != current:
            cfg = self.cfg
            samples = _fixed_samples(
                cfg.valid_size, current, _VALID, cfg.data_seed, _VALID, *current
            )
            self._current_valid = (current, _pack(samples, cfg.eval_columns))
        return self._current_valid[1]

    @torch.no_grad()
    def _score(self, model: nn.Module, data: tuple[torch.Tensor, torch.Tensor]) -> dict[str, float]:
        inputs, targets = (part.to(self.device) for part in data)
        was_training = model.training
        model.eval()
        try:
            logits, _ = model(inputs)
        finally:
            model.train(was_training)
        nll = F.cross_entropy(
            logits.reshape(-1, logits.size(-1)),
            targets.reshape(-1),
            ignore_index=IGNORE,
            reduction="sum",
        )
        correct, scored = char_accuracy(logits, targets)
        return {"accuracy": 100.0 * correct / scored, "loss": float(nll) / scored}

    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        if split == "train":  # the running accuracy of the training steps since the last one
            if self.train_scored == 0:
                return {}
            return {"accuracy": 100.0 * self.train_correct / self.train_scored}
        if split not in ("valid", "test"):
            raise ValueError(f"split must be 'train', 'valid' or 'test', got {split!r}")
        metrics = self._score(model, self.fixed[split])
        if split == "valid":
            current = self.curriculum.current
            metrics["curriculum_accuracy"] = (
                metrics["accuracy"]
                if current == self.curriculum.target
                else self._score(model, self._current_valid_set())["accuracy"]
            )
            metrics["curriculum_length"] = float(current[0])
            metrics["curriculum_nesting"] = float(current[1])
            metrics["curriculum_exhausted"] = float(self.curriculum.exhausted)
        return metrics

    def on_evaluate(self, metrics: dict[str, float], step: int) -> None:
        """The original's rule: raise the difficulty on valid accuracy > threshold or a plateau."""
        valid = metrics.get("valid/curriculum_accuracy")
        train = metrics.get("train/accuracy")
        if valid is not None and train is not None:
            self.curriculum.update(valid / 100.0, train / 100.0)
        self.train_correct, self.train_scored = 0, 0

    # ---- state -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        hidden = [] if self.hidden is None else [part.cpu() for part in self.hidden]
        return {
            "curriculum": self.curriculum.state_dict(),
            "pending_inputs": [list(inputs) for inputs, _ in self.pending],
            "pending_targets": [list(targets) for _, targets in self.pending],
            "programs_drawn": list(self.programs_drawn),
            "hidden": hidden,
            "next_step": self.next_step,
            "train_correct": self.train_correct,
            "train_scored": self.train_scored,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.curriculum.load_state_dict(state["curriculum"])
        self.pending = [
            (list(inputs), list(targets))
            for inputs, targets in zip(
                state["pending_inputs"], state["pending_targets"], strict=True
            )
        ]
        self.programs_drawn = [int(n) for n in state["programs_drawn"]]
        hidden = [part.to(self.device) for part in state["hidden"]]
        self.hidden = (hidden[0], hidden[1]) if hidden else None
        self.next_step = int(state["next_step"])
        self.train_correct = int(state["train_correct"])
        self.train_scored = int(state["train_scored"])
