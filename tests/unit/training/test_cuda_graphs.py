"""trainer.cuda_graphs on CPU: the static-buffer step against the plain one, and the capture logic.

A CUDA graph cannot run here, so these tests hold the parts that decide whether it would be
right: the step over static buffers equals the plain step bit for bit and dispatches nothing that
syncs with the host, and :class:`GraphedStep` warms up, captures, replays and re-captures as
documented (with a stand-in backend whose replay runs the step). ``tests/test_gpu.py`` runs the
real graphs on a CUDA machine.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from noisyexp import activations
from noisyexp.activations.roles import Units
from noisyexp.cli.app import main
from noisyexp.config.act import build_units
from noisyexp.config.optimizers import make_optimizer
from noisyexp.tasks import get_task
from noisyexp.tasks.mnist import MNISTTask
from noisyexp.tasks.ptb import WordLMConfig, WordLMTask
from noisyexp.tasks.unique_count import UniqueCountTask
from noisyexp.training.cuda_graphs import GraphedStep, StaticStep, cuda_graphs_unavailable
from noisyexp.training.trainer import train

pytestmark = pytest.mark.slow  # whole captured steps and runs against plain ones

CPU = torch.device("cpu")
TRAIN = "".join(f"w{i % 7} w{(i + 1) % 7} w{(i + 3) % 7} w{(i + 5) % 7}\n" for i in range(12))
SMALL = {"batch_size": 3, "bptt": 4, "embedding_size": 7, "hidden_size": 11, "num_layers": 2}
NOISY_UNITS = [name for name, spec in activations.UNIT_TYPES.items() if spec.noisy]
# ops that read a tensor on the host, or make one from host data: illegal inside a capture
HOST_OPS = ("_local_scalar_dense", "item", "lift_fresh", "nonzero", "equal", "is_nonzero")


def _task(tmp_path: Path, **overrides: object) -> WordLMTask:
    folder = tmp_path / "corpus"
    folder.mkdir(parents=True, exist_ok=True)
    for split, text in (("train", TRAIN), ("valid", "w1 w2\nw3\n"), ("test", "w4 w5\n")):
        (folder / f"{split}.txt").write_text(text)
    cfg = WordLMConfig(corpus_dir=str(folder), **{**SMALL, **overrides})
    return WordLMTask(cfg, data_dir=tmp_path / "data", seed=0, device=CPU, download=False)


def _setup(tmp_path, compose_config, act: str, optim: str = "sgd", **task_overrides):
    """A task, a model with ``act``'s units drawing from a seeded generator, an optimizer."""
    cfg = compose_config(f"act='{act}'", f"optim={optim}")
    task = _task(tmp_path, **task_overrides)
    torch.manual_seed(0)
    model = task.build_model(build_units(cfg.act)).double()
    generator = torch.Generator().manual_seed(7)
    activations.set_noise_generator(model, generator)
    return task, model, make_optimizer(cfg.optim, model), generator


def _plain_step(task: WordLMTask, model: nn.Module, optimizer, step: int) -> torch.Tensor:
    """The trainer's plain step: forward, backward, clip 5, update."""
    output = task.train_step(model, step)
    optimizer.zero_grad(set_to_none=True)
    output.loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimizer.step()
    return output.reported_loss.detach()


def _static_step(static: StaticStep, step: int) -> torch.Tensor:
    static.load(step)
    static.run()
    assert static.loss is not None
    return static.loss.clone()


def _same_parameters(a: nn.Module, b: nn.Module) -> None:
    for (name, x), y in zip(a.named_parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0, msg=name)


@pytest.mark.parametrize(
    ("act", "cell", "optim"),
    [
        ("nan", "lstm", "sgd"),
        ("nah", "gru", "sgd"),
        ("nanil", "lstm", "adam"),
        ("tanh", "lstm", "sgd"),
    ],
)
def test_the_static_step_equals_the_plain_step_bit_for_bit(
    tmp_path, compose_config, act, cell, optim
):
    plain = _setup(tmp_path / "a", compose_config, act, optim, cell=cell)
    static = _setup(tmp_path / "b", compose_config, act, optim, cell=cell)
    step_of = StaticStep(static[0], static[1], static[2], clip_norm=5.0)
    steps = plain[0].steps_per_epoch()
    # two epochs (the state resets at each start) and a gap (a reset too)
    for step in [*range(2 * steps), 2 * steps + 3]:
        expected = _plain_step(*plain[:3], step)
        torch.testing.assert_close(_static_step(step_of, step), expected, rtol=0, atol=0)
    _same_parameters(plain[1], static[1])
    for x, y in zip(plain[0].state_dict()["hidden"], static[0].state_dict()["hidden"], strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)


def test_the_static_state_resumes_and_mixes_with_plain_steps(tmp_path, compose_config):
    """A plain step's state, and a checkpoint's, are loaded into the buffers the next step."""
    plain = _setup(tmp_path / "a", compose_config, "nan")
    mixed = _setup(tmp_path / "b", compose_config, "nan")
    static = StaticStep(*mixed[:3], clip_norm=5.0)
    for step in range(2):
        _plain_step(*plain[:3], step)
    _static_step(static, 0)
    _plain_step(*mixed[:3], 1)  # a plain step between static ones (the trainer's logged steps)
    saved = copy.deepcopy(mixed[0].state_dict())
    resumed = _task(tmp_path / "c")
    resumed.load_state_dict(saved)
    static = StaticStep(resumed, mixed[1], mixed[2], clip_norm=5.0)
    expected = _plain_step(*plain[:3], 2)
    torch.testing.assert_close(_static_step(static, 2), expected, rtol=0, atol=0)
    _same_parameters(plain[1], mixed[1])


class _OpLog(TorchDispatchMode):
    """Names of the ops dispatched."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.add(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))


def _ops_of_a_static_step(task: WordLMTask, model: nn.Module, device: str) -> _OpLog:
    """The ops of the second static step (after a warm-up one) with the model on ``device``."""
    model.to(torch.device(device))
    task.train_data = task.train_data.to(torch.device(device))
    static = StaticStep(task, model, torch.optim.SGD(model.parameters(), lr=1.0), clip_norm=5.0)
    _static_step(static, 0)  # warm-up: the buffers and the optimizer state exist from here
    static.load(1)
    with _OpLog() as ops:
        static.run()
    return ops


@pytest.mark.parametrize("act", ["tanh", *NOISY_UNITS])
def test_the_static_step_never_syncs_with_the_host(tmp_path, compose_config, act):
    """Nothing inside the step reads a value or makes a tensor from host data.

    On the meta device tensors have no data (reading one raises, as a capture would); on the CPU
    a tensor made from Python data shows as ``lift_fresh``. SGD: Adam and RMSprop read their
    step count on the host unless capturable, which only CUDA parameters allow (the trainer
    sets it with trainer.cuda_graphs; tests/test_gpu.py).
    """
    for device in ("meta", "cpu"):
        task, model, _, _ = _setup(tmp_path / device, compose_config, act, "sgd")
        ops = _ops_of_a_static_step(task, model, device)
        assert {"mm", "embedding_dense_backward", "linalg_vector_norm"} <= ops.names, ops.names
        if device == "meta":
            assert not ops.names & set(HOST_OPS), sorted(ops.names & set(HOST_OPS))
        else:
            assert not ops.names & {"lift_fresh", "lift_fresh_copy"}


class _Reads(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x) * float(x.mean().detach())


class _Indexes(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x)[..., [0]].expand_as(x)


def test_the_host_op_checks_can_fail(tmp_path):
    """A unit that reads a value raises on meta; one that indexes with a list shows on CPU."""
    units = Units(gate=lambda n: nn.Sigmoid(), cell=lambda n: _Reads())
    task = _task(tmp_path)
    with pytest.raises(RuntimeError, match="meta"):
        _ops_of_a_static_step(task, task.build_model(units), "meta")
    units = Units(gate=lambda n: nn.Sigmoid(), cell=lambda n: _Indexes())
    task = _task(tmp_path)
    assert "lift_fresh" in _ops_of_a_static_step(task, task.build_model(units), "cpu").names


class _StandIn:
    """A capture backend whose 'graph' runs the step on each replay (a capture runs nothing)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def run_eager(self, fn):
        self.calls.append("eager")
        fn()

    def capture(self, fn):
        self.calls.append("capture")

        def replay():
            self.calls.append("replay")
            fn()

        return replay


def test_graphed_step_warms_up_captures_once_and_replays(tmp_path, compose_config):
    plain = _setup(tmp_path / "a", compose_config, "nan")
    task, model, optimizer, _ = _setup(tmp_path / "b", compose_config, "nan")
    static = StaticStep(task, model, optimizer, clip_norm=5.0)
    backend = _StandIn()
    graphed = GraphedStep(static, backend, warmup=2, min_replays=3)
    for step in range(8):
        eager = step == 5  # a logged step, between replays
        loss, items = graphed(step, (1.0, None), eager=eager)
        assert items == 12
        torch.testing.assert_close(loss, _plain_step(*plain[:3], step), rtol=0, atol=0)
    assert backend.calls == [
        "eager", "eager", "capture", "replay", "replay", "replay", "eager", "replay", "replay",
    ]  # fmt: skip
    assert graphed.stats() == {
        "captures": 1,
        "replayed_steps": 5,
        "eager_steps": 3,
        "enabled": True,
    }
    _same_parameters(plain[1], model)


def test_graphed_step_recaptures_when_lr_changes_and_gives_up_when_it_changes_often(
    tmp_path, compose_config
):
    task, model, optimizer, _ = _setup(tmp_path, compose_config, "nan")
    static = StaticStep(task, model, optimizer, clip_norm=5.0)
    backend = _StandIn()
    graphed = GraphedStep(static, backend, warmup=1, min_replays=3)
    keys = [1.0] * 5 + [0.5] * 3 + [0.25] * 3
    for step, lr in enumerate(keys):
        graphed(step, (lr, None))
    # lr 1: warm-up, capture, 4 replays; lr 0.5: one eager step (a recompile would happen
    # outside the capture), a capture, 2 replays; lr 0.25 came after 2 < 3 replays: eager
    assert backend.calls == [
        "eager", "capture", "replay", "replay", "replay", "replay",
        "eager", "capture", "replay", "replay",
        "eager", "eager", "eager",
    ]  # fmt: skip
    assert graphed.captures == 2 and not graphed.enabled


def test_what_cannot_be_captured_is_named(tmp_path):
    task = _task(tmp_path)
    cuda = torch.device("cuda")
    assert cuda_graphs_unavailable(cuda, task, skip_nonfinite=0) is None
    assert "CUDA device" in cuda_graphs_unavailable(CPU, task, skip_nonfinite=0)
    assert "skip_nonfinite=0" in cuda_graphs_unavailable(cuda, task, skip_nonfinite=2)
    assert MNISTTask.supports_static_step and not UniqueCountTask.supports_static_step
    counting = object.__new__(UniqueCountTask)  # the check reads the class only
    why = cuda_graphs_unavailable(cuda, counting, skip_nonfinite=0)
    assert why == (
        "UniqueCountTask has no static-buffer step "
        "(tasks with one: gaussians, mnist, ptb, ptb_char, wordlm)"
    )


@pytest.mark.parametrize(
    ("task", "message"),
    [("copy", "CopyTask has no static-buffer step"), ("gaussians", "need a CUDA device")],
)
def test_cuda_graphs_where_they_cannot_run_is_a_one_line_error(tmp_path, capsys, task, message):
    args = [
        f"paths.results_dir={tmp_path}",
        "trainer.progress=false",
        "trainer.device=cpu",
        "trainer.max_steps=1",
        "trainer.cuda_graphs=true",
        f"task={task}",
    ]
    assert main(["train", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "trainer.cuda_graphs=true" in err[0], err
    assert message in err[0]
    assert not list(tmp_path.rglob("summary.json"))


@pytest.mark.parametrize("optim", ["sgd", "adam"])
def test_the_static_step_of_a_classification_task_equals_its_plain_step(compose_config, optim):
    """Three Gaussians (the MLP, NAN units): a buffered batch per step, nothing carried."""
    runs = []
    for _ in range(2):
        cfg = compose_config("task=gaussians", "act='nan'", f"optim={optim}")
        _, task_class = get_task("gaussians")
        task = task_class(cfg.task, data_dir=Path("."), seed=3, device=CPU)
        torch.manual_seed(0)
        model = task.build_model(build_units(cfg.act))
        activations.set_noise_generator(model, torch.Generator().manual_seed(7))
        runs.append((task, model, make_optimizer(cfg.optim, model)))
    static = StaticStep(*runs[1], clip_norm=5.0)
    for step in range(2 * runs[0][0].steps_per_epoch() + 1):  # into a new epoch's permutation
        output = runs[0][0].train_step(runs[0][1], step)
        runs[0][2].zero_grad(set_to_none=True)
        output.loss.backward()
        nn.utils.clip_grad_norm_(runs[0][1].parameters(), 5.0)
        runs[0][2].step()
        torch.testing.assert_close(_static_step(static, step), output.loss.detach(), rtol=0, atol=0)
    _same_parameters(runs[0][1], runs[1][1])


@pytest.fixture
def stand_in_graphs(monkeypatch):
    """trainer.cuda_graphs on CPU, its graphs replaced by the stand-in backend."""
    from noisyexp.training import trainer as train_module

    monkeypatch.setattr(train_module, "cuda_graphs_unavailable", lambda *args, **kwargs: None)
    monkeypatch.setattr(train_module, "CudaBackend", lambda generator: _StandIn())


PTB_RUN = [
    "experiment=ptb_small_nan",
    "task.batch_size=2",
    "task.bptt=3",
    "task.eval_batch_size=2",
    "trainer.max_steps=40",
    "trainer.max_epochs=null",
    "trainer.eval_every=10",
    "trainer.log_every=7",
    "trainer.device=cpu",
]


@pytest.mark.usefixtures("tiny_ptb", "stand_in_graphs")
def test_a_graphed_run_trains_like_a_plain_run_and_resumes(
    compose_config, tmp_path, straight_and_resumed
):
    """Through the trainer: logged steps eager, the rest replayed, evaluations in between, a
    resume in the middle, and the lr decaying each 8-step epoch from step 24 (too often for
    graphs: the rest runs eagerly); the numbers of the plain path, bit for bit."""
    overrides = [*PTB_RUN, "optim.lr_decay_start_epoch=3", "optim.lr_decay=0.5"]
    plain = train(compose_config(*overrides), tmp_path / "plain").summary
    straight, resumed = straight_and_resumed([*overrides, "trainer.cuda_graphs=true"], 23)
    assert plain["cuda_graphs"] is None
    for run in (straight, resumed):
        assert run["status"] == "completed" and run["steps"] == 40
        assert run["final"] == plain["final"] and run["test"] == plain["test"]
        assert run["best"] == plain["best"]
    # warm-up 0-2, capture at 3, replays to 23 but the logged steps 6, 13, 20; at 24 the lr
    # changed after 18 < 20 replays: eager from there
    assert straight["cuda_graphs"] == {
        "captures": 1,
        "replayed_steps": 18,
        "eager_steps": 22,
        "enabled": False,
    }
    assert sum(resumed["cuda_graphs"][k] for k in ("replayed_steps", "eager_steps")) == 17
    losses = _train_losses(tmp_path / "plain")
    assert len(losses) == 4 and _train_losses(tmp_path / "straight") == losses


def _train_losses(run_dir: Path) -> list[float]:
    with (run_dir / "metrics.jsonl").open() as rows:
        return [json.loads(row)["train/loss"] for row in rows if "train/loss" in row]
