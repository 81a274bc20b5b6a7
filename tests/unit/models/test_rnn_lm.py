"""The recurrent language model: shapes, init, tied weights, state detaching."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from noisyexp import activations
from noisyexp.models import rnn_lm
from noisyexp.models.rnn_lm import RNNLanguageModel, detach_state

BATCH, TIME, EMBEDDING, HIDDEN, VOCAB = 3, 5, 7, 11, 13


def _model(**kwargs: object) -> RNNLanguageModel:
    options = {"gate_unit": lambda n: nn.Sigmoid(), "cell_unit": lambda n: nn.Tanh()}
    options.update(kwargs)
    return RNNLanguageModel(VOCAB, EMBEDDING, HIDDEN, 2, **options)


def _tokens() -> torch.Tensor:
    return torch.randint(VOCAB, (TIME, BATCH), generator=torch.Generator().manual_seed(0))


def test_all_names_exist_once() -> None:
    assert len(set(rnn_lm.__all__)) == len(rnn_lm.__all__)
    for name in rnn_lm.__all__:
        assert hasattr(rnn_lm, name)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_logits_are_time_by_batch_by_vocab(cell: str) -> None:
    logits, state = _model(cell=cell)(_tokens())
    assert logits.shape == (TIME, BATCH, VOCAB)
    parts = state if cell == "lstm" else (state,)
    for part in parts:
        assert part.shape == (2, BATCH, HIDDEN)


def test_weights_start_uniform_within_init_scale_and_units_keep_their_p() -> None:
    torch.manual_seed(0)
    model = _model(
        gate_unit=lambda n: activations.make_unit("nan", n, kind="sigmoid"),
        cell_unit=lambda n: activations.make_unit("nan", n, kind="tanh"),
        init_scale=0.05,
    )
    for name, weight in model.named_parameters():
        if name.endswith(".p"):  # the units' own init, U(-1, 1): wider than 0.05
            assert weight.abs().max() > 0.05, name
        else:
            assert weight.abs().max() <= 0.05, name
            assert weight.abs().max() > 0.04, name  # spread over the range, not left at default


def test_tied_weights_share_the_embedding_and_need_equal_sizes() -> None:
    model = RNNLanguageModel(
        VOCAB, HIDDEN, HIDDEN, 1, gate_unit=lambda n: nn.Sigmoid(), cell_unit=lambda n: nn.Tanh(),
        tie_weights=True,
    )  # fmt: skip
    assert model.decoder.weight is model.embedding.weight
    with pytest.raises(ValueError, match="tie_weights"):
        _model(tie_weights=True)


def test_unknown_cell_is_refused() -> None:
    with pytest.raises(ValueError, match="cell"):
        _model(cell="rnn")


def test_detach_state_cuts_the_graph_and_keeps_structure() -> None:
    _, (h, c) = _model()(_tokens())
    detached = detach_state((h, c))
    assert isinstance(detached, tuple) and len(detached) == 2
    assert all(not part.requires_grad for part in detached)
    torch.testing.assert_close(detached[0], h.detach(), rtol=0, atol=0)
    assert detach_state(None) is None
    assert not detach_state(h).requires_grad
