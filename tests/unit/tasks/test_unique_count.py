"""Tests of the unique-integer counting task (Table 5) and its LSTM + MLP model."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from noisyexp.core.errors import ConfigError
from noisyexp.models import counter
from noisyexp.models.counter import UniqueCounter
from noisyexp.tasks import unique_count
from noisyexp.tasks.base import Units
from noisyexp.tasks.unique_count import (
    UniqueCountConfig,
    UniqueCountTask,
    count_unique,
    generate_sequences,
)

CPU = torch.device("cpu")
UNITS = Units(gate=lambda n: nn.Sigmoid(), cell=lambda n: nn.Tanh())


def _task(seed: int = 0, **overrides) -> UniqueCountTask:
    params = {
        "train_size": 40,
        "valid_size": 30,
        "test_size": 20,
        "batch_size": 8,
        "hidden_size": 11,
        "mlp_size": 7,
    }
    params.update(overrides)
    return UniqueCountTask(UniqueCountConfig(**params), data_dir=".", seed=seed, device=CPU)


class _Oracle(nn.Module):
    """Predicts the true count (or a fixed class), to test the metrics without training."""

    def __init__(self, num_classes: int, fixed: int | None = None) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.fixed = fixed

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        counts = [len(set(column.tolist())) for column in tokens.T]
        if self.fixed is not None:
            counts = [self.fixed] * len(counts)
        return 10.0 * nn.functional.one_hot(torch.tensor(counts), self.num_classes).float()


def test_all_names_exist_once():
    for module in (unique_count, counter):
        assert len(module.__all__) == len(set(module.__all__))
        assert all(hasattr(module, name) for name in module.__all__)


def test_count_unique_matches_a_hand_count():
    sequences = [[0, 0, 0, 0, 0], [1, 2, 3, 4, 5], [10, 3, 10, 3, 7], [9, 9, 0, 1, 9]]
    tokens = torch.tensor(sequences).T  # (T=5, B=4)
    assert count_unique(tokens, 11).tolist() == [1, 5, 3, 3]


def test_generated_sequences_have_shape_and_the_inclusive_range():
    tokens = generate_sequences(500, 26, 11, torch.Generator().manual_seed(3))
    assert tokens.shape == (26, 500)
    assert tokens.dtype == torch.int64
    assert set(tokens.unique().tolist()) == set(range(11))  # 0..10 inclusive all appear


def test_labels_of_the_fixed_sets_agree_with_python_sets():
    task = _task()
    tokens = task.splits["valid"]
    expected = [len(set(column.tolist())) for column in tokens.T]
    assert count_unique(tokens, 11).tolist() == expected


def test_fixed_sets_depend_on_data_seed_not_run_seed():
    same = _task(seed=0).dataset_info()
    assert _task(seed=5).dataset_info().checksum == same.checksum
    assert _task(data_seed=1).dataset_info().checksum != same.checksum
    assert same.checksum.startswith("generated:")
    assert same.sizes == {"train": 40, "valid": 30, "test": 20}


def test_train_batches_are_a_function_of_seed_and_step():
    first, again, other = _task(seed=0), _task(seed=0), _task(seed=1)
    for step in (0, 4, 13):  # 4 is the first step of epoch 1 (40 // 8 = 5 steps per epoch)
        assert torch.equal(first._batch_indices(step), again._batch_indices(step))
    assert not torch.equal(first._batch_indices(0), other._batch_indices(0))


def test_an_epoch_visits_each_training_sequence_once():
    task = _task()
    seen = torch.cat([task._batch_indices(step) for step in range(task.steps_per_epoch())])
    assert sorted(seen.tolist()) == list(range(40))


def test_model_maps_sequences_to_class_logits():
    torch.manual_seed(0)
    task = _task()
    model = task.build_model(UNITS)
    assert isinstance(model, UniqueCounter)
    out = task.train_step(model, 0)
    assert out.loss.ndim == 0 and out.num_items == 8
    out.loss.backward()
    assert model(task.splits["test"][:5]).shape == (20, 12)  # counts 0..11


def test_evaluate_reports_percent_error_from_accuracy():
    task = _task()
    perfect = task.evaluate(_Oracle(task.num_classes), "valid")
    assert perfect["acc"] == 1.0 and perfect["error"] == 0.0
    counts = [len(set(column.tolist())) for column in task.splits["test"].T]
    hits = sum(count == 10 for count in counts)
    always_ten = task.evaluate(_Oracle(task.num_classes, fixed=10), "test")
    assert always_ten["acc"] == pytest.approx(hits / 20)
    assert always_ten["error"] == pytest.approx(100.0 * (1 - hits / 20))


def test_curriculum_trains_on_prefixes_of_the_start_length():
    task = _task(curriculum=True, curriculum_start_len=4)
    seen = {}

    class _Spy(_Oracle):
        def forward(self, tokens):
            seen["shape"] = tuple(tokens.shape)
            return super().forward(tokens)

    task.train_step(_Spy(task.num_classes), 0)
    assert seen["shape"] == (4, 8)


def test_curriculum_grows_only_past_the_threshold_and_stops_at_seq_len():
    task = _task(
        curriculum=True, curriculum_start_len=20, curriculum_step=4, curriculum_threshold=0.8
    )
    task.on_evaluate({"curriculum_acc": 0.79}, step=10)
    assert task.current_len == 20
    task.on_evaluate({"curriculum_acc": 0.8}, step=20)
    assert task.current_len == 24
    task.on_evaluate({"curriculum_acc": 0.95}, step=30)
    assert task.current_len == 26  # capped at seq_len
    task.on_evaluate({"curriculum_acc": 1.0}, step=40)
    assert task.current_len == 26


def test_curriculum_accuracy_is_measured_at_the_current_length():
    task = _task(curriculum=True, curriculum_start_len=3)
    metrics = task.evaluate(_Oracle(task.num_classes), "valid")
    assert metrics["curriculum_len"] == 3.0
    assert metrics["curriculum_acc"] == 1.0  # the oracle counts the prefixes it is shown


def test_curriculum_with_patience_grows_after_that_many_misses():
    task = _task(
        curriculum=True,
        curriculum_start_len=6,
        curriculum_step=5,
        curriculum_patience=2,
        curriculum_threshold=0.9,
    )
    task.on_evaluate({"curriculum_acc": 0.5}, step=1)
    assert task.current_len == 6
    task.on_evaluate({"curriculum_acc": 0.5}, step=2)
    assert task.current_len == 11  # second miss: grow anyway
    task.on_evaluate({"curriculum_acc": 0.5}, step=3)
    assert task.current_len == 11  # the miss count restarted at the new length


def test_curriculum_state_survives_a_round_trip():
    params = {
        "curriculum": True,
        "curriculum_start_len": 6,
        "curriculum_step": 5,
        "curriculum_patience": 3,
    }
    task = _task(**params)
    task.on_evaluate({"curriculum_acc": 1.0}, step=1)
    task.on_evaluate({"curriculum_acc": 0.1}, step=2)
    fresh = _task(**params)
    fresh.load_state_dict(task.state_dict())
    assert (fresh.current_len, fresh.evals_at_len) == (11, 1)
    fresh.on_evaluate({"curriculum_acc": 0.1}, step=3)
    fresh.on_evaluate({"curriculum_acc": 0.1}, step=4)
    assert fresh.current_len == 16


def test_without_curriculum_training_uses_full_length():
    task = _task()
    task.on_evaluate({"acc": 1.0}, step=1)
    assert task.current_len == 26


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"seq_len": 0}, "task.seq_len"),
        ({"num_values": 1}, "task.num_values"),
        ({"batch_size": 50, "train_size": 40}, "task.batch_size"),
        ({"curriculum_start_len": 30}, "task.curriculum_start_len"),
        ({"curriculum_threshold": 1.5}, "task.curriculum_threshold"),
        ({"curriculum_patience": -1}, "task.curriculum_patience"),
    ],
)
def test_bad_config_names_the_key(overrides, key):
    with pytest.raises(ConfigError, match=key):
        UniqueCountConfig(**overrides)


def test_curriculum_run_stopped_and_resumed_matches_a_straight_run(straight_and_resumed):
    overrides = [
        "task=unique_count",
        "act=noisy_tanh",
        "trainer.max_steps=12",
        "trainer.max_epochs=null",
        "trainer.eval_every=4",
        "trainer.log_every=2",
        "task.train_size=64",
        "task.valid_size=16",
        "task.test_size=16",
        "task.batch_size=8",
        "task.hidden_size=11",
        "task.mlp_size=7",
        "task.curriculum=true",
        "task.curriculum_start_len=4",
        "task.curriculum_step=5",
        "task.curriculum_patience=1",
    ]
    straight, resumed = straight_and_resumed(overrides, stop_step=8)
    assert resumed["final"] == straight["final"]
    assert resumed["test"] == straight["test"]
    assert straight["final"]["valid/curriculum_len"] == 14.0  # 4 -> 9 -> 14 over two misses


def test_batches_are_the_shared_helpers_and_the_old_per_epoch_shuffles():
    from noisyexp.core.rng import seeded_generator
    from noisyexp.data.batching import step_batch_indices

    task = _task(seed=3, train_size=200, batch_size=64)
    for step in (0, 1, 2, 3, 5, 7):  # three epochs of three batches (the last 8 dropped)
        epoch, position = divmod(step, task.steps_per_epoch())  # what the task did before
        order = torch.randperm(200, generator=seeded_generator(3, epoch))
        expected = order[position * 64 : (position + 1) * 64]
        assert torch.equal(task._batch_indices(step), expected)
        assert torch.equal(step_batch_indices(200, 64, 3, step), expected)
