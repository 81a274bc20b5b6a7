"""Tests of the NTM tasks: copy and associative-recall generators, metrics, determinism."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from noisyexp.core.errors import ConfigError
from noisyexp.data.ntm_sequences import make_copy_batch, make_recall_batch
from noisyexp.models.ntm import NTM
from noisyexp.tasks import ntm_tasks
from noisyexp.tasks.base import Units
from noisyexp.tasks.ntm_tasks import (
    AssocRecallConfig,
    AssocRecallTask,
    CopyConfig,
    CopyTask,
    sequence_bit_errors,
    sequence_nll,
)

CPU = torch.device("cpu")
UNITS = Units(gate=lambda n: nn.Sigmoid(), cell=lambda n: nn.Tanh())
SMALL_MODEL = {"controller_size": 11, "memory_size": 13, "memory_width": 6}


def _copy_task(seed: int = 0, **overrides) -> CopyTask:
    params = {
        "min_len": 2,
        "max_len": 5,
        "eval_lengths": [3, 7],
        "eval_size": 4,
        "batch_size": 3,
        **SMALL_MODEL,
    }
    params.update(overrides)
    return CopyTask(CopyConfig(**params), data_dir=".", seed=seed, device=CPU)


def _recall_task(seed: int = 0, **overrides) -> AssocRecallTask:
    params = {
        "min_items": 2,
        "max_items": 5,
        "eval_items": [2, 5],
        "eval_size": 4,
        "batch_size": 3,
        **SMALL_MODEL,
    }
    params.update(overrides)
    return AssocRecallTask(AssocRecallConfig(**params), data_dir=".", seed=seed, device=CPU)


class _ConstantLogits(nn.Module):
    """Outputs the same logit everywhere (0 = chance), shaped like the NTM's output."""

    def __init__(self, output_size: int, value: float = 0.0) -> None:
        super().__init__()
        self.output_size = output_size
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((*x.shape[:2], self.output_size), self.value)


def test_all_names_exist_once():
    assert len(ntm_tasks.__all__) == len(set(ntm_tasks.__all__))
    assert all(hasattr(ntm_tasks, name) for name in ntm_tasks.__all__)


def test_copy_batch_layout():
    inputs, targets = make_copy_batch(3, 5, 7, torch.Generator().manual_seed(0))
    assert inputs.shape == (11, 3, 8) and targets.shape == (5, 3, 7)
    torch.testing.assert_close(inputs[:5, :, :7], targets, rtol=0, atol=0)
    assert inputs[:5, :, 7].abs().sum() == 0  # bit vectors never use the delimiter channel
    assert inputs[5].tolist() == [[0.0] * 7 + [1.0]] * 3  # the delimiter step
    assert inputs[6:].abs().sum() == 0  # blank while answering
    assert set(targets.unique().tolist()) == {0.0, 1.0}


def test_recall_batch_target_is_the_item_after_the_query():
    item_len, num_bits, num_items = 3, 6, 4
    inputs, targets = make_recall_batch(
        5, num_items, item_len, num_bits, torch.Generator().manual_seed(1)
    )
    assert inputs.shape == (4 * num_items + 8, 5, 8)
    assert targets.shape == (item_len, 5, num_bits)
    for b in range(5):
        seq = inputs[:, b].tolist()
        # parse independently: items follow item delimiters (channel 6)
        items = [
            [row[:num_bits] for row in seq[t + 1 : t + 1 + item_len]]
            for t, row in enumerate(seq)
            if row[num_bits] == 1.0
        ]
        query_marks = [t for t, row in enumerate(seq) if row[num_bits + 1] == 1.0]
        assert len(items) == num_items
        assert query_marks == [4 * num_items, 4 * num_items + item_len + 1]
        query = [row[:num_bits] for row in seq[query_marks[0] + 1 : query_marks[1]]]
        position = items.index(query)
        assert position < num_items - 1  # the last item is never queried
        assert targets[:, b].tolist() == items[position + 1]
        assert all(sum(row) == 0 for row in seq[query_marks[1] + 1 :])  # blank answer steps


def test_recall_default_lengths_are_sixteen_and_seventy_two_steps():
    generator = torch.Generator().manual_seed(2)
    assert make_recall_batch(2, 2, 3, 6, generator)[0].shape[0] == 16
    assert make_recall_batch(2, 16, 3, 6, generator)[0].shape[0] == 72


def test_sequence_nll_and_bit_errors_on_a_hand_case():
    logits = torch.tensor([[[0.0, 2.0]], [[-1.0, 3.0]]])  # (K=2, B=1, bits=2)
    targets = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])
    expected = (
        math.log(2.0)
        + math.log(1 + math.exp(2.0))
        + math.log(1 + math.exp(-1.0))
        + math.log(1 + math.exp(-3.0))
    )
    torch.testing.assert_close(
        sequence_nll(logits, targets), torch.tensor([expected]), rtol=1e-6, atol=1e-6
    )
    # logit 0 predicts 0 (wrong for target 1), logit 2 predicts 1 (wrong): 2 errors
    assert sequence_bit_errors(logits, targets).tolist() == [2.0]


@pytest.mark.parametrize("make_task", [_copy_task, _recall_task])
def test_train_batches_are_a_function_of_seed_and_step(make_task):
    first, again, other = make_task(seed=0), make_task(seed=0), make_task(seed=1)
    for step in (0, 7):
        for a, b in zip(first.train_batch(step), again.train_batch(step), strict=True):
            assert torch.equal(a, b)
    different = [
        not torch.equal(first.train_batch(s)[1], other.train_batch(s)[1]) for s in range(3)
    ]
    assert all(different)


def test_copy_training_lengths_cover_the_configured_range():
    task = _copy_task()
    lengths = {task.train_batch(step)[1].shape[0] for step in range(60)}
    assert lengths == {2, 3, 4, 5}


def test_recall_training_item_counts_cover_the_configured_range():
    task = _recall_task()
    counts = {(task.train_batch(step)[0].shape[0] - 8) // 4 for step in range(60)}
    assert counts == {2, 3, 4, 5}


def test_eval_sets_depend_on_data_seed():
    base = _copy_task().dataset_info()
    assert _copy_task(seed=3).dataset_info().checksum == base.checksum
    assert _copy_task(data_seed=4).dataset_info().checksum != base.checksum
    assert base.sizes == {"valid": 8, "test": 8}


def test_chance_model_scores_ln2_per_answer_bit():
    task = _recall_task()
    metrics = task.evaluate(_ConstantLogits(6), "valid")
    per_sequence = 3 * 6 * math.log(2.0)  # 3 rows of 6 bits
    for key in ("nll_len2", "nll_len5", "nll"):
        assert metrics[key] == pytest.approx(per_sequence, rel=1e-6)
    copy = _copy_task().evaluate(_ConstantLogits(8), "test")
    assert copy["nll_len3"] == pytest.approx(3 * 8 * math.log(2.0), rel=1e-6)
    assert copy["nll_len7"] == pytest.approx(7 * 8 * math.log(2.0), rel=1e-6)
    assert copy["nll"] == pytest.approx(5 * 8 * math.log(2.0), rel=1e-6)


def test_always_zero_model_gets_the_ones_wrong():
    task = _copy_task()
    metrics = task.evaluate(_ConstantLogits(8, value=-5.0), "valid")
    for length in (3, 7):
        targets = task.eval_sets["valid"][length][1]
        expected = targets.sum().item() / targets.shape[1]
        assert metrics[f"bit_errors_len{length}"] == pytest.approx(expected)


@pytest.mark.parametrize("make_task", [_copy_task, _recall_task])
def test_train_step_and_evaluate_run_the_ntm(make_task):
    torch.manual_seed(0)
    task = make_task()
    model = task.build_model(UNITS)
    assert isinstance(model, NTM)
    output = task.train_step(model, 0)
    output.loss.backward()
    assert output.num_items == 3
    metrics = task.evaluate(model, "valid")
    assert model.training  # evaluate restores the mode it found
    assert task.primary_metric in metrics


@pytest.mark.parametrize(
    ("config", "overrides", "key"),
    [
        (CopyConfig, {"min_len": 0}, "task.min_len"),
        (CopyConfig, {"min_len": 5, "max_len": 4}, "task.min_len"),
        (CopyConfig, {"eval_lengths": []}, "task.eval_lengths"),
        (CopyConfig, {"controller": "gru"}, "task.controller"),
        (AssocRecallConfig, {"min_items": 1}, "task.min_items"),
        (AssocRecallConfig, {"eval_items": [1, 16]}, "task.eval_items"),
        (AssocRecallConfig, {"memory_size": 0}, "task.memory_size"),
    ],
)
def test_bad_config_names_the_key(config, overrides, key):
    with pytest.raises(ConfigError, match=key):
        config(**overrides)


def test_copy_run_stopped_and_resumed_matches_a_straight_run(straight_and_resumed):
    overrides = [
        "task=copy",
        "act=noisy_tanh",
        "noise=anneal",
        "trainer.max_steps=6",
        "trainer.max_epochs=null",
        "trainer.eval_every=3",
        "trainer.log_every=1",
        "task.min_len=1",
        "task.max_len=3",
        "task.eval_lengths=[2,4]",
        "task.eval_size=4",
        "task.batch_size=3",
        "task.controller_size=11",
        "task.memory_size=13",
        "task.memory_width=6",
    ]
    straight, resumed = straight_and_resumed(overrides, stop_step=3)
    assert resumed["final"] == straight["final"]
    assert resumed["test"] == straight["test"]
