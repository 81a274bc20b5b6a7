"""Attention-based translation (Bahdanau et al. 2014; dl4mt's ``session2``), every unit pluggable.

Encoder: embeddings into a forward and a backward GRU; the annotation of source word j is
``[h→_j; h←_j]``. Decoder: dl4mt's conditional GRU (``gru_cond``): at target step t

    s'_t  = GRU_1(E y_{t-1}, s_{t-1})                                  # gates, candidate
    e_tj  = v · cell(U h_j + W s'_t)      α_t = softmax_j(e_t) over real source words
    c_t   = Σ_j α_tj h_j
    s_t   = GRU_2(c_t, s'_t)                                           # gates, candidate
    p(y_t) = softmax(W_o cell(W_s s_t + W_y E y_{t-1} + W_c c_t))      # deep output
    s_0   = cell(W_i mean_j h_j)

Every sigmoid (the GRU gates) is a ``units.gate`` module and every tanh (GRU candidates, the
attention's energy, the deep output, the initial state) a ``units.cell`` module, so an act swaps
all of them. Padding never reaches a unit: at each step a recurrent layer runs its units on the
rows whose sentence is still going (their state is carried unchanged past the end), the attention
unit sees real source positions only and the deep output real target positions only; padded
source positions get attention weight exactly 0.

Shapes are time-major: ``src`` (S, B), masks True on real tokens. Batches of the training task
come sorted by decreasing target length, which makes the decoder's active rows a prefix (views,
no copies); any order works.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from noisyexp.activations.roles import Units

__all__ = ["GRUCellUnits", "NMTModel", "Beam", "beam_search", "greedy_search"]


Rows = slice | torch.Tensor | None


def _row_plan(mask: torch.Tensor) -> list[Rows]:
    """For each step of a (T, B) mask, its active rows: None (all), a prefix slice, or indices.

    Worked out on a CPU copy of the mask, once per sequence (no device sync per step).
    """
    host = mask.detach().to("cpu", torch.bool)
    plan: list[Rows] = []
    for mask_t in host:
        count = int(mask_t.sum())
        if count == mask_t.numel():
            plan.append(None)
        elif bool(mask_t[:count].all()):
            plan.append(slice(0, count))
        else:
            plan.append(mask_t.nonzero().squeeze(1).to(mask.device, non_blocking=True))
    return plan


def _take(x: torch.Tensor, rows: Rows, dim: int = 0) -> torch.Tensor:
    if rows is None:
        return x
    if isinstance(rows, slice):
        return x.narrow(dim, rows.start, rows.stop - rows.start)
    return x.index_select(dim, rows)


def _put(full: torch.Tensor, rows: Rows, part: torch.Tensor) -> torch.Tensor:
    """``full`` with ``rows`` replaced by ``part`` (out of place, differentiable)."""
    if rows is None:
        return part
    if isinstance(rows, slice):
        return torch.cat([part, full[rows.stop :]], dim=0)
    return full.index_copy(0, rows, part)


def _apply_masked(unit: nn.Module, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``unit`` on the positions where ``mask`` (x's leading dims) is True; 0 elsewhere."""
    if bool(mask.all()):
        return unit(x)
    out = x.new_zeros(x.shape)
    out[mask] = unit(x[mask])
    return out


class GRUCellUnits(nn.Module):
    """One GRU step in dl4mt's form: ``r, z = gate(W x + b + U h)``,
    ``n = cell(W' x + b' + r * U' h)``, ``h' = z * h + (1 - z) * n``. The input projection is a
    separate layer, so a whole sequence is projected at once.
    """

    def __init__(self, input_size: int, hidden_size: int, units: Units) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.input = nn.Linear(input_size, 3 * hidden_size)
        self.recurrent = nn.Linear(hidden_size, 3 * hidden_size, bias=False)
        self.gate = units.gate(2 * hidden_size)
        self.candidate = units.cell(hidden_size)

    def step(self, projected: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Next h from the projected input (B, 3H) and h (B, H)."""
        hidden = self.hidden_size
        recurrent = self.recurrent(h)
        x_rz, x_n = projected.split([2 * hidden, hidden], dim=-1)
        h_rz, h_n = recurrent.split([2 * hidden, hidden], dim=-1)
        reset, update = self.gate(x_rz + h_rz).chunk(2, dim=-1)
        candidate = self.candidate(x_n + reset * h_n)
        return torch.lerp(candidate, h, update)

    def run(self, x: torch.Tensor, mask: torch.Tensor, *, reverse: bool = False) -> torch.Tensor:
        """States (T, B, H) over a padded sequence; 0 at padded steps, h_0 = 0.

        Right padding: a reversed run starts each row at its own last token.
        """
        projected = self.input(x)
        h = x.new_zeros(x.size(1), self.hidden_size)
        outputs: list[torch.Tensor] = [h] * x.size(0)
        steps = range(x.size(0) - 1, -1, -1) if reverse else range(x.size(0))
        plan = _row_plan(mask)
        for t in steps:
            rows = plan[t]
            h = _put(h, rows, self.step(_take(projected[t], rows), _take(h, rows)))
            outputs[t] = h
        return torch.stack(outputs) * mask.unsqueeze(-1)


@dataclass
class DecoderState:
    """What the decoder carries from step to step for a batch (or a beam's rows)."""

    s: torch.Tensor  # (B, H)
    context: torch.Tensor  # (S, B, C) annotations
    context_proj: torch.Tensor  # (S, B, A) U h_j + b
    src_mask: torch.Tensor  # (S, B)

    def select(self, index: torch.Tensor) -> DecoderState:
        return DecoderState(
            self.s.index_select(0, index),
            self.context.index_select(1, index),
            self.context_proj.index_select(1, index),
            self.src_mask.index_select(1, index),
        )


class NMTModel(nn.Module):
    """Bidirectional-GRU encoder, conditional-GRU decoder with additive attention, deep output.

    Args:
        src_vocab, tgt_vocab: vocabulary sizes (id 0 is padding).
        embedding_size: dl4mt's ``dim_word`` (also the deep output's width).
        hidden_size: dl4mt's ``dim`` (each encoder direction, the decoder, the attention).
        units: the gate and cell factories.
        init_scale: std of the normal init of non-recurrent weights (dl4mt: 0.01); recurrent
            matrices are orthogonal (per gate block).
    """

    def __init__(
        self,
        src_vocab: int,
        tgt_vocab: int,
        embedding_size: int,
        hidden_size: int,
        units: Units,
        *,
        init_scale: float = 0.01,
    ) -> None:
        super().__init__()
        context_size = 2 * hidden_size
        self.hidden_size = hidden_size
        self.src_embedding = nn.Embedding(src_vocab, embedding_size, padding_idx=0)
        self.tgt_embedding = nn.Embedding(tgt_vocab, embedding_size, padding_idx=0)
        self.encoder_forward = GRUCellUnits(embedding_size, hidden_size, units)
        self.encoder_backward = GRUCellUnits(embedding_size, hidden_size, units)
        self.init_state = nn.Linear(context_size, hidden_size)
        self.init_unit = units.cell(hidden_size)
        self.decoder_1 = GRUCellUnits(embedding_size, hidden_size, units)
        self.attention_context = nn.Linear(context_size, hidden_size)
        self.attention_state = nn.Linear(hidden_size, hidden_size, bias=False)
        self.attention_unit = units.cell(hidden_size)
        self.attention_score = nn.Linear(hidden_size, 1)
        self.decoder_2 = GRUCellUnits(context_size, hidden_size, units)
        self.output_state = nn.Linear(hidden_size, embedding_size)
        self.output_previous = nn.Linear(embedding_size, embedding_size, bias=False)
        self.output_context = nn.Linear(context_size, embedding_size, bias=False)
        self.output_unit = units.cell(embedding_size)
        self.output = nn.Linear(embedding_size, tgt_vocab)
        self.reset_parameters(init_scale)

    def reset_parameters(self, init_scale: float) -> None:
        """dl4mt's init: N(0, init_scale) weights, orthogonal recurrent blocks, zero biases."""
        for name, param in self.named_parameters():
            if "unit" in name or ".gate." in name or ".candidate." in name:
                continue  # the units' own parameters (learned p, σ) keep their init
            if name.endswith("bias"):
                nn.init.zeros_(param)
            elif name.endswith("recurrent.weight"):
                with torch.no_grad():
                    for block in param.split(self.hidden_size, dim=0):
                        nn.init.orthogonal_(block)
            else:
                nn.init.normal_(param, std=init_scale)
        with torch.no_grad():
            self.src_embedding.weight[0].zero_()
            self.tgt_embedding.weight[0].zero_()

    # ---- encoder -------------------------------------------------------------------------
    def encode(self, src: torch.Tensor, src_mask: torch.Tensor) -> DecoderState:
        """Annotations of ``src`` (S, B) and the decoder's initial state."""
        embedded = self.src_embedding(src)
        forward = self.encoder_forward.run(embedded, src_mask)
        backward = self.encoder_backward.run(embedded, src_mask, reverse=True)
        context = torch.cat([forward, backward], dim=-1)  # (S, B, 2H), 0 on padding
        lengths = src_mask.sum(0).clamp_min(1).unsqueeze(-1).to(context.dtype)
        mean = context.sum(0) / lengths
        s0 = self.init_unit(self.init_state(mean))
        return DecoderState(s0, context, self.attention_context(context), src_mask)

    # ---- one decoder step ----------------------------------------------------------------
    def attend(self, s1: torch.Tensor, state: DecoderState) -> tuple[torch.Tensor, torch.Tensor]:
        """Context vector (B, C) and weights (S, B) for the intermediate state s1 (B, H)."""
        energy_in = state.context_proj + self.attention_state(s1).unsqueeze(0)  # (S, B, A)
        energy = _apply_masked(self.attention_unit, energy_in, state.src_mask)
        scores = self.attention_score(energy).squeeze(-1).masked_fill(~state.src_mask, -math.inf)
        weights = torch.softmax(scores, dim=0)  # (S, B); exactly 0 on padding
        context = (weights.unsqueeze(-1) * state.context).sum(0)
        return context, weights

    def decoder_step(
        self, previous: torch.Tensor, state: DecoderState
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The new state s (B, H), context (B, C) and attention weights for embeddings (B, E)."""
        s1 = self.decoder_1.step(self.decoder_1.input(previous), state.s)
        context, weights = self.attend(s1, state)
        s = self.decoder_2.step(self.decoder_2.input(context), s1)
        return s, context, weights

    def readout(
        self, s: torch.Tensor, previous: torch.Tensor, context: torch.Tensor
    ) -> torch.Tensor:
        """Logits from the deep output layer; inputs (N, H), (N, E), (N, C)."""
        hidden = self.output_state(s) + self.output_previous(previous)
        hidden = hidden + self.output_context(context)
        return self.output(self.output_unit(hidden))

    def step_logits(
        self, previous_ids: torch.Tensor, state: DecoderState
    ) -> tuple[torch.Tensor, DecoderState, torch.Tensor]:
        """One decoding step for every row: logits (B, V), the next state, attention (S, B)."""
        previous = self.tgt_embedding(previous_ids)
        s, context, weights = self.decoder_step(previous, state)
        logits = self.readout(s, previous, context)
        return logits, DecoderState(s, state.context, state.context_proj, state.src_mask), weights

    # ---- teacher forcing -----------------------------------------------------------------
    def forward(
        self,
        src: torch.Tensor,
        src_mask: torch.Tensor,
        tgt_in: torch.Tensor,
        tgt_mask: torch.Tensor,
    ) -> torch.Tensor:
        """Logits (N, V) at the real target positions, in ``tgt_mask[t, b]`` (t-major) order."""
        state = self.encode(src, src_mask)
        previous = self.tgt_embedding(tgt_in)  # (T, B, E)
        projected = self.decoder_1.input(previous)
        s = state.s
        states = []
        contexts = []
        plan = _row_plan(tgt_mask)
        for t in range(tgt_in.size(0)):
            rows = plan[t]
            sub = state if rows is None else _sub_state(state, s, rows)
            s_rows = _take(s, rows)
            s1 = self.decoder_1.step(_take(projected[t], rows), s_rows)
            context, _ = self.attend(s1, sub)
            s_new = self.decoder_2.step(self.decoder_2.input(context), s1)
            s = _put(s, rows, s_new)
            states.append(s_new)
            contexts.append(context)
        # the real positions, t-major: step t's active rows are exactly tgt_mask[t]'s True rows
        positions = tgt_mask.nonzero()  # (N, 2) sorted by t then b
        return self.readout(
            torch.cat(states), previous[positions[:, 0], positions[:, 1]], torch.cat(contexts)
        )


def _sub_state(state: DecoderState, s: torch.Tensor, rows: Rows) -> DecoderState:
    return DecoderState(
        _take(s, rows),
        _take(state.context, rows, 1),
        _take(state.context_proj, rows, 1),
        _take(state.src_mask, rows, 1),
    )


@dataclass
class Beam:
    """A decoded sentence: token ids (without ``</s>``), log-probability, normalised score."""

    tokens: list[int]
    log_prob: float
    score: float


def _max_lengths(src_mask: torch.Tensor, max_len: int, ratio: float, slack: int) -> torch.Tensor:
    """Per sentence: at most ``min(max_len, ratio * source length + slack)`` target tokens."""
    lengths = src_mask.sum(0).to(torch.float64)
    return torch.clamp(torch.floor(ratio * lengths) + slack, min=1, max=max_len).long()


@torch.no_grad()
def beam_search(
    model: NMTModel,
    src: torch.Tensor,
    src_mask: torch.Tensor,
    *,
    beam_size: int = 5,
    max_len: int = 100,
    length_ratio: float = 2.0,
    length_slack: int = 10,
    length_norm: bool = True,
    bos: int = 2,
    eos: int = 3,
) -> list[Beam]:
    """Batched beam search: the best hypothesis of each sentence of ``src`` (S, B).

    Each sentence keeps ``beam_size`` hypotheses; a hypothesis that emits ``</s>`` is finished
    and keeps its score (it stays in the beam, extended by nothing). A hypothesis reaching the
    sentence's length guard (``min(max_len, length_ratio * |src| + length_slack)`` tokens) is
    finished without ``</s>``. Among the final hypotheses the one with the highest log-probability
    divided by its length (tokens, ``</s>`` included) wins (``length_norm``; else the highest
    log-probability).
    """
    batch = src.size(1)
    k = beam_size
    state = model.encode(src, src_mask)
    limits = _max_lengths(src_mask, max_len, length_ratio, slack=length_slack)
    expand = torch.arange(batch, device=src.device).repeat_interleave(k)
    state = state.select(expand)
    limits = limits[expand]  # (B*k)
    scores = torch.full((batch, k), -math.inf, device=src.device, dtype=torch.float64)
    scores[:, 0] = 0.0
    scores = scores.view(-1)
    finished = torch.zeros(batch * k, dtype=torch.bool, device=src.device)
    lengths = torch.zeros(batch * k, dtype=torch.long, device=src.device)
    tokens = torch.zeros(batch * k, 0, dtype=torch.long, device=src.device)
    previous = torch.full((batch * k,), bos, dtype=torch.long, device=src.device)
    for _ in range(int(limits.max())):
        if bool(finished.all()):
            break
        logits, state, _ = model.step_logits(previous, state)
        log_probs = torch.log_softmax(logits.double(), dim=-1)  # (B*k, V)
        vocab = log_probs.size(1)
        # a finished hypothesis has one continuation, padding, at no cost
        log_probs[finished] = -math.inf
        log_probs[finished, 0] = 0.0
        candidates = (scores.unsqueeze(1) + log_probs).view(batch, k * vocab)
        top, flat = candidates.topk(k, dim=1)  # (B, k)
        origin = (flat // vocab + torch.arange(batch, device=src.device).unsqueeze(1) * k).view(-1)
        word = (flat % vocab).view(-1)
        was_finished = finished[origin]
        scores = top.view(-1)
        tokens = torch.cat([tokens[origin], word.unsqueeze(1)], dim=1)
        lengths = lengths[origin] + (~was_finished).long()
        limits_now = limits[origin]
        finished = was_finished | (word == eos) | (lengths >= limits_now)
        state = state.select(origin)
        limits = limits_now
        previous = word
    normalised = scores / lengths.clamp_min(1).double() if length_norm else scores
    normalised = normalised.masked_fill(~torch.isfinite(scores), -math.inf).view(batch, k)
    best = normalised.argmax(dim=1)
    results = []
    for b in range(batch):
        row = b * k + int(best[b])
        ids = [int(i) for i in tokens[row, : int(lengths[row])]]
        if ids and ids[-1] == eos:
            ids = ids[:-1]
        results.append(Beam(ids, float(scores[row]), float(normalised.view(-1)[row])))
    return results


@torch.no_grad()
def greedy_search(
    model: NMTModel,
    src: torch.Tensor,
    src_mask: torch.Tensor,
    *,
    max_len: int = 100,
    length_ratio: float = 2.0,
    length_slack: int = 10,
    bos: int = 2,
    eos: int = 3,
) -> list[Beam]:
    """The most likely word at each step, until ``</s>`` or the length guard."""
    batch = src.size(1)
    state = model.encode(src, src_mask)
    limits = _max_lengths(src_mask, max_len, length_ratio, slack=length_slack)
    previous = torch.full((batch,), bos, dtype=torch.long, device=src.device)
    finished = torch.zeros(batch, dtype=torch.bool, device=src.device)
    log_prob = torch.zeros(batch, dtype=torch.float64, device=src.device)
    lengths = torch.zeros(batch, dtype=torch.long, device=src.device)
    columns = []
    for _ in range(int(limits.max())):
        if bool(finished.all()):
            break
        logits, state, _ = model.step_logits(previous, state)
        log_probs = torch.log_softmax(logits.double(), dim=-1)
        word = log_probs.argmax(dim=-1)
        active = ~finished
        log_prob = log_prob + torch.where(active, log_probs.gather(1, word[:, None])[:, 0], 0.0)
        lengths = lengths + active.long()
        word = torch.where(active, word, torch.zeros_like(word))
        columns.append(word)
        finished = finished | (word == eos) | (lengths >= limits)
        previous = word
    tokens = torch.stack(columns, dim=1) if columns else previous.new_zeros(batch, 0)
    results = []
    for b in range(batch):
        ids = [int(i) for i in tokens[b, : int(lengths[b])]]
        if ids and ids[-1] == eos:
            ids = ids[:-1]
        length = max(int(lengths[b]), 1)
        results.append(Beam(ids, float(log_prob[b]), float(log_prob[b]) / length))
    return results


@torch.no_grad()
def sequence_log_prob(
    model: NMTModel, src: torch.Tensor, src_mask: torch.Tensor, target: list[int], *, bos: int = 2
) -> float:
    """log p(target | src) of one sentence (B = 1), summed step by step (used by tests)."""
    state = model.encode(src, src_mask)
    previous = torch.tensor([bos], device=src.device)
    total = 0.0
    for word in target:
        logits, state, _ = model.step_logits(previous, state)
        total += float(torch.log_softmax(logits.double(), dim=-1)[0, word])
        previous = torch.tensor([word], device=src.device)
    return total
