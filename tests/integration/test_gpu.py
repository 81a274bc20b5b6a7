"""CUDA paths: every preset, the noise generator, resumes, custom loops against cuDNN.

Skipped without CUDA; ``pytest -m gpu`` (and ``scripts/gpu_check.sh``) runs only these.
"""

from __future__ import annotations

import copy
import json
import logging

import pytest
import torch
from _presets import PRESETS, SHRINK, TASK_SHRINK
from torch import nn

from noisyexp import activations
from noisyexp.core.errors import CheckpointError
from noisyexp.layers.gru import GRU
from noisyexp.layers.lstm import LSTM
from noisyexp.training.device import set_tf32
from noisyexp.training.trainer import RunInfo, train

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

ONE_CUDA_STEP = [
    *(o for o in SHRINK if not o.startswith(("trainer.max_steps=", "trainer.eval_every="))),
    "trainer.max_steps=1",
    "trainer.eval_every=1",
]
NOISY = [
    "trainer.max_steps=12",
    "trainer.eval_every=4",
    "trainer.log_every=2",
    "act=nah",
    "act.alpha=1.0",
]
PTB_NOISY = [
    "experiment=ptb_small_nan",
    *TASK_SHRINK["ptb"],
    "trainer.max_steps=6",
    "trainer.max_epochs=null",
    "trainer.eval_every=2",
    "trainer.log_every=1",
    "task.dropout=0.5",  # Zaremba medium's: draws from the CUDA RNG, which a resume restores
]
NOISY_UNITS = [name for name, spec in activations.UNIT_TYPES.items() if spec.noisy]


def _on(device: str, overrides: list[str]) -> list[str]:
    return [
        *(o for o in overrides if not o.startswith("trainer.device=")),
        f"trainer.device={device}",
    ]


@pytest.mark.usefixtures("tiny_ptb", "tiny_mnist", "tiny_multi30k")
@pytest.mark.parametrize("preset", PRESETS)
def test_every_experiment_preset_trains_a_step_on_cuda(compose_config, tmp_path, preset):
    task = compose_config(f"experiment={preset}").task.name
    overrides = _on("cuda", [*ONE_CUDA_STEP, *TASK_SHRINK.get(task, [])])
    cfg = compose_config(f"experiment={preset}", *overrides)
    result = train(cfg, tmp_path / "run", RunInfo(experiment=preset))
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 1
    assert summary["device"].startswith("cuda") and summary["device_info"]["name"]
    assert summary["precision"]["tf32"] is False


@pytest.mark.parametrize("name", NOISY_UNITS)
def test_noisy_units_draw_from_their_cuda_generator_only(name):
    torch.manual_seed(0)
    unit = activations.make_unit(name, 11, kind="tanh")
    on_cpu = copy.deepcopy(unit).eval()  # the same p, for the expectation below
    unit = unit.cuda().train()
    x = 3 * torch.randn(3, 5, 11, device="cuda")  # many saturated entries
    generator = torch.Generator(device="cuda").manual_seed(7)
    activations.set_noise_generator(unit, generator)
    global_state = torch.cuda.get_rng_state()
    first = unit(x)
    drawn = generator.get_state()
    assert not torch.equal(drawn, torch.Generator(device="cuda").manual_seed(7).get_state())
    generator.manual_seed(7)
    assert torch.equal(unit(x), first)  # the same generator state, the same noise
    assert torch.equal(generator.get_state(), drawn)
    assert torch.equal(torch.cuda.get_rng_state(), global_state)  # the global stream untouched
    unit.eval()  # the expectation: the same function on CPU and CUDA
    torch.testing.assert_close(unit(x).cpu(), on_cpu(x.cpu()), rtol=1e-5, atol=1e-6)


def test_cuda_run_resumed_on_cuda_is_bit_identical(straight_and_resumed):
    straight, resumed = straight_and_resumed(_on("cuda", NOISY), stop_step=8)
    assert resumed["status"] == "completed" and resumed["device"].startswith("cuda")
    assert resumed["final"] == straight["final"] and resumed["test"] == straight["test"]


@pytest.mark.usefixtures("tiny_ptb")
def test_cuda_lstm_language_model_resumed_on_cuda_is_bit_identical(straight_and_resumed):
    """The noisy custom-loop LSTM, dropout (the CUDA RNG) and the carried hidden state."""
    straight, resumed = straight_and_resumed(_on("cuda", PTB_NOISY), stop_step=4)
    assert resumed["final"] == straight["final"] and resumed["test"] == straight["test"]


@pytest.mark.parametrize(("first", "then"), [("cpu", "cuda"), ("cuda", "cpu")])
def test_checkpoint_resumed_on_another_device_type_is_reseeded_with_a_warning(
    compose_config, tmp_path, caplog, first, then
):
    run_dir = tmp_path / "run"
    train(compose_config(*_on(first, NOISY), "trainer.max_steps=4"), run_dir)
    with caplog.at_level(logging.WARNING, logger="noisyexp"):
        result = train(compose_config(*_on(then, NOISY), f"resume={run_dir}"), run_dir)
    assert result.status == "completed" and result.summary["steps"] == 12
    assert result.summary["device"].startswith(then)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w for w in warnings if "not bit-exact" in w] == [
        f"resuming a {first} checkpoint on {then}: the noise stream is reseeded from "
        "(seed, step), so this resume is not bit-exact"
    ]


def test_cpu_checkpoint_on_cuda_is_refused_when_asked(compose_config, tmp_path):
    run_dir = tmp_path / "run"
    train(compose_config(*_on("cpu", NOISY), "trainer.max_steps=4"), run_dir)
    cfg = compose_config(
        *_on("cuda", NOISY), "trainer.cross_device_resume=refuse", f"resume={run_dir}"
    )
    with pytest.raises(CheckpointError, match="written on cpu, this run is on cuda"):
        train(cfg, run_dir)


def _outputs_and_grads(module: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Output, final state, and the gradients of a fixed random loss w.r.t. x and weights."""
    x = x.clone().requires_grad_(True)
    output, state = module(x)
    tensors = [output, *(state if isinstance(state, tuple) else (state,))]
    generator = torch.Generator(device=x.device).manual_seed(99)
    loss = sum(
        (torch.randn(t.shape, generator=generator, device=t.device) * t).sum() for t in tensors
    )
    params = [p for name, p in module.named_parameters() if name.startswith(("weight", "bias"))]
    return [*tensors, *torch.autograd.grad(loss, [x, *params])]


@pytest.mark.parametrize("layer_class", [LSTM, GRU])
def test_custom_loop_equals_cudnn_with_tf32_off(layer_class):
    """The reference units in the custom loop (matmuls) and in cuDNN's fused kernel compute
    the same float32 function when both paths are IEEE (``trainer.tf32=false``)."""
    set_tf32(False)
    torch.manual_seed(0)
    units = {"gate_unit": activations.Sigmoid, "cell_unit": activations.Tanh}
    loop = layer_class(7, 11, 2, fused=False, **units).cuda()
    fused = layer_class(7, 11, 2, fused=True, **units).cuda()
    fused.load_state_dict(loop.state_dict())
    x = torch.randn(5, 3, 7, device="cuda")  # (T, B, input)
    assert torch.backends.cudnn.enabled and torch.backends.cudnn.rnn.fp32_precision == "ieee"
    expected = _outputs_and_grads(fused, x)
    for got, want in zip(_outputs_and_grads(loop, x), expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)  # TF32 errs by ~1e-3


# trainer.cuda_graphs: the tiny PTB's epochs are a few steps, so the lr decay is turned off
# (a change every epoch would re-capture too often and switch graphs off; tested on CPU)
GRAPHED = [
    *(o for o in PTB_NOISY if not o.startswith(("trainer.max_steps=", "trainer.log_every="))),
    "trainer.max_steps=30",
    "trainer.log_every=10",
    "optim.lr_decay=1.0",
]


def _final(summary: dict) -> dict[str, float]:
    return {**summary["final"], **{f"test/{k}": v for k, v in summary["test"].items()}}


@pytest.mark.usefixtures("tiny_ptb")
@pytest.mark.parametrize(
    "extra",
    [[], ["optim=adam", "optim.lr=0.001"], ["trainer.compile=true"], ["act=nanil"]],
    ids=["sgd", "adam", "compiled", "nanil"],
)
def test_cuda_graph_replays_train_like_the_eager_step(compose_config, tmp_path, extra):
    """Captured once after the warm-up, replayed (logged steps eager), and the numbers of the
    eager path: the same kernels, so equal up to float rounding of reordered reductions."""
    overrides = _on("cuda", [*GRAPHED, *extra])
    eager = train(compose_config(*overrides), tmp_path / "eager").summary
    graphed = train(compose_config(*overrides, "trainer.cuda_graphs=true"), tmp_path / "g").summary
    assert graphed["status"] == "completed" and eager["cuda_graphs"] is None
    stats = graphed["cuda_graphs"]
    assert stats["captures"] == 1 and stats["enabled"]
    assert stats["replayed_steps"] + stats["eager_steps"] == 30 and stats["replayed_steps"] >= 20
    got, want = _final(graphed), _final(eager)
    assert got.keys() == want.keys()
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-4), key


@pytest.mark.usefixtures("tiny_ptb")
def test_cuda_graph_run_resumes(straight_and_resumed):
    """A resumed graphed run warms up eagerly again and ends where the straight run does."""
    straight, resumed = straight_and_resumed(
        _on("cuda", [*GRAPHED, "trainer.cuda_graphs=true"]), stop_step=12
    )
    assert resumed["status"] == "completed" and resumed["cuda_graphs"]["captures"] == 1
    for key, value in _final(straight).items():
        assert _final(resumed)[key] == pytest.approx(value, rel=1e-4), key


@pytest.mark.usefixtures("tiny_ptb")
def test_cuda_graphs_recapture_when_the_lr_decays(compose_config, tmp_path):
    overrides = [
        *(o for o in GRAPHED if o != "optim.lr_decay=1.0"),
        "trainer.max_steps=80",
        "optim.lr_decay_start_epoch=1",
        "trainer.track_saturation=false",
    ]
    cfg = compose_config(*_on("cuda", overrides), "trainer.cuda_graphs=true")
    summary = train(cfg, tmp_path / "run").summary
    assert summary["status"] == "completed"
    # a tiny PTB epoch is far shorter than the 20 replays a graph must last: capturing stops
    assert summary["cuda_graphs"]["captures"] >= 1 and not summary["cuda_graphs"]["enabled"]


def test_cuda_graph_replays_a_classification_task(compose_config, tmp_path):
    """Three Gaussians (MLP, NAN units, Adam): a gathered batch copied in, nothing carried."""
    overrides = _on(
        "cuda",
        [
            "task=gaussians",
            "act='nan'",
            "optim=adam",
            "trainer.max_steps=40",
            "trainer.eval_every=20",
        ],
    )
    eager = train(compose_config(*overrides), tmp_path / "eager").summary
    graphed = train(compose_config(*overrides, "trainer.cuda_graphs=true"), tmp_path / "g").summary
    assert graphed["status"] == "completed" and graphed["cuda_graphs"]["captures"] == 1
    for key, value in _final(eager).items():
        assert _final(graphed)[key] == pytest.approx(value, rel=1e-4), key
