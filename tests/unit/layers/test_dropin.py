"""The nn.LSTM/GRU/LSTMCell/GRUCell drop-ins (noisyexp.layers.dropin) against torch's modules.

With reference units (sigmoid gates, tanh cells) a drop-in given torch's weights must give torch's
outputs, final states and gradients in every mode torch has; with noisy units the same code paths
must match a hand-written step and a sequence-by-sequence run.
"""

from __future__ import annotations

import copy
import functools
import importlib
import io
import subprocess
import sys
import textwrap
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

import noisyexp
from noisyexp import activations
from noisyexp.activations import schedules
from noisyexp.layers import dropin, fast_step
from noisyexp.layers.dropin import NoisyGRU, NoisyGRUCell, NoisyLSTM, NoisyLSTMCell
from noisyexp.layers.recurrent import set_fast_step

BATCH, TIME, INPUT, HIDDEN = 3, 5, 7, 11
TOL = {"rtol": 1e-10, "atol": 1e-12}
SEQUENCES = {"lstm": (nn.LSTM, NoisyLSTM), "gru": (nn.GRU, NoisyGRU)}
CELLS = {"lstm": (nn.LSTMCell, NoisyLSTMCell), "gru": (nn.GRUCell, NoisyGRUCell)}
#: ``fused`` of the drop-in: nn's kernel run per direction, or the loop over the units
PATHS = {"kernel": None, "loop": False}
#: (lengths, enforce_sorted) of packed batches: sorted; unsorted; ties and a length-1 sequence
PACKINGS = [([5, 4, 2], True), ([2, 5, 4], False), ([4, 1, 4], False)]


def _randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _pair(table: dict, kind: str, *, fused: bool | None = None, **config: Any):
    """(torch's module, the drop-in with reference units and torch's weights), float64."""
    reference_cls, dropin_cls = table[kind]
    torch.manual_seed(0)
    reference = reference_cls(INPUT, HIDDEN, **config).double()
    module = dropin_cls(INPUT, HIDDEN, **config, unit="reference", fused=fused, dtype=torch.float64)
    module.load_state_dict(reference.state_dict())
    return reference, module


def _state(kind: str, shape: tuple[int, ...], seed: int):
    parts = tuple(_randn(*shape, seed=seed + i) for i in range(2 if kind == "lstm" else 1))
    return parts if kind == "lstm" else parts[0]


def _as_tuple(state: Any) -> tuple[torch.Tensor, ...]:
    return tuple(state) if isinstance(state, (tuple, list)) else (state,)


def _outputs_and_grads(module: nn.Module, x: torch.Tensor, hx: Any, pack=None) -> dict:
    """Outputs, final states and the gradients of a fixed random loss of all of them w.r.t. the
    input, the initial state and every parameter, by name."""
    x = x.clone().requires_grad_(True)
    parts = () if hx is None else tuple(p.clone().requires_grad_(True) for p in _as_tuple(hx))
    state = None if hx is None else (parts if isinstance(hx, tuple) else parts[0])
    returned = module(x if pack is None else pack(x), state)
    result: dict[str, torch.Tensor] = {}
    if isinstance(module, (nn.RNNCellBase, NoisyLSTMCell, NoisyGRUCell)):  # the new state only
        tensors = list(_as_tuple(returned))
    else:
        output, final = returned
        if isinstance(output, PackedSequence):
            result["batch_sizes"] = output.batch_sizes
            for name in ("sorted_indices", "unsorted_indices"):
                if getattr(output, name) is not None:
                    result[name] = getattr(output, name)
            output = output.data
        tensors = [output, *_as_tuple(final)]
    generator = torch.Generator().manual_seed(99)
    weights = [torch.randn(t.shape, generator=generator, dtype=t.dtype) for t in tensors]
    loss = sum((w * t).sum() for w, t in zip(weights, tensors, strict=True))
    params = dict(module.named_parameters())
    grads = torch.autograd.grad(loss, [x, *parts, *params.values()])
    result.update({f"out{i}": t for i, t in enumerate(tensors)})
    result.update({f"grad_input{i}": g for i, g in enumerate(grads[: 1 + len(parts)])})
    result.update({f"grad_{n}": g for n, g in zip(params, grads[1 + len(parts) :], strict=True)})
    return result


def _assert_same(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key].shape == value.shape, key
        torch.testing.assert_close(got[key], value, **TOL, msg=key)


def _compare(reference: nn.Module, module: nn.Module, x, hx=None, pack=None) -> None:
    _assert_same(
        _outputs_and_grads(module, x, hx, pack), _outputs_and_grads(reference, x, hx, pack)
    )


# -- reference units: torch's numbers in every mode ---------------------------------------------


@pytest.mark.parametrize("kind", SEQUENCES)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("initial_state", [False, True])
def test_reference_units_match_torch_on_padded_batches(
    kind, path, num_layers, bidirectional, bias, batch_first, initial_state
):
    config = dict(
        num_layers=num_layers, bidirectional=bidirectional, bias=bias, batch_first=batch_first
    )
    reference, module = _pair(SEQUENCES, kind, fused=PATHS[path], **config)
    x = _randn(*((BATCH, TIME) if batch_first else (TIME, BATCH)), INPUT, seed=1)
    shape = (num_layers * (2 if bidirectional else 1), BATCH, HIDDEN)
    _compare(reference, module, x, _state(kind, shape, 2) if initial_state else None)
    assert module(x)[0].is_contiguous()  # as torch's (code may .view() it)


@pytest.mark.parametrize("kind", SEQUENCES)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize(("lengths", "enforce_sorted"), PACKINGS)
@pytest.mark.parametrize("initial_state", [False, True])
def test_reference_units_match_torch_on_packed_sequences(
    kind, path, num_layers, bidirectional, lengths, enforce_sorted, initial_state
):
    """Each sequence's own length, in both directions; final states at each one's last step."""
    reference, module = _pair(
        SEQUENCES, kind, fused=PATHS[path], num_layers=num_layers, bidirectional=bidirectional
    )
    pack = functools.partial(pack_padded_sequence, lengths=lengths, enforce_sorted=enforce_sorted)
    shape = (num_layers * (2 if bidirectional else 1), BATCH, HIDDEN)
    hx = _state(kind, shape, 2) if initial_state else None
    _compare(reference, module, _randn(TIME, BATCH, INPUT, seed=1), hx, pack)


@pytest.mark.parametrize("kind", SEQUENCES)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("initial_state", [False, True])
def test_reference_units_match_torch_on_unbatched_input(
    kind, path, bidirectional, batch_first, initial_state
):
    reference, module = _pair(
        SEQUENCES,
        kind,
        fused=PATHS[path],
        num_layers=2,
        bidirectional=bidirectional,
        batch_first=batch_first,
    )
    hx = _state(kind, (2 * (2 if bidirectional else 1), HIDDEN), 2) if initial_state else None
    _compare(reference, module, _randn(TIME, INPUT, seed=1), hx)


@pytest.mark.parametrize("kind", SEQUENCES)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_reference_units_match_torch_with_dropout_in_eval_mode(kind, path, bidirectional):
    reference, module = _pair(
        SEQUENCES, kind, fused=PATHS[path], num_layers=3, dropout=0.4, bidirectional=bidirectional
    )
    reference.eval()
    module.eval()
    _compare(reference, module, _randn(TIME, BATCH, INPUT, seed=1))


@pytest.mark.parametrize("kind", SEQUENCES)
def test_dropout_acts_between_layers_in_training_only(kind):
    _, module = _pair(SEQUENCES, kind, num_layers=2, dropout=0.5)
    x = _randn(TIME, BATCH, INPUT, seed=1)
    torch.manual_seed(1)
    first = module(x)[0]
    torch.manual_seed(2)
    assert not torch.allclose(module(x)[0], first)
    module.eval()
    assert torch.equal(module(x)[0], module(x)[0])


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("initial_state", [False, True])
def test_reference_cells_match_torch(kind, path, bias, batched, initial_state):
    reference, module = _pair(CELLS, kind, fused=PATHS[path], bias=bias)
    x = _randn(*((BATCH,) if batched else ()), INPUT, seed=1)
    shape = (BATCH, HIDDEN) if batched else (HIDDEN,)
    hx = _state(kind, shape, 2) if initial_state else None
    _compare(reference, module, x, hx)


@pytest.mark.parametrize("table", [SEQUENCES, CELLS], ids=["sequence", "cell"])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_same_seed_gives_torchs_initial_weights(table, kind):
    reference_cls, dropin_cls = table[kind]
    config = {"bias": False} if table is CELLS else {"num_layers": 2, "bidirectional": True}
    torch.manual_seed(3)
    want = reference_cls(INPUT, HIDDEN, **config).state_dict()
    torch.manual_seed(3)
    got = dropin_cls(INPUT, HIDDEN, **config, unit="nan").rnn_state_dict()
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert torch.equal(got[key], value), key


# -- noisy units --------------------------------------------------------------------------------


ALL_CLASSES = [NoisyLSTM, NoisyGRU, NoisyLSTMCell, NoisyGRUCell]
NOISY_CONFIG = {NoisyLSTM: {"num_layers": 2, "bidirectional": True}, NoisyGRU: {"num_layers": 2}}
#: layers x directions of NOISY_CONFIG: the first dimension of the sequence modules' states
NOISY_LAYERS = {NoisyLSTM: 4, NoisyGRU: 2}


def _noisy(cls, unit: str = "nan", seed: int = 0, **config: Any) -> nn.Module:
    torch.manual_seed(seed)
    return cls(INPUT, HIDDEN, **config, unit=unit, dtype=torch.float64)


def _input_for(cls) -> torch.Tensor:
    cell = cls in (NoisyLSTMCell, NoisyGRUCell)
    return _randn(*((BATCH,) if cell else (TIME, BATCH)), INPUT, seed=1) * 2


def _state_for(cls) -> Any:
    """An initial state large enough that the cell output units saturate from the first step."""
    kind = "lstm" if cls in (NoisyLSTM, NoisyLSTMCell) else "gru"
    cell = cls in (NoisyLSTMCell, NoisyGRUCell)
    parts = _as_tuple(
        _state(kind, (BATCH, HIDDEN) if cell else (NOISY_LAYERS[cls], BATCH, HIDDEN), 3)
    )
    parts = tuple(3 * part for part in parts)
    return parts if kind == "lstm" else parts[0]


def _saturating(module: nn.Module) -> nn.Module:
    """4 x the weights: the noise (and the gradient of p) of the paper's units acts only where
    a unit saturates."""
    with torch.no_grad():
        for weight in module.parameters(recurse=False):
            weight.mul_(4)
    return module


def _first(result: Any) -> torch.Tensor:
    return result[0] if isinstance(result, tuple) else result


@pytest.mark.parametrize("cls", ALL_CLASSES)
@pytest.mark.parametrize("unit", ["nan", "nah", "laplace", "nanil", "nanis"])
def test_eval_is_deterministic_and_training_draws_reproducible_noise(cls, unit):
    # NANIS's and NANIL's noise moves a saturated unit off its bound only when it is large
    # (NANIL's σ(x) vanishes near the bound: c (sigmoid(pΔ) − 1/2)² with Δ = h(x) − u(x))
    knobs = {"nanis": {"c": 5.0}, "nanil": {"c": 50.0}}.get(unit, {})
    module = _saturating(_noisy(cls, unit, **NOISY_CONFIG.get(cls, {}), **knobs))
    x, hx = _input_for(cls), _state_for(cls)
    module.eval()
    test_time = _first(module(x, hx))
    assert torch.equal(_first(module(x, hx)), test_time)
    module.train()
    runs = []
    for seed in (5, 5, 6):
        activations.set_noise_generator(module, torch.Generator().manual_seed(seed))
        runs.append(_first(module(x, hx)))
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])
    assert not torch.equal(runs[0], test_time)


@pytest.mark.parametrize("cls", ALL_CLASSES)
def test_gradients_reach_every_learned_p(cls):
    module = _saturating(_noisy(cls, "nan", **NOISY_CONFIG.get(cls, {})))
    _first(module(_input_for(cls), _state_for(cls))).square().sum().backward()
    learned = [u.p for u in activations.noisy_modules(module) if isinstance(u.p, nn.Parameter)]
    expected = {NoisyLSTM: 3 * 4, NoisyGRU: 2 * 2, NoisyLSTMCell: 3, NoisyGRUCell: 2}[cls]
    assert len(learned) == expected
    for p in learned:
        assert p.grad is not None and p.grad.abs().sum() > 0


@pytest.mark.parametrize("cls", ALL_CLASSES)
def test_units_take_their_role_kind_and_knobs(cls):
    module = cls(
        INPUT, HIDDEN, unit="nah", alpha=1.3, gate_knobs={"c": 0.05}, cell_knobs={"alpha": 1.2}
    )
    units = activations.noisy_modules(module)
    assert units
    for unit in units:
        role = getattr(unit, activations.ROLE_ATTRIBUTE)
        assert unit.kind == activations.ROLES[role] and unit.half_normal
        if role == "gate":
            assert (unit.alpha, float(unit.c)) == pytest.approx((1.3, 0.05))
        else:  # the paper's default c of a tanh unit; the cell's own alpha wins
            assert (unit.alpha, float(unit.c)) == pytest.approx((1.2, 0.5))
    assert activations.set_noise_scale(module, 2.0, roles=["cell"]) == sum(
        getattr(u, activations.ROLE_ATTRIBUTE) == "cell" for u in units
    )
    assert {float(u.c) for u in units if u.noise_role == "cell"} == {2.0}
    assert [float(u.c) for u in units if u.noise_role == "gate"] == pytest.approx(
        [0.05] * sum(u.noise_role == "gate" for u in units)
    )


@pytest.mark.parametrize("unit", ["reference", "hard"])
def test_reference_and_hard_pick_a_unit_per_role(unit):
    module = NoisyLSTM(INPUT, HIDDEN, unit=unit)
    units = module.rnns.l0.units[0]
    want = {
        "reference": (activations.Sigmoid, activations.Tanh),
        "hard": (
            activations.HardSigmoid,
            activations.HardTanh,
        ),
    }[unit]
    assert type(units.gate) is want[0]
    assert type(units.candidate) is want[1] and type(units.cell_output) is want[1]
    assert module.fused == (unit == "reference")


def _hand_lstm(units, weights, x, h, c):
    """Independent LSTM equations (gate order i, f, g, o), the units called as the layer does."""
    w_ih, w_hh, b_ih, b_hh = weights
    outputs = []
    for x_t in x:
        i, f, g, o = (x_t @ w_ih.t() + b_ih + h @ w_hh.t() + b_hh).chunk(4, dim=1)
        i, f, o = units.gate(torch.cat([i, f, o], dim=1)).chunk(3, dim=1)
        c = f * c + i * units.candidate(g)
        h = o * units.cell_output(c)
        outputs.append(h)
    return torch.stack(outputs), h, c


def _hand_gru(units, weights, x, h):
    """Independent GRU equations (gate order r, z, n)."""
    w_ih, w_hh, b_ih, b_hh = weights
    outputs = []
    for x_t in x:
        xr, xz, xn = (x_t @ w_ih.t() + b_ih).chunk(3, dim=1)
        hr, hz, hn = (h @ w_hh.t() + b_hh).chunk(3, dim=1)
        r, z = units.gate(torch.cat([xr + hr, xz + hz], dim=1)).chunk(2, dim=1)
        n = units.candidate(xn + r * hn)
        h = (1 - z) * n + z * h
        outputs.append(h)
    return torch.stack(outputs), h


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("cell", [False, True])
def test_noisy_units_match_hand_written_equations(kind, training, cell):
    """The same noise (the units draw in the same order from reseeded generators)."""
    cls = (CELLS if cell else SEQUENCES)[kind][1]
    module = _noisy(cls, "nan").train(training)
    layer = module.rnn if cell else module.rnns.l0
    suffix = "" if cell else "_l0"
    weights = [
        getattr(module, f"{n}{suffix}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    ]
    x = _randn(1 if cell else TIME, BATCH, INPUT, seed=1) * 2
    state = [_randn(BATCH, HIDDEN, seed=s) for s in (2, 3)][: 2 if kind == "lstm" else 1]
    activations.set_noise_generator(module, torch.Generator().manual_seed(4))
    if cell:
        got = _as_tuple(module(x[0], tuple(state) if kind == "lstm" else state[0]))
    else:
        hx = tuple(s.unsqueeze(0) for s in state)
        output, final = module(x, hx if kind == "lstm" else hx[0])
        got = (output, *(f[0] for f in _as_tuple(final)))
    activations.set_noise_generator(module, torch.Generator().manual_seed(4))
    hand = _hand_lstm if kind == "lstm" else _hand_gru
    want = hand(layer.units[0], weights, x, *state)
    want = want[1:] if cell else want
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, **TOL)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_a_packed_batch_equals_each_sequence_run_alone(kind, batch_first):
    """Noisy units (eval): packing changes nothing but which steps run; both directions."""
    module = _noisy(
        SEQUENCES[kind][1], num_layers=2, bidirectional=True, batch_first=batch_first
    ).eval()
    lengths = [2, 5, 4]
    x = _randn(TIME, BATCH, INPUT, seed=1)
    hx = _state(kind, (4, BATCH, HIDDEN), 2)
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    output, final = module(packed, hx)
    padded, _ = torch.nn.utils.rnn.pad_packed_sequence(output)
    for b, length in enumerate(lengths):
        alone = x[:length, b]  # unbatched (T, F): batch_first does not apply
        own_hx = tuple(p[:, b] for p in _as_tuple(hx))
        own_output, own_final = module(alone, own_hx if kind == "lstm" else own_hx[0])
        torch.testing.assert_close(padded[:length, b], own_output, **TOL)
        for got, want in zip(_as_tuple(final), _as_tuple(own_final), strict=True):
            torch.testing.assert_close(got[:, b], want, **TOL)


# -- state dicts --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("bias", [True, False])
def test_torchs_state_dict_loads_strictly_and_units_keep_theirs(kind, bias):
    reference = SEQUENCES[kind][0](INPUT, HIDDEN, 2, bias=bias, bidirectional=True)
    module = SEQUENCES[kind][1](INPUT, HIDDEN, 2, bias=bias, bidirectional=True, unit="nan")
    units_before = {k: v.clone() for k, v in module.state_dict().items() if k.startswith("rnns.")}
    assert units_before and all(".units." in k for k in units_before)
    result = module.load_state_dict(reference.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for key, value in reference.state_dict().items():
        assert torch.equal(module.state_dict()[key], value), key
    for key, value in units_before.items():
        assert torch.equal(module.state_dict()[key], value), key
    assert set(module.state_dict()) == set(reference.state_dict()) | set(units_before)
    assert any(key.endswith("_reverse") for key in module.rnn_state_dict())


@pytest.mark.parametrize("table", [SEQUENCES, CELLS], ids=["sequence", "cell"])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_state_dicts_round_trip_both_ways(table, kind):
    reference_cls, dropin_cls = table[kind]
    config = {} if table is CELLS else {"num_layers": 2, "bidirectional": True}
    torch.manual_seed(1)
    source = dropin_cls(INPUT, HIDDEN, **config, unit="nan", c=0.7)
    torch.manual_seed(2)
    target = dropin_cls(INPUT, HIDDEN, **config, unit="nan")
    target.load_state_dict(source.state_dict())  # noisy -> noisy: units too (p, c)
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key
    reference = reference_cls(INPUT, HIDDEN, **config)
    reference.load_state_dict(source.rnn_state_dict())  # noisy -> torch, strictly
    back = dropin_cls(INPUT, HIDDEN, **config, unit="nan")
    back.load_state_dict(reference.state_dict())  # torch -> noisy
    for key, value in source.rnn_state_dict().items():
        assert torch.equal(back.state_dict()[key], value), key
    loose = reference.load_state_dict(source.state_dict(), strict=False)
    assert loose.unexpected_keys and all(".units." in k for k in loose.unexpected_keys)
    assert not loose.missing_keys


def test_incomplete_state_dicts_are_still_errors():
    module = NoisyLSTM(INPUT, HIDDEN, 2, unit="nan")
    partial_units = module.state_dict()
    del partial_units["rnns.l1.units.0.gate.p"]  # some unit entries: all of them are required
    with pytest.raises(RuntimeError, match=r"rnns\.l1\.units\.0\.gate\.p"):
        module.load_state_dict(partial_units)
    weights = nn.LSTM(INPUT, HIDDEN, 2).state_dict()
    del weights["bias_hh_l1"]  # a missing weight is missing whatever the unit entries
    with pytest.raises(RuntimeError, match="bias_hh_l1"):
        module.load_state_dict(weights)
    with pytest.raises(RuntimeError, match="Unexpected"):
        NoisyLSTM(INPUT, HIDDEN, 2, unit="reference").load_state_dict(module.state_dict())


class _Tagger(nn.Module):
    """A user's model: embedding, a batch-first 2-layer LSTM with dropout, a linear read-out."""

    def __init__(self, rnn_class=nn.LSTM, vocab: int = 6) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, 8)
        self.rnn = rnn_class(8, 24, num_layers=2, batch_first=True, dropout=0.1)
        self.out = nn.Linear(24, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        output, _ = self.rnn(self.embed(tokens))
        return self.out(output)


def test_a_checkpoint_of_the_torch_model_loads_into_the_noisy_one():
    old = _Tagger()
    new = _Tagger(functools.partial(NoisyLSTM, unit="nah"))
    assert not new.load_state_dict(old.state_dict()).missing_keys  # strict, nested
    assert torch.equal(new.rnn.weight_hh_l1, old.rnn.weight_hh_l1)


@pytest.mark.parametrize("table", [SEQUENCES, CELLS], ids=["sequence", "cell"])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_from_rnn_converts_configuration_weights_dtype_and_mode(table, kind):
    reference_cls, dropin_cls = table[kind]
    if table is CELLS:
        reference = reference_cls(INPUT, HIDDEN, bias=False).double().eval()
        x = _randn(BATCH, INPUT, seed=1)
    else:
        reference = reference_cls(
            INPUT, HIDDEN, 2, bias=False, batch_first=True, dropout=0.3, bidirectional=True
        )
        reference = reference.double().eval()
        x = _randn(BATCH, TIME, INPUT, seed=1)
    module = dropin_cls.from_rnn(reference, unit="reference")
    assert isinstance(module, dropin_cls) and not module.training
    weight = module.weight_ih if table is CELLS else module.weight_ih_l0
    assert weight.dtype == torch.float64
    _compare(reference, module, x)
    noisy = dropin_cls.from_rnn(reference, unit="nanil", c=0.3)
    scales = [float(u.c) for u in activations.noisy_modules(noisy)]
    assert scales and scales == pytest.approx([0.3] * len(scales))
    wrong = (CELLS if table is SEQUENCES else SEQUENCES)[kind][0](INPUT, HIDDEN)
    with pytest.raises(TypeError, match="from_rnn"):
        dropin_cls.from_rnn(wrong)


def test_copies_pickles_assign_loading_and_dtype_moves_keep_the_weights_in_use():
    """The weights live once, on the owner, and are read at each call."""
    module = NoisyLSTM(INPUT, HIDDEN, 2, bidirectional=True, unit="nan").eval()
    x = _randn(TIME, BATCH, INPUT, seed=1).float()
    want = module(x)[0]
    buffer = io.BytesIO()
    torch.save(module, buffer)
    buffer.seek(0)
    assigned = NoisyLSTM(INPUT, HIDDEN, 2, bidirectional=True, unit="nan").eval()
    assigned.load_state_dict(module.state_dict(), assign=True)
    swapped = dict(module.named_parameters())
    for other in (copy.deepcopy(module), torch.load(buffer, weights_only=False), assigned):
        assert torch.equal(other(x)[0], want)
    zeroed = {k: torch.zeros_like(v) if k.startswith("weight") else v for k, v in swapped.items()}
    assert torch.func.functional_call(module, zeroed, (x,))[0].abs().max() < 1
    assert not torch.equal(torch.func.functional_call(module, zeroed, (x,))[0], want)
    double = copy.deepcopy(module).double()
    torch.testing.assert_close(double(x.double())[0].float(), want)
    assert len(module.all_weights) == 4 and module.all_weights[3][0] is module.weight_ih_l1_reverse
    assert [name for name, _ in module.named_parameters()][:4] == [
        "weight_ih_l0",
        "weight_hh_l0",
        "bias_ih_l0",
        "bias_hh_l0",
    ]


def test_the_module_docstring_example_runs():
    lines = []
    for line in dropin.__doc__.split("::\n", 1)[1].splitlines():
        if line and not line.startswith("    "):
            break  # the first unindented line ends the literal block
        lines.append(line)
    code = textwrap.dedent("\n".join(lines))
    assert "NoisyLSTM(" in code and "set_noise_scale" in code
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # the snippet the README reuses
    assert namespace["output"].shape == (8, 20, 64)
    assert namespace["h_n"].shape == namespace["c_n"].shape == (2, 8, 64)
    assert float(namespace["rnn"].rnns.l1.units[0].cell_output.c) == 30.0  # c0 until step 200


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["sigmoid", "hard_tanh", "nan2", 3])
def test_unknown_units_are_refused_with_the_choices(unit):
    with pytest.raises(ValueError, match="choose one of: reference, hard, nan, nah") as info:
        NoisyLSTM(INPUT, HIDDEN, unit=unit)
    assert repr(unit) in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"unit": "nan", "sigma": 0.1}, r"gate units: .*does not take \['sigma'\]"),
        ({"unit": "reference", "alpha": 1.2}, r"gate units: .*takes no parameters"),
        ({"unit": "nah", "cell_knobs": {"bogus": 1}}, r"cell units: .*\['bogus'\]"),
        ({"unit": "nan", "c": -1.0}, r"noise scale"),
    ],
)
@pytest.mark.parametrize("cls", ALL_CLASSES)
def test_knobs_no_unit_takes_are_errors(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(INPUT, HIDDEN, **kwargs)


def test_bad_constructor_arguments_are_errors():
    with pytest.raises(TypeError, match="gate_knobs must be a dict"):
        NoisyGRU(INPUT, HIDDEN, gate_knobs=[("c", 1.0)])
    with pytest.raises(ValueError, match="proj_size"):
        NoisyLSTM(INPUT, HIDDEN, proj_size=4)
    with pytest.raises(ValueError, match="dropout"):
        NoisyLSTM(INPUT, HIDDEN, 2, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        NoisyGRUCell(INPUT, 0)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        NoisyLSTM(INPUT, HIDDEN, dropout=0.2)


def _bad_calls(kind: str, cell: bool) -> dict[str, tuple]:
    def state(*shape):
        return _state(kind, shape, 2)

    if cell:
        return {
            "rank": (_randn(1, BATCH, INPUT, seed=1), None),
            "features": (_randn(BATCH, INPUT - 1, seed=1), None),
            "batch": (_randn(BATCH, INPUT, seed=1), state(BATCH - 1, HIDDEN)),
            "hidden": (_randn(BATCH, INPUT, seed=1), state(BATCH, HIDDEN - 1)),
        }
    return {
        "rank": (_randn(TIME, BATCH, INPUT, 1, seed=1), None),
        "features": (_randn(TIME, BATCH, INPUT - 1, seed=1), None),
        "hidden": (_randn(TIME, BATCH, INPUT, seed=1), state(2, BATCH, HIDDEN - 1)),
        "layers": (_randn(TIME, BATCH, INPUT, seed=1), state(1, BATCH, HIDDEN)),
        "unbatched_3d_state": (_randn(TIME, INPUT, seed=1), state(2, BATCH, HIDDEN)),
        "batched_2d_state": (_randn(TIME, BATCH, INPUT, seed=1), state(2, HIDDEN)),
        "dtype": (_randn(TIME, BATCH, INPUT, seed=1).float(), None),
        "no_steps": (_randn(0, BATCH, INPUT, seed=1), None),
    }


def _without_owner(message: str) -> str:
    """A message without its leading ``ClassName: `` (nn's own names differ from ours)."""
    head, sep, rest = message.partition(": ")
    return rest if sep and head.isidentifier() else message


@pytest.mark.parametrize("cell", [False, True], ids=["sequence", "cell"])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_wrong_inputs_raise_what_torch_raises(cell, kind):
    """torch's module is the oracle: the same exception type, the same message (but the dtype's,
    which names torch's "RNN" kernel)."""
    config = {} if cell else {"num_layers": 2}
    reference, module = _pair(CELLS if cell else SEQUENCES, kind, **config)
    for name, (x, hx) in _bad_calls(kind, cell).items():
        with pytest.raises(Exception) as torchs:
            reference(x, hx)
        with pytest.raises(torchs.type) as ours:
            module(x, hx)
        if name != "dtype":
            assert _without_owner(str(ours.value)) == _without_owner(str(torchs.value)), name


# -- fast_step ----------------------------------------------------------------------------------


def test_set_fast_step_reaches_every_inner_layer():
    model = nn.ModuleList(
        [NoisyLSTM(INPUT, HIDDEN, 2, bidirectional=True), NoisyGRUCell(INPUT, HIDDEN)]
    )
    assert set_fast_step(model, True) == 1 + 4 + 1 + 1  # each owner and its inner layers
    assert all(m.fast_step for m in model)
    assert all(layer.fast_step for layer in model[0].rnns.values()) and model[1].rnn.fast_step
    model[0].fast_step = False
    assert not any(layer.fast_step for layer in model[0].rnns.values())
    assert NoisyLSTM(INPUT, HIDDEN, fast_step=True).rnns.l0.fast_step


def _fast_and_plain(cls, unit: str, pack=None, **config: Any) -> tuple[dict, dict]:
    """The same module (same weights, same noise seed) with fast_step on and off."""
    results = []
    for fast in (True, False):
        module = _noisy(cls, unit, **config, fast_step=fast)
        activations.set_noise_generator(module, torch.Generator().manual_seed(8))
        results.append(_outputs_and_grads(module, _input_for(cls), None, pack))
    return results[0], results[1]


def _assert_close_runs(fast: dict, plain: dict) -> None:
    assert fast.keys() == plain.keys()
    for key, value in plain.items():
        torch.testing.assert_close(fast[key], value, rtol=1e-9, atol=1e-10, msg=key)


@pytest.fixture
def eager_dynamo(monkeypatch):
    """Dynamo's whole-graph capture without Inductor's compile (as tests/test_fast_step.py)."""
    monkeypatch.setattr(fast_step, "BACKEND", "eager")
    monkeypatch.setattr(fast_step, "_COMPILED", {})
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


@pytest.mark.slow  # even without Inductor, Dynamo's captures take ~10 s here
@pytest.mark.usefixtures("eager_dynamo")
@pytest.mark.parametrize("cls", [NoisyLSTM, NoisyGRU])
def test_fast_step_matches_the_plain_path_on_packed_bidirectional_input(cls):
    """Dynamo captures the kernel of each run of equal batch size (3, 2, 1 rows here)."""
    pack = functools.partial(pack_padded_sequence, lengths=[2, 5, 4], enforce_sorted=False)
    fast, plain = _fast_and_plain(cls, "nan", pack, num_layers=2, bidirectional=True)
    _assert_close_runs(fast, plain)


@pytest.mark.slow
@pytest.mark.skipif(
    fast_step.compile_unavailable(torch.device("cpu")) is not None,
    reason=str(fast_step.compile_unavailable(torch.device("cpu"))),
)
@pytest.mark.parametrize("cls", [NoisyLSTM, NoisyGRU])
def test_inductor_fast_step_matches_the_plain_path(monkeypatch, cls):
    monkeypatch.setattr(fast_step, "BACKEND", "inductor")
    monkeypatch.setattr(fast_step, "_COMPILED", {})
    # one step per call: one kernel (and its backward) to compile for every layer and direction;
    # multi-step chunks are the inner layers' business (tests/test_fast_step.py)
    monkeypatch.setattr(fast_step, "STEPS_PER_CALL", 1)
    torch._dynamo.reset()
    try:
        fast, plain = _fast_and_plain(cls, "nah", num_layers=2, bidirectional=True)
    finally:
        torch._dynamo.reset()
    _assert_close_runs(fast, plain)


# -- a user's model trains ----------------------------------------------------------------------


def test_replacing_nn_lstm_by_noisy_lstm_in_a_model_trains_it():
    """The task: at each step, the token one step earlier (needs the recurrent state)."""
    torch.manual_seed(0)
    model = _Tagger(functools.partial(NoisyLSTM, unit="nah"))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    generator = torch.Generator().manual_seed(1)

    def batch() -> tuple[torch.Tensor, torch.Tensor]:
        tokens = torch.randint(0, 6, (16, 10), generator=generator)
        return tokens, tokens[:, :-1]

    held_out = batch()

    def held_out_loss() -> float:
        model.eval()
        with torch.no_grad():
            logits = model(held_out[0])[:, 1:]
        model.train()
        return float(nn.functional.cross_entropy(logits.reshape(-1, 6), held_out[1].reshape(-1)))

    before = held_out_loss()
    for _ in range(40):
        tokens, targets = batch()
        logits = model(tokens)[:, 1:]
        loss = nn.functional.cross_entropy(logits.reshape(-1, 6), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = held_out_loss()
    assert before > 1.5  # about ln 6 = 1.79: chance
    assert after < 0.3 * before, (before, after)  # ~0.05 after 40 steps at 3 seeds tried


# -- the package's front door -------------------------------------------------------------------


def test_top_level_names_are_the_library_objects():
    homes = {
        "NoisyLSTM": dropin,
        "NoisyGRU": dropin,
        "NoisyLSTMCell": dropin,
        "NoisyGRUCell": dropin,
        "make_unit": activations,
        "set_noise_generator": activations,
        "Anneal": schedules,
        "Constant": schedules,
        "Linear": schedules,
        "Exponential": schedules,
        "make_schedule": schedules,
        "set_noise_scale": schedules,
    }
    assert set(noisyexp.__all__) == {"__version__", *homes}
    for name, module in homes.items():
        assert getattr(noisyexp, name) is getattr(module, name), name
    assert set(noisyexp.__all__) <= set(dir(noisyexp))
    assert not {"_typing", "_importlib", "_LAZY"} & set(dir(noisyexp))
    assert isinstance(noisyexp.__version__, str)
    with pytest.raises(AttributeError, match="no_such_name"):
        noisyexp.no_such_name  # noqa: B018
    layers = importlib.import_module("noisyexp.layers")
    assert layers.__all__ == ["NoisyGRU", "NoisyGRUCell", "NoisyLSTM", "NoisyLSTMCell"]
    assert layers.NoisyLSTM is NoisyLSTM


@pytest.mark.slow
def test_importing_noisyexp_does_not_import_torch():
    code = (
        "import sys, noisyexp; v = noisyexp.__version__; d = dir(noisyexp);"
        "assert 'torch' not in sys.modules, 'torch imported'; print(v)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == noisyexp.__version__
