"""The fast path of the recurrent layers (``fast_step``, ``trainer.compile``) against the plain one.

Most checks run Dynamo with the ``eager`` backend: the same whole-graph capture as Inductor
(a graph break fails), without the seconds of C++ compilation per variant; a few run Inductor.
"""

from __future__ import annotations

import re

import pytest
import torch
from _presets import TASK_SHRINK

from noisyexp import activations
from noisyexp.layers import fast_step
from noisyexp.layers.gru import GRU
from noisyexp.layers.lstm import LSTM
from noisyexp.layers.recurrent import set_fast_step

pytestmark = pytest.mark.slow  # Inductor compiles (a cold cache: about a minute each)

# (gate unit, cell unit, extra unit arguments) for every unit type of the library
VARIANTS = {
    "reference": ("sigmoid", "tanh", {}),
    "hard": ("hard_sigmoid", "hard_tanh", {}),
    "nan": ("nan", "nan", {}),
    "nah": ("nah", "nah", {}),
    "nan_clipped": ("nan", "nan", {"clip_output": True}),
    "laplace": ("laplace", "laplace", {}),
    "nan_fixed_p": ("nan_fixed_p", "nan_fixed_p", {}),
    "nani": ("nani", "nani", {}),
    "nanis": ("nanis", "nanis", {}),
    "nanil": ("nanil", "nanil", {}),
    "nanil_softplus": ("nanil", "nanil", {"softplus": True}),
}


@pytest.fixture(autouse=True)
def _fresh_dynamo(monkeypatch):
    """Each test compiles afresh (no guard cache shared across tests) with the eager backend."""
    monkeypatch.setattr(fast_step, "BACKEND", "eager")
    monkeypatch.setattr(fast_step, "_COMPILED", {})
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _factories(variant: str):
    gate, cell, extra = VARIANTS[variant]
    return (
        lambda n: activations.make_unit(gate, n, kind="sigmoid", **extra),
        lambda n: activations.make_unit(cell, n, kind="tanh", **extra),
    )


def _layer(cls, variant: str, size: int, fast: bool, layers: int = 2):
    torch.manual_seed(0)
    gate, cell = _factories(variant)
    layer = cls(size, size, layers, gate_unit=gate, cell_unit=cell, fused=False, fast_step=fast)
    activations.set_noise_generator(layer, torch.Generator().manual_seed(5))
    return layer


def _run(layer, x):
    """Output, final state and every gradient of a loss that reads both."""
    x = x.clone().requires_grad_()
    output, state = layer(x)
    last = state if torch.is_tensor(state) else state[1]
    (output.square().sum() + last.sum()).backward()
    grads = {name: p.grad for name, p in layer.named_parameters() if p.grad is not None}
    return output.detach(), last.detach(), x.grad, grads


def _assert_same_run(fast, plain, *, rtol=1e-5, atol=1e-6) -> None:
    for got, want in zip(fast[:3], plain[:3], strict=True):
        torch.testing.assert_close(got, want, rtol=rtol, atol=atol)
    assert fast[3].keys() == plain[3].keys()
    for name, want in plain[3].items():
        scale = max(1.0, float(want.abs().max()))
        torch.testing.assert_close(fast[3][name], want, rtol=rtol, atol=atol * scale, msg=name)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", ["sigmoid", "tanh"])
@pytest.mark.parametrize("training", [True, False])
def test_pure_equals_forward_given_the_noise_forward_draws(variant, kind, training):
    gate, cell, extra = VARIANTS[variant]
    unit = activations.make_unit(gate if kind == "sigmoid" else cell, 6, kind=kind, **extra)
    unit.train(training)
    x = (3 * torch.randn(5, 6, generator=torch.Generator().manual_seed(1))).requires_grad_()
    if isinstance(unit, activations.NoisyUnit):
        unit.generator = torch.Generator().manual_seed(2)
    out = unit(x)
    (grad_x,) = torch.autograd.grad(out.square().sum(), x)
    noise = None
    if unit.draws_noise():
        unit.generator.manual_seed(2)
        noise = unit.draw_noise(x.shape, dtype=x.dtype, device=x.device)
    pure = unit.pure(x, noise)
    (pure_grad_x,) = torch.autograd.grad(pure.square().sum(), x)
    torch.testing.assert_close(pure, out, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(pure_grad_x, grad_x, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", [LSTM, GRU])
@pytest.mark.parametrize("variant", VARIANTS)
def test_fast_step_matches_the_plain_path_in_values_and_gradients(cls, variant):
    """Batch 4 x 16 units: every noise draw is a multiple of 16, so the window is one draw."""
    x = 2 * torch.randn(7, 4, 16, generator=torch.Generator().manual_seed(3))  # chunks 5 + 2
    plain_layer, fast_layer = _layer(cls, variant, 16, False), _layer(cls, variant, 16, True)
    _assert_same_run(_run(fast_layer, x), _run(plain_layer, x))
    for plain_unit, fast_unit in zip(
        activations.noisy_modules(plain_layer), activations.noisy_modules(fast_layer), strict=True
    ):  # the same noise consumed: the streams continue alike
        assert torch.equal(plain_unit.generator.get_state(), fast_unit.generator.get_state())


@pytest.mark.parametrize("cls", [LSTM, GRU])
@pytest.mark.parametrize("variant", ["nan", "laplace", "nanis"])
def test_draws_that_cannot_be_one_window_are_made_step_by_step_alike(cls, variant):
    """Batch 3 x 5 units: 15 normals a step is not a multiple of 16 (torch fills blocks of 16)."""
    x = 2 * torch.randn(4, 3, 5, generator=torch.Generator().manual_seed(4))
    plain_layer, fast_layer = _layer(cls, variant, 5, False), _layer(cls, variant, 5, True)
    _assert_same_run(_run(fast_layer, x), _run(plain_layer, x))


@pytest.mark.parametrize("num_units", [16, 5])  # one draw; step by step (5 x 4 = 20 normals)
def test_window_noise_holds_the_plain_paths_draws_in_order(num_units):
    unit = activations.make_unit("nan", num_units, kind="tanh")
    unit.generator = torch.Generator().manual_seed(9)
    noise = fast_step.WindowNoise([unit, unit], 3, 4, torch.empty(0))
    unit.generator.manual_seed(9)
    shape = (4, num_units)
    for step in range(3):
        for drawn in noise.chunk(step, step + 1):
            want = unit.draw_noise(shape, dtype=torch.float32, device="cpu")
            assert torch.equal(drawn[0], want)


@pytest.mark.parametrize("cls", [LSTM, GRU])
@pytest.mark.parametrize("variant", ["nan", "nah", "nanil"])
def test_eval_mode_fast_step_matches_the_plain_path(cls, variant):
    x = 2 * torch.randn(5, 4, 16, generator=torch.Generator().manual_seed(3))
    results = []
    for fast in (False, True):
        layer = _layer(cls, variant, 16, fast).eval()
        with torch.inference_mode():
            output, state = layer(x)
        results.append((output, state))
    torch.testing.assert_close(results[1][0], results[0][0], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_saturation_is_tracked_on_the_last_step_as_in_the_plain_path(cls):
    x = 3 * torch.randn(5, 4, 16, generator=torch.Generator().manual_seed(3))
    stats = []
    for fast in (False, True):
        layer = _layer(cls, "nan", 16, fast)
        activations.track_saturation(layer, True)
        layer(x)
        stats.append(activations.saturation_stats(layer))
    assert stats[0].keys() == stats[1].keys()
    assert len(stats[0]) == (6 if cls is LSTM else 4)  # 3 (LSTM) or 2 (GRU) units, 2 layers
    for name, value in stats[0].items():
        assert stats[1][name] == pytest.approx(value, abs=1e-6), name


@pytest.mark.parametrize(("cls", "variant"), [(LSTM, "nan"), (GRU, "nanil")])
def test_inductor_kernel_matches_the_plain_path(monkeypatch, cls, variant):
    monkeypatch.setattr(fast_step, "BACKEND", "inductor")
    monkeypatch.setattr(fast_step, "STEPS_PER_CALL", 2)  # chunks 2 + 2 + 1: a short compile
    x = 2 * torch.randn(5, 4, 16, generator=torch.Generator().manual_seed(3))
    plain_layer, fast_layer = _layer(cls, variant, 16, False), _layer(cls, variant, 16, True)
    _assert_same_run(_run(fast_layer, x), _run(plain_layer, x))


def test_set_fast_step_switches_every_recurrent_layer():
    model = torch.nn.ModuleDict(
        {"a": _layer(LSTM, "nan", 4, False), "b": _layer(GRU, "nan", 4, False)}
    )
    assert set_fast_step(model, True) == 2
    assert model["a"].fast_step and model["b"].fast_step
    assert set_fast_step(torch.nn.Linear(2, 2), True) == 0


PTB_COMPILED = [
    "experiment=ptb_small_nan",
    *TASK_SHRINK["ptb"],
    "trainer.max_steps=6",
    "trainer.max_epochs=null",
    "trainer.eval_every=2",
    "trainer.log_every=1",
    "trainer.compile=true",
]


@pytest.mark.usefixtures("tiny_ptb")
def test_a_compiled_run_is_deterministic_and_resumes_bit_exactly(monkeypatch, straight_and_resumed):
    """Inductor's kernels: the same seed gives the same numbers, across a stop and resume."""
    monkeypatch.setattr(fast_step, "BACKEND", "inductor")
    monkeypatch.setattr(fast_step, "STEPS_PER_CALL", 2)
    straight, resumed = straight_and_resumed(PTB_COMPILED, stop_step=3)
    assert resumed["status"] == "completed"
    assert resumed["final"] == straight["final"] and resumed["test"] == straight["test"]


@pytest.mark.usefixtures("tiny_ptb")
def test_compile_without_a_compiler_is_a_one_line_error(monkeypatch, compose_config, tmp_path):
    from noisyexp.core.errors import ConfigError
    from noisyexp.training.trainer import train

    monkeypatch.setattr(fast_step.shutil, "which", lambda name: None)
    assert "no C++ compiler" in fast_step.compile_unavailable(torch.device("cpu"))
    message = re.escape("trainer.compile=true: no C++ compiler")
    with pytest.raises(ConfigError, match=message) as error:
        train(compose_config(*PTB_COMPILED), tmp_path / "run")
    assert "\n" not in str(error.value)


# --- the NTM's compiled step ------------------------------------------------------------------


def _ntm(variant: str, fast: bool, **options):
    from noisyexp.models.ntm import NTM

    torch.manual_seed(0)
    gate, cell = _factories(variant)
    model = NTM(
        5,
        3,
        gate_unit=gate,
        cell_unit=cell,
        controller_size=16,
        memory_size=6,
        memory_width=4,
        **options,
    )
    model.fast_step = fast
    if hasattr(model, "controller_in"):  # inputs past saturation, where every unit's noise acts
        model.controller_in.weight.data.mul_(4.0)
    activations.set_noise_generator(model, torch.Generator().manual_seed(5))
    return model


def _ntm_run(model, x, mask=None):
    x = x.clone().requires_grad_()
    output = model(x, mask)
    output.square().sum().backward()
    grads = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
    return output.detach(), x.grad, grads


def _assert_same_ntm_run(fast, plain, **tolerance) -> None:
    torch.testing.assert_close(fast[0], plain[0], **tolerance)
    torch.testing.assert_close(fast[1], plain[1], **tolerance)
    assert fast[2].keys() == plain[2].keys()
    for name, want in plain[2].items():
        torch.testing.assert_close(fast[2][name], want, msg=name, **tolerance)


@pytest.mark.parametrize("variant", ["reference", "nan", "nanil", "laplace"])
@pytest.mark.parametrize("faithful", [False, True])
def test_ntm_fast_step_matches_the_plain_path_with_the_same_noise(variant, faithful):
    """The same noise draws, in the same order: with Dynamo's eager backend, the same numbers."""
    from noisyexp.data.ntm_sequences import make_recall_batch_per_sequence

    options = {"controller_output": True, "content_addressing": True, "address_size": 2}
    options = options if faithful else {}
    generator = torch.Generator().manual_seed(2)
    if faithful:  # left-padded sequences of different lengths: the batch grows step by step
        x, _, mask = make_recall_batch_per_sequence(5, 2, 4, 1, 3, generator)
    else:
        x, mask = torch.randn(7, 5, 5, generator=generator), None
    fast = _ntm_run(_ntm(variant, True, **options), x, mask)
    plain = _ntm_run(_ntm(variant, False, **options), x, mask)
    _assert_same_ntm_run(fast, plain, rtol=1e-6, atol=1e-6)
    if variant in ("nan", "laplace"):  # the noise mattered: another stream, other numbers
        other = _ntm(variant, True, **options)
        activations.set_noise_generator(other, torch.Generator().manual_seed(6))
        assert not torch.equal(_ntm_run(other, x, mask)[0], fast[0])


def test_ntm_fast_step_in_eval_mode_and_its_saturation_match_the_plain_path():
    x = 2 * torch.randn(6, 3, 5, generator=torch.Generator().manual_seed(1))
    models = [_ntm("nan", fast) for fast in (True, False)]
    stats = []
    for model in models:
        activations.track_saturation(model, True)
        model.train()
        model(x)
        stats.append(activations.saturation_stats(model))
        model.eval()
    assert stats[0] and stats[0] == pytest.approx(stats[1], abs=1e-6)
    with torch.no_grad():
        torch.testing.assert_close(models[0](x), models[1](x), rtol=1e-6, atol=1e-6)


def test_ntm_with_an_lstm_controller_runs_the_plain_step():
    model = _ntm("nan", True, controller="lstm")
    assert set_fast_step(model, True) == 2  # the NTM and its controller's LSTM
    x = torch.randn(4, 2, 5, generator=torch.Generator().manual_seed(1))
    plain = _ntm("nan", False, controller="lstm")
    _assert_same_ntm_run(_ntm_run(model, x), _ntm_run(plain, x), rtol=1e-6, atol=1e-6)


def test_ntm_inductor_step_matches_the_plain_path(monkeypatch):
    from noisyexp.data.ntm_sequences import make_recall_batch_per_sequence

    monkeypatch.setattr(fast_step, "BACKEND", "inductor")
    options = {"controller_output": True, "content_addressing": True, "address_size": 2}
    x, _, mask = make_recall_batch_per_sequence(4, 2, 3, 1, 3, torch.Generator().manual_seed(2))
    fast = _ntm_run(_ntm("nan", True, **options), x, mask)
    plain = _ntm_run(_ntm("nan", False, **options), x, mask)
    _assert_same_ntm_run(fast, plain, rtol=1e-4, atol=1e-5)


def test_a_compiled_ntm_run_resumes_bit_exactly(straight_and_resumed):
    """The compiled NTM step (Dynamo's eager backend here) keeps exact resume: its noise is
    drawn from the run's generator, whose state the checkpoint carries."""
    overrides = [
        "experiment=ntm_recall_f_noisy_annealed",
        "task.batch_size=4",
        "task.eval_size=4",
        "task.controller_size=8",
        "task.memory_size=6",
        "trainer.max_steps=4",
        "trainer.eval_every=2",
        "trainer.compile=true",
    ]
    straight, resumed = straight_and_resumed(overrides, stop_step=2)
    assert resumed["status"] == "completed"
    assert resumed["final"] == straight["final"] and resumed["test"] == straight["test"]
