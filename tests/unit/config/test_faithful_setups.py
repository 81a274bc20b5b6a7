"""Tests of issue 11's faithful setups: role-targeted annealing, clipping, curriculum patience,
the NTM options of the authors' D-NTM recall script and the paper-scale NLL."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from noisyexp import activations
from noisyexp.activations import schedules
from noisyexp.config.act import ROLE_ATTRIBUTE, build_units
from noisyexp.config.schema import ActConfig, UnitConfig
from noisyexp.core.errors import ConfigError
from noisyexp.data.ntm_sequences import make_recall_batch, make_recall_batch_per_sequence
from noisyexp.models.counter import UniqueCounter
from noisyexp.models.ntm import NTM
from noisyexp.models.ntm_addressing import content_weights
from noisyexp.tasks.base import Units
from noisyexp.tasks.ntm_tasks import AssocRecallConfig, AssocRecallTask
from noisyexp.tasks.unique_count import UniqueCountConfig, UniqueCountTask
from noisyexp.training.step_schedules import StepSchedules

CPU = torch.device("cpu")
PLAIN = Units(gate=lambda n: nn.Sigmoid(), cell=lambda n: nn.Tanh())


def _nan_counter(**act: object) -> nn.Module:
    config = ActConfig(name="nan", gate=UnitConfig(type="nan"), cell=UnitConfig(type="nan"), **act)
    units = build_units(config)
    return UniqueCounter(5, 4, 3, 6, gate_unit=units.gate, cell_unit=units.cell)


def _scales(model: nn.Module) -> dict[str, set[float]]:
    found: dict[str, set[float]] = {}
    for module in model.modules():
        if isinstance(module, activations.NoisyUnit):
            role = getattr(module, ROLE_ATTRIBUTE)
            found.setdefault(role, set()).add(round(float(module.c), 6))
    return found


# --- role-targeted annealing --------------------------------------------------------------


def test_built_units_carry_their_role():
    assert set(_scales(_nan_counter())) == {"gate", "cell"}


def test_set_noise_scale_with_roles_cell_sets_only_the_cell_units():
    model = _nan_counter()
    count = schedules.set_noise_scale(model, 30.0, ["cell"])
    assert count >= 1
    assert _scales(model) == {"gate": {0.15}, "cell": {30.0}}  # gates keep the NAN default


def test_set_noise_scale_by_default_sets_both_roles():
    model = _nan_counter()
    schedules.set_noise_scale(model, 30.0)
    assert _scales(model) == {"gate": {30.0}, "cell": {30.0}}


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (None, {"gate": {30.0}, "cell": {30.0}}),
        ("[gate,cell]", {"gate": {30.0}, "cell": {30.0}}),
        ("[cell]", {"gate": {0.15}, "cell": {30.0}}),
        ("[gate]", {"gate": {30.0}, "cell": {0.5}}),
    ],
)
def test_step_schedules_anneal_the_roles_noise_roles_names(compose_config, roles, expected):
    overrides = ["experiment=unique_nan_annealed"] + ([f"noise.roles={roles}"] if roles else [])
    cfg = compose_config(*overrides)
    model = _nan_counter()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    _, c = StepSchedules(cfg, optimizer, model, steps_per_epoch=10).apply(0)
    assert c == 30.0
    assert _scales(model) == expected


@pytest.mark.parametrize("roles", ["[]", "[cells]"])
def test_bad_noise_roles_are_a_config_error(compose_config, roles):
    with pytest.raises(Exception, match=r"noise\.roles"):
        compose_config("noise=anneal", f"noise.roles={roles}")


def test_faithful_annealed_presets_anneal_cells_only(compose_config):
    for preset in (
        "unique_f_nan_annealed",
        "unique_f_nan_alpha1_annealed",
        "unique_f_nanil_annealed",
        "unique_f_nanil_softplus_annealed",
    ):
        cfg = compose_config(f"experiment={preset}")
        assert cfg.noise.name == "anneal" and cfg.noise.roles == ["cell"], preset
    assert compose_config("experiment=unique_nan_annealed").noise.roles is None


# --- clipping -----------------------------------------------------------------------------


def _clips(model: nn.Module) -> dict[str, set[bool]]:
    found: dict[str, set[bool]] = {}
    for module in model.modules():
        if isinstance(module, activations.NoisyOutput):
            found.setdefault(getattr(module, ROLE_ATTRIBUTE), set()).add(module.clip_output)
    return found


def test_cell_clip_clips_the_cells_and_never_the_gates():
    config = ActConfig(
        name="nan", gate=UnitConfig(type="nan"), cell=UnitConfig(type="nan", clip=True)
    )
    units = build_units(config)
    model = UniqueCounter(5, 4, 3, 6, gate_unit=units.gate, cell_unit=units.cell)
    assert _clips(model) == {"gate": {False}, "cell": {True}}
    assert _clips(_nan_counter(clip=True)) == {"gate": {True}, "cell": {True}}  # act.clip: both


@pytest.mark.parametrize(
    "preset",
    [
        "unique_f_nan",
        "unique_f_nan_c0",
        "unique_f_nan_alpha1",
        "unique_f_nan_annealed",
        "unique_f_nan_alpha1_annealed",
    ],
)
def test_faithful_nan_rows_clip_cells_only(compose_config, preset):
    act = compose_config(f"experiment={preset}").act
    assert act.cell.clip is True and act.gate.clip is False and act.clip is None


def test_faithful_ablations_set_their_knob(compose_config):
    assert compose_config("experiment=unique_f_nan_c0").act.c == 0.0
    assert compose_config("experiment=unique_f_nan_alpha1").act.alpha == 1.0
    assert compose_config("experiment=unique_f_hard").act.cell.type == "hard_tanh"
    nanil = compose_config("experiment=unique_f_nanil_softplus_annealed").act
    assert nanil.gate.softplus and nanil.cell.softplus
    assert not compose_config("experiment=unique_f_nanil_annealed").act.cell.softplus


@pytest.mark.parametrize(
    ("preset", "alpha", "c"),
    [("mnist_nan", 1.15, 0.5), ("mnist_nan_c0", 1.15, 0.0), ("mnist_nan_alpha1", 1.0, 0.5)],
)
def test_mnist_ablations_build_units_with_only_their_knob_changed(compose_config, preset, alpha, c):
    """The MNIST hidden layer's units: c = 0 leaves NAN's slope, alpha = 1 leaves its noise."""
    unit = build_units(compose_config(f"experiment={preset}").act).cell(7)
    assert isinstance(unit, activations.NoisyUnit)
    assert float(unit.alpha) == pytest.approx(alpha)
    assert float(unit.c) == pytest.approx(c)


# --- unique counting: curriculum patience, scalar input --------------------------------------


def _unique_task(**overrides: object) -> UniqueCountTask:
    params = {"train_size": 64, "valid_size": 8, "test_size": 8, "batch_size": 4, **overrides}
    task = UniqueCountTask(UniqueCountConfig(**params), data_dir=".", seed=0, device=CPU)
    task.setup()
    return task


def test_faithful_curriculum_waits_eight_missed_evaluations():
    task = _unique_task(curriculum=True, curriculum_step=4, curriculum_patience=8)
    for _ in range(7):
        task.on_evaluate({"curriculum_acc": 0.5}, 0)
    assert task.current_len == 6  # 7 misses: still at the start length
    task.on_evaluate({"curriculum_acc": 0.5}, 0)
    assert task.current_len == 10 and task.evals_at_len == 0  # the 8th miss moves it on
    task.on_evaluate({"curriculum_acc": 0.95}, 0)
    assert task.current_len == 14  # mastery moves it at once


def test_faithful_curriculum_preset_is_mastery_based(compose_config):
    task = compose_config("experiment=unique_f_curriculum").task
    assert task.curriculum and task.curriculum_patience >= 8


def test_scalar_input_feeds_one_number_per_value():
    model = UniqueCounter(
        11, 4, 3, 12, gate_unit=PLAIN.gate, cell_unit=PLAIN.cell, scalar_input=True
    )
    assert model.lstm.weight_ih_l0.shape[1] == 1
    tokens = torch.randint(11, (7, 5))
    assert model(tokens).shape == (5, 12)
    task = _unique_task(scalar_input=True)
    assert task.build_model(PLAIN).scalar_input


# --- NTM: output from the controller only ---------------------------------------------------


def _ntm(**options: object) -> NTM:
    torch.manual_seed(0)
    return NTM(
        5,
        3,
        gate_unit=PLAIN.gate,
        cell_unit=PLAIN.cell,
        controller_size=7,
        memory_size=6,
        memory_width=4,
        **options,
    )


def test_controller_output_has_no_path_from_the_reads_to_the_output():
    model = _ntm(controller_output=True)
    assert model.output.in_features == 7  # the controller state only
    captured = []  # each step's head weightings, from which that step's read is computed
    model.heads.register_forward_hook(lambda m, a, out: captured.append(out[0]))
    y = model(torch.randn(4, 2, 5))
    # the last output does not depend on the last read (it would, through [hidden, reads])
    (grad,) = torch.autograd.grad(y[-1].sum(), captured[-1], allow_unused=True)
    assert grad is None


def test_default_output_reads_the_memory():
    model = _ntm()
    assert model.output.in_features == 7 + 4
    x = torch.randn(4, 2, 5)
    captured = []
    model.heads.register_forward_hook(lambda m, a, out: captured.append(out[0]))
    y = model(x)
    (grad,) = torch.autograd.grad(y[-1].sum(), captured[-1])
    assert grad.abs().sum() > 0  # the last read reaches the last output directly


# --- NTM: content-only addressing, learned addresses -----------------------------------------


def test_content_only_heads_are_the_softmax_of_similarities():
    model = _ntm(content_addressing=True, address_size=3)
    heads = model.heads
    assert heads.head_size == 3 + 4 + 1  # key over address + content, and beta
    state = torch.randn(2, 7)
    rows = torch.randn(2, 6, 3 + 4)
    previous = torch.full((2, 2, 6), 1 / 6)
    weights, _, _ = heads(state, rows, previous)
    params = heads.address_proj(state).view(2, 2, heads.head_size)
    key, beta = params[..., :7], torch.nn.functional.softplus(params[..., 7:])
    cosine = torch.nn.functional.cosine_similarity(rows.unsqueeze(1), key.unsqueeze(2), dim=-1)
    torch.testing.assert_close(weights, torch.softmax(beta * cosine, dim=-1))
    torch.testing.assert_close(weights, content_weights(rows, key, beta))
    # the previous weighting plays no part
    other, _, _ = heads(state, rows, torch.rand(2, 2, 6))
    torch.testing.assert_close(other, weights)


def test_learned_addresses_are_in_front_of_each_row_and_in_the_reads():
    model = _ntm(content_addressing=True, address_size=3)
    assert model.addresses.shape == (6, 3)
    assert model.controller_in.in_features == 5 + (3 + 4)  # input + one read of a whole row
    memory = torch.zeros(2, 6, 4)
    rows = model._rows(memory)
    torch.testing.assert_close(rows[1, :, :3], model.addresses)
    y = model(torch.randn(5, 2, 5))
    y.sum().backward()
    assert model.addresses.grad is not None and model.addresses.grad.abs().sum() > 0


def test_default_ntm_has_no_addresses_and_location_heads():
    model = _ntm()
    assert not hasattr(model, "addresses")
    assert model.heads.head_size == 4 + 3 + 3


# --- NTM: per-sequence item counts and the mask -----------------------------------------------


def test_per_sequence_batch_left_pads_each_sequence_and_masks_the_padding():
    generator = torch.Generator().manual_seed(3)
    inputs, targets, mask = make_recall_batch_per_sequence(6, 2, 5, 3, 6, generator)
    assert targets.shape == (3, 6, 6) and inputs.shape[1:] == (6, 8)
    lengths = mask.sum(0)
    counts = (lengths - 2 * 3 - 2) // (3 + 1)
    assert counts.min() >= 2 and counts.max() <= 5 and len(set(counts.tolist())) > 1
    assert inputs.shape[0] == int(lengths.max())
    for b in range(6):
        pad = inputs.shape[0] - int(lengths[b])
        assert not mask[:pad, b].any() and mask[pad:, b].all()  # padding first, then the sequence
        assert inputs[:pad, b].abs().sum() == 0
        assert inputs[pad, b, 6] == 1.0  # the sequence opens with an item delimiter
    # the same draws, replayed one sequence at a time, give the same sequences
    generator = torch.Generator().manual_seed(3)
    counts_again = torch.randint(2, 6, (6,), generator=generator)
    assert torch.equal(counts_again, counts)
    first, first_target = make_recall_batch(1, int(counts[0]), 3, 6, generator)
    torch.testing.assert_close(inputs[-first.shape[0] :, :1], first)
    torch.testing.assert_close(targets[:, :1], first_target)


@pytest.mark.parametrize("controller", ["feedforward", "lstm"])
def test_masked_padding_leaves_each_sequence_as_it_would_be_alone(controller):
    model = _ntm(controller=controller).double()
    generator = torch.Generator().manual_seed(1)
    inputs, _, mask = make_recall_batch_per_sequence(4, 2, 4, 1, 3, generator)
    inputs = inputs.double()
    batched = model(inputs, mask)
    for b in range(4):
        own = inputs[mask[:, b], b : b + 1]  # the sequence's own steps
        alone = model(own)
        torch.testing.assert_close(batched[-1, b : b + 1], alone[-1])
        torch.testing.assert_close(batched[-own.shape[0] :, b : b + 1], alone)


@pytest.mark.parametrize("controller", ["feedforward", "lstm"])
def test_left_padded_batches_run_on_the_started_rows_with_the_carry_over_results(
    controller, monkeypatch
):
    from noisyexp.models import ntm

    model = _ntm(controller=controller, content_addressing=True, address_size=2).double()
    generator = torch.Generator().manual_seed(4)
    inputs, _, mask = make_recall_batch_per_sequence(6, 2, 5, 1, 3, generator)
    inputs = inputs.double()
    assert ntm._left_padded(mask) and not mask[0].all()

    def run() -> tuple[torch.Tensor, list[torch.Tensor]]:
        model.zero_grad()
        outputs = model(inputs, mask)
        outputs[-1].pow(2).sum().backward()
        return outputs, [p.grad.clone() for p in model.parameters()]

    fast, fast_grads = run()
    monkeypatch.setattr(ntm, "_left_padded", lambda mask: False)  # every step, carried over
    carried, carried_grads = run()
    torch.testing.assert_close(fast[mask], carried[mask])  # the sequences' own steps
    assert torch.all(fast[~mask] == 0)  # steps before a sequence starts: zeros
    for fast_grad, carried_grad in zip(fast_grads, carried_grads, strict=True):
        torch.testing.assert_close(fast_grad, carried_grad)


def test_a_mask_with_padding_after_the_sequence_carries_the_state_over():
    from noisyexp.models import ntm

    model = _ntm().double()
    inputs = torch.randn(6, 2, 5, dtype=torch.float64)
    mask = torch.ones(6, 2, dtype=torch.bool)
    mask[3:, 1] = False  # sequence 1 ends after 3 steps, then padding
    assert not ntm._left_padded(mask)
    batched = model(inputs, mask)
    alone = model(inputs[:3, 1:2])
    torch.testing.assert_close(batched[:3, 1:2], alone)
    torch.testing.assert_close(batched[:, :1], model(inputs[:, :1]))


def _recall_task(**overrides: object) -> AssocRecallTask:
    params = {
        "min_items": 2,
        "max_items": 4,
        "eval_items": [2, 3],
        "eval_size": 4,
        "batch_size": 5,
        "controller_size": 7,
        "memory_size": 6,
        "memory_width": 4,
        **overrides,
    }
    task = AssocRecallTask(AssocRecallConfig(**params), data_dir=".", seed=0, device=CPU)
    task.setup()
    return task


def test_recall_task_with_per_sequence_items_trains_on_masked_batches():
    task = _recall_task(
        per_sequence_items=True, controller_output=True, content_addressing=True, address_size=2
    )
    inputs, targets, mask = task.train_batch_with_mask(0)
    assert mask is not None and mask.shape == inputs.shape[:2] and targets.shape[1] == 5
    again = task.train_batch_with_mask(0)
    assert torch.equal(again[0], inputs) and torch.equal(again[2], mask)
    model = task.build_model(PLAIN)
    loss = task.train_step(model, 0).loss
    assert torch.isfinite(loss)
    assert _recall_task().train_batch_with_mask(0)[2] is None  # the default: no mask


def test_recall_reports_nll_on_the_papers_scale():
    task = _recall_task()
    metrics = task.evaluate(task.build_model(PLAIN), "valid")
    assert metrics["nll_paper"] == pytest.approx(metrics["nll"] / 6)
    chance = 18 * math.log(2)  # ours; the paper's 3 ln 2 = 2.079
    assert chance / 6 == pytest.approx(2.079, abs=1e-3)


def test_default_checksum_ignores_the_new_options_left_at_their_defaults():
    plain = _recall_task().dataset_info().checksum
    assert _recall_task(address_size=0).dataset_info().checksum == plain
    assert _recall_task(per_sequence_items=True).dataset_info().checksum != plain


def test_ntm_faithful_presets_follow_the_authors_code(compose_config):
    for preset in ("ntm_recall_f_reference", "ntm_recall_f_noisy_annealed"):
        cfg = compose_config(f"experiment={preset}")
        task = cfg.task
        assert task.controller_output and task.content_addressing and task.address_size > 0
        assert task.per_sequence_items and task.batch_size == 128
        assert cfg.act.clip is None and not cfg.act.cell.clip  # the noisy controller: unclipped
    assert compose_config("experiment=ntm_recall_f_noisy_annealed").noise.name == "anneal"


def test_bad_address_size_is_a_config_error():
    with pytest.raises(ConfigError, match="address_size"):
        AssocRecallConfig(address_size=-1)
