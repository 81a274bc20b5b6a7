"""Translation (paper Table 4): corpus reader, tokeniser, model, decoding, BLEU, task, CLI."""

from __future__ import annotations

import io
import itertools
import math
import re
from functools import partial

import pytest
import torch
from _tiny_data import PAIRS, write_corpus

from noisyexp import activations
from noisyexp.activations.roles import Units
from noisyexp.cli.app import main
from noisyexp.core.errors import DataError
from noisyexp.data import published
from noisyexp.data.parallel import (
    MosesTokenizer,
    TokenVocabulary,
    epoch_batches,
    length_filter,
    make_batch,
    read_lines,
    read_parallel,
)
from noisyexp.models.nmt import NMTModel, beam_search, greedy_search, sequence_log_prob
from noisyexp.tasks.nmt import NMTConfig, NMTTask, bleu_score

CPU = torch.device("cpu")
UNIT_TYPES = ("sigmoid", "hard", "nan", "nah", "nani", "nanis", "nanil", "laplace", "nan_fixed_p")


def units_of(type_name: str, **knobs) -> Units:
    """The act of that name: sigmoid/tanh, hard_sigmoid/hard_tanh, or a noisy type for both."""
    gate, cell = {"sigmoid": ("sigmoid", "tanh"), "hard": ("hard_sigmoid", "hard_tanh")}.get(
        type_name, (type_name, type_name)
    )
    return Units(
        gate=partial(activations.make_unit, gate, kind="sigmoid", **knobs),
        cell=partial(activations.make_unit, cell, kind="tanh", **knobs),
    )


def tiny_config(folder, **kw) -> NMTConfig:
    values = dict(
        corpus_dir=str(folder),
        test_split="test",
        embedding_size=8,
        hidden_size=12,
        batch_size=4,
        eval_batch_size=4,
        beam_size=3,
        decode_max_len=12,
    )
    values.update(kw)
    return NMTConfig(**values)


def tiny_model(type_name="sigmoid", vocab=(7, 6), seed=0, init_scale=0.3, **knobs) -> NMTModel:
    torch.manual_seed(seed)
    units = units_of(type_name, **knobs)
    model = NMTModel(vocab[0], vocab[1], 5, 6, units, init_scale=init_scale)
    return model.eval()


def tiny_batch(lengths_src=(4, 2, 3), lengths_tgt=(3, 4, 1), vocab=(7, 6), seed=1):
    gen = torch.Generator().manual_seed(seed)
    src = [[*torch.randint(4, vocab[0], (n - 1,), generator=gen).tolist(), 3] for n in lengths_src]
    tgt = [[*torch.randint(4, vocab[1], (n - 1,), generator=gen).tolist(), 3] for n in lengths_tgt]
    return make_batch(src, tgt, list(range(len(src))))


# ---- reader ------------------------------------------------------------------------------------
def test_reader_reads_gz_and_plain_alike(tmp_path):
    plain = read_parallel(write_corpus(tmp_path / "a", gz=False), "val", "fr", "en")
    packed = read_parallel(write_corpus(tmp_path / "b", gz=True), "val", "fr", "en")
    assert plain == packed
    assert plain[0][0] == PAIRS[0][0] and plain[1][2] == PAIRS[2][1]


def test_reader_any_language_codes_and_split_names(tmp_path):
    folder = write_corpus(tmp_path / "c", src="cs", tgt="xx", splits=("dev2019",))
    source, target = read_parallel(folder, "dev2019", "xx", "cs")
    assert source[0] == PAIRS[0][1] and target[0] == PAIRS[0][0]


def test_reader_misaligned_files_are_one_clear_error(tmp_path):
    folder = write_corpus(tmp_path / "d", gz=False)
    (folder / "val.en").write_text("only one line\n")
    with pytest.raises(DataError, match=r"val.fr has 3 lines but val.en has 1; .*line-aligned"):
        read_parallel(folder, "val", "fr", "en")


def test_reader_missing_language_lists_what_is_there(tmp_path):
    folder = write_corpus(tmp_path / "e")
    with pytest.raises(DataError, match=r"no train.xx or train.xx.gz .*languages there: en, fr"):
        read_parallel(folder, "train", "xx", "en")


def test_reader_empty_lines_crlf_and_no_final_newline(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"a b\r\n\r\nc\n\nd")
    assert read_lines(path) == ["a b", "", "c", "", "d"]
    tok = MosesTokenizer("en")
    src = [tok.tokenize(line) for line in ["a b", "", "c", "  ", "d"]]
    tgt = [tok.tokenize(line) for line in ["x", "y", "", "z", "w w w"]]
    kept, dropped = length_filter(src, tgt, max_len=2)
    assert kept == [0] and dropped == {"dropped_empty": 3, "dropped_long": 1}


def test_reader_not_utf8_is_a_data_error(tmp_path):
    path = tmp_path / "bad.en"
    path.write_bytes(b"\xff\xfe oops\n")
    with pytest.raises(DataError, match="not UTF-8"):
        read_lines(path)


# ---- tokeniser and vocabulary ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("lang", "sentence"),
    [
        ("en", "A man in a blue shirt, who is standing on a ladder, cleans windows."),
        ("en", 'The dog\'s "toy" (a red ball) costs $3.50 - cheap!'),
        ("fr", "L'homme n'a pas vu le chien, mais il l'entend."),
        ("de", "Ein Mann mit einem orangefarbenen Hut, der etwas anstarrt."),
    ],
)
def test_tokenise_detokenise_round_trip(lang, sentence):
    tok = MosesTokenizer(lang)
    tokens = tok.tokenize(sentence)
    assert len(tokens) > len(sentence.split())  # punctuation split off
    assert tok.detokenize(tokens) == sentence


def test_sentencepiece_round_trip_and_saved_model():
    pytest.importorskip("sentencepiece")
    from noisyexp.data.parallel import SentencePieceTokenizer

    lines = [pair[0] for pair in PAIRS] * 5
    tok = SentencePieceTokenizer.train(lines, 40)
    for line in lines[:6]:
        pieces = tok.tokenize(line)
        assert pieces and tok.detokenize(pieces) == line
    again = SentencePieceTokenizer(tok.proto)
    assert again.tokenize(lines[1]) == tok.tokenize(lines[1])
    assert tok.tokenize("   ") == []


def test_vocabulary_by_frequency_with_specials_and_unk():
    vocab = TokenVocabulary([["b", "a", "b"], ["c", "b", "a"]], min_freq=2)
    assert vocab.itos == ["<pad>", "<unk>", "<s>", "</s>", "b", "a"]
    assert vocab.encode(["a", "zzz"]) == [5, 1, 3]
    assert vocab.decode([5, 1, 3, 4]) == ["a", "<unk>"]
    assert TokenVocabulary.from_list(vocab.to_list()).itos == vocab.itos
    assert len(TokenVocabulary([["b", "a", "b"]], max_size=5)) == 5


def test_batches_are_a_function_of_seed_and_epoch_and_bucketed():
    lengths = [1, 9, 2, 8, 3, 7, 4, 6, 5, 5, 1, 9]
    first = epoch_batches(lengths, 3, 2, seed=1, epoch=0)
    assert first == epoch_batches(lengths, 3, 2, seed=1, epoch=0)
    assert first != epoch_batches(lengths, 3, 2, seed=1, epoch=1)
    assert sorted(i for batch in first for i in batch) == list(range(12))
    spread = max(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in first)
    unbucketed = epoch_batches(lengths, 3, 1, seed=1, epoch=0)
    assert spread <= max(
        max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in unbucketed
    )


def test_make_batch_masks_and_shift():
    batch = make_batch([[5, 3], [4, 6, 7, 3]], [[8, 3], [9, 10, 3]], [0, 1])
    assert batch.index.tolist() == [1, 0]  # by decreasing target length
    assert batch.tgt_in[:, 0].tolist() == [2, 9, 10] and batch.tgt_out[:, 0].tolist() == [9, 10, 3]
    assert batch.tgt_in[:, 1].tolist() == [2, 8, 0] and batch.tgt_mask[:, 1].tolist() == [1, 1, 0]
    assert batch.src_mask.sum(0).tolist() == [4, 2]


# ---- model -------------------------------------------------------------------------------------
def test_attention_weights_sum_to_one_and_are_zero_on_padding():
    model, batch = tiny_model(), tiny_batch()
    state = model.encode(batch.src, batch.src_mask)
    _, state, weights = model.step_logits(torch.full((batch.size,), 2), state)
    assert torch.allclose(weights.sum(0), torch.ones(batch.size), atol=1e-6)
    assert torch.all(weights[~batch.src_mask] == 0)
    assert torch.all(weights[batch.src_mask] > 0)


def test_annotations_do_not_depend_on_padding():
    model = tiny_model()
    batch = tiny_batch(lengths_src=(4, 2), lengths_tgt=(2, 2))
    context = model.encode(batch.src, batch.src_mask).context
    alone = make_batch([batch.src[:2, 1].tolist()], [[3]], [0])
    context_alone = model.encode(alone.src, alone.src_mask).context
    assert torch.allclose(context[:2, 1], context_alone[:, 0], atol=1e-6)
    assert torch.all(context[2:, 1] == 0)


@pytest.mark.parametrize("type_name", ["sigmoid", "nah"])
def test_padding_never_reaches_a_unit(type_name):
    """Every unit sees only real positions: its input count is that of the real tokens."""
    model, batch = tiny_model(type_name), tiny_batch()
    seen: dict[str, int] = {}

    def count(name, module, args, output):
        seen[name] = seen.get(name, 0) + args[0].shape[0] * (args[0].dim() == 2)

    for name, module in model.named_modules():
        if isinstance(module, activations.Unit):
            module.register_forward_hook(partial(count, name))
    model(batch.src, batch.src_mask, batch.tgt_in, batch.tgt_mask)
    src_tokens, tgt_tokens = int(batch.src_mask.sum()), int(batch.tgt_mask.sum())
    assert seen["encoder_forward.gate"] == seen["encoder_backward.candidate"] == src_tokens
    assert seen["decoder_1.gate"] == seen["decoder_2.candidate"] == tgt_tokens
    assert seen["output_unit"] == tgt_tokens
    # the attention unit: for each target token, its sentence's source positions
    lengths = batch.src_mask.sum(0)
    expected = int((batch.tgt_mask.sum(0) * lengths).sum())
    assert seen["attention_unit"] == expected


def test_teacher_forcing_equals_step_by_step_decoding():
    model, batch = tiny_model(), tiny_batch()
    logits = model(batch.src, batch.src_mask, batch.tgt_in, batch.tgt_mask)
    state = model.encode(batch.src, batch.src_mask)
    stepped = []
    for t in range(batch.tgt_in.size(0)):
        step_logits, state, _ = model.step_logits(batch.tgt_in[t], state)
        stepped.append(step_logits[batch.tgt_mask[t]])
    assert torch.allclose(logits, torch.cat(stepped), atol=1e-5)


def test_beam_of_one_equals_greedy():
    model = tiny_model(init_scale=1.0)
    batch = tiny_batch(lengths_src=(5, 2, 3, 4), lengths_tgt=(1, 1, 1, 1))
    beam = beam_search(model, batch.src, batch.src_mask, beam_size=1, max_len=8)
    greedy = greedy_search(model, batch.src, batch.src_mask, max_len=8)
    assert [b.tokens for b in beam] == [g.tokens for g in greedy]
    assert [b.log_prob for b in beam] == pytest.approx([g.log_prob for g in greedy])


def _all_sequences(vocab: int, max_len: int, eos: int = 3):
    words = [w for w in range(4, vocab)] + [1]  # <unk> may be emitted, <pad>/<s> not sensibly
    for length in range(max_len):
        for body in itertools.product(words, repeat=length):
            yield [*body, eos]
    yield from (list(body) for body in itertools.product(words, repeat=max_len))


@pytest.mark.parametrize("length_norm", [True, False])
def test_beam_search_finds_the_best_of_all_sequences(length_norm):
    """Vocabulary of 6 (4 specials + 2 words), at most 3 tokens: every sequence enumerated."""
    model = tiny_model(vocab=(7, 6), init_scale=1.5, seed=3)
    with torch.no_grad():  # make <pad> and <s> never likely, so the enumeration is complete
        model.output.bias[0] = model.output.bias[2] = -1e4
    batch = tiny_batch(lengths_src=(3,), lengths_tgt=(1,))
    max_len = 3
    best_score, best = -math.inf, None
    for sequence in _all_sequences(6, max_len):
        log_prob = sequence_log_prob(model, batch.src, batch.src_mask, sequence)
        score = log_prob / len(sequence) if length_norm else log_prob
        if score > best_score:
            best_score, best = score, sequence
    (found,) = beam_search(
        model, batch.src, batch.src_mask, beam_size=40, max_len=max_len, length_norm=length_norm
    )
    assert found.tokens == [w for w in best if w != 3]
    assert found.score == pytest.approx(best_score, abs=1e-6)


def test_beam_search_stops_at_the_length_guard():
    model = tiny_model()
    with torch.no_grad():
        model.output.bias[3] = -1e4  # never </s>
    batch = tiny_batch(lengths_src=(3, 5), lengths_tgt=(1, 1))
    beams = beam_search(
        model, batch.src, batch.src_mask, beam_size=2, length_ratio=1, length_slack=1
    )
    by_row = dict(zip(batch.index.tolist(), beams, strict=True))
    assert len(by_row[0].tokens) == 4 and len(by_row[1].tokens) == 6


@pytest.mark.parametrize("type_name", UNIT_TYPES)
def test_every_unit_type_trains_a_step_with_gradients_when_saturated(type_name):
    """Every pre-activation just past its unit's knee (hard sigmoid: 2, hard tanh: 1).

    Saturated hard units pass no gradient to the encoder (the paper's point); soft and noisy
    ones do, the input-noise ones (NANI's σ = 0.05) through the draws that cross the knee. NANIL
    is taken in the authors' code form (``softplus``): Eq 9's σ(x) is ~0 this close to the knee.
    """
    knobs = {"softplus": True} if type_name == "nanil" else {}
    model = tiny_model(type_name, init_scale=1e-4, **knobs).train()
    activations.set_noise_generator(model, torch.Generator().manual_seed(0))
    batch = tiny_batch()
    hidden = model.hidden_size
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("recurrent.weight"):
                param.zero_()
            elif name.endswith("input.bias"):  # r, z gates then the candidate
                param[: 2 * hidden].fill_(2.05)
                param[2 * hidden :].fill_(1.05)
            elif name in ("init_state.bias", "attention_context.bias", "output_state.bias"):
                param.fill_(1.05)
    logits = model(batch.src, batch.src_mask, batch.tgt_in, batch.tgt_mask)
    loss = torch.nn.functional.cross_entropy(logits, batch.tgt_out[batch.tgt_mask])
    loss.backward()
    grads = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
    assert all(torch.isfinite(g).all() for g in grads.values())
    assert grads["output.weight"].abs().sum() > 0
    encoder = grads["encoder_forward.input.weight"].abs().sum()
    if type_name == "hard":
        assert encoder == 0
    else:
        assert encoder > 0, f"{type_name}: no gradient through saturated units"
    before = [p.detach().clone() for p in model.parameters()]
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))


# ---- BLEU ----------------------------------------------------------------------------------------
def test_bleu_on_hand_made_cases_equals_sacrebleu():
    import sacrebleu

    refs = ["the cat is on the mat", "there is a cat on the mat", "a dog runs"]
    hyps = ["the cat is on the mat", "a cat is on the mat", "the dog ran"]
    assert bleu_score(refs, refs) == pytest.approx(100.0)
    assert bleu_score(["zz yy xx ww"] * 3, refs) == pytest.approx(0.0)
    expected = sacrebleu.corpus_bleu(hyps, [refs]).score
    assert bleu_score(hyps, refs) == pytest.approx(expected)
    # by hand, one sentence of the reference's length (no brevity penalty): clipped n-gram
    # precisions 5/6, 4/5, 3/4, 2/3, geometric mean
    precisions = [5 / 6, 4 / 5, 3 / 4, 2 / 3]
    by_hand = 100 * math.exp(sum(math.log(p) for p in precisions) / 4)
    assert bleu_score(["a cat is on the mat"], ["the cat is on the mat"]) == pytest.approx(by_hand)


# ---- the task and the command line -----------------------------------------------------------
def test_task_trains_evaluates_and_writes_translations(tmp_path):
    cfg = tiny_config(write_corpus(tmp_path / "corpus"))
    task = NMTTask(cfg, data_dir=tmp_path, seed=0, device=CPU, download=False)
    task.output_dir = tmp_path / "run"
    assert task.steps_per_epoch() == 4 and task.dataset_info().sizes["valid"] == 3
    model = task.build_model(units_of("nah"))
    out = task.train_step(model, 0)
    out.loss.backward()
    metrics = task.evaluate(model, "valid")
    assert set(metrics) == {"nll", "nll_token", "ppl", "bleu"}
    assert metrics["nll"] > metrics["nll_token"] > 0
    task.on_evaluate({f"valid/{k}": v for k, v in metrics.items()}, 1)
    lines = (tmp_path / "run" / "translations" / "valid.txt").read_text().splitlines()
    assert len(lines) == 3 and (tmp_path / "run" / "translations" / "valid.best.txt").is_file()
    assert set(task.evaluate(model, "test")) == {"nll", "nll_token", "ppl", "bleu"}
    assert (tmp_path / "run" / "translations" / "test.txt").is_file()


def test_task_patience_stops_and_survives_state_dict(tmp_path):
    cfg = tiny_config(write_corpus(tmp_path / "corpus"), patience=2)
    task = NMTTask(cfg, data_dir=tmp_path, seed=0, device=CPU, download=False)
    for nll in (5.0, 4.0, 4.5, 4.2):
        assert not task.should_stop()
        task.on_evaluate({"valid/nll": nll}, 0)
    assert task.should_stop()
    other = NMTTask(cfg, data_dir=tmp_path, seed=0, device=CPU, download=False)
    other.load_state_dict(task.state_dict())
    assert other.should_stop()


def test_default_folder_is_checked_against_multi30k_md5s(tmp_path, monkeypatch):
    folder = write_corpus(tmp_path / "multi30k", splits=("train", "val", "test_2016_flickr"))
    cfg = tiny_config("", test_split="test_2016_flickr")
    with pytest.raises(DataError, match=r"multi30k: .*train.fr.gz is corrupt"):
        NMTTask(cfg, data_dir=tmp_path, seed=0, device=CPU, download=False)
    import hashlib

    digests = {
        path.name[: -len(".gz")]: (hashlib.md5(path.read_bytes()).hexdigest(), "0" * 32)
        for path in folder.glob("*.gz")
    }
    monkeypatch.setattr(published, "MULTI30K_MD5", digests)
    task = NMTTask(cfg, data_dir=tmp_path, seed=0, device=CPU, download=False)
    assert task.dataset_info().name == "multi30k"
    (folder / "val.en.gz").unlink()
    with pytest.raises(DataError, match=r"multi30k: .*val.en.gz is missing"):
        NMTTask(cfg, data_dir=tmp_path, seed=0, device=CPU, download=False)


@pytest.mark.parametrize(
    ("setup", "override", "message"),
    [
        ("empty", [], "no train.fr or train.fr.gz"),
        ("corpus", ["task.src=xx"], "no train.xx or train.xx.gz .*languages there: en, fr"),
        ("misaligned", [], "train.fr has 18 lines but train.en has 1"),
    ],
)
def test_cli_data_errors_are_one_line_and_exit_2(tmp_path, capsys, setup, override, message):
    folder = tmp_path / "corpus"
    folder.mkdir()
    if setup != "empty":
        write_corpus(folder, gz=False)
    if setup == "misaligned":
        (folder / "train.en").write_text("one\n")
    code = main(
        [
            "train",
            "task=nmt",
            f"task.corpus_dir={folder}",
            "task.test_split=test",
            f"paths.results_dir={tmp_path / 'results'}",
            *override,
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert re.search(message, err), err


def test_translate_command_uses_a_trained_run(tmp_path, capsys, monkeypatch):
    folder = write_corpus(tmp_path / "corpus")
    run_dir = tmp_path / "run"
    code = main(
        [
            "train",
            "task=nmt",
            "act=nah",
            f"task.corpus_dir={folder}",
            "task.test_split=test",
            "task.embedding_size=8",
            "task.hidden_size=8",
            "task.batch_size=4",
            "trainer.max_steps=3",
            "trainer.max_epochs=null",
            "trainer.eval_every=3",
            "trainer.device=cpu",
            f"hydra.run.dir={run_dir}",
        ]
    )
    assert code == 0
    assert (run_dir / "translations" / "test.txt").is_file()
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("Un chien noir court.\n\nUn homme.\n"))
    assert main(["translate", str(run_dir), "--beam", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and out[1] == ""
    assert main(["translate", str(tmp_path / "nowhere")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_translate_with_a_sentencepiece_run(tmp_path, capsys, monkeypatch):
    pytest.importorskip("sentencepiece")
    folder = write_corpus(tmp_path / "corpus")
    run_dir = tmp_path / "run"
    code = main(
        [
            "train",
            "task=nmt",
            f"task.corpus_dir={folder}",
            "task.test_split=test",
            "task.tokenizer=sentencepiece",
            "task.subword_vocab_size=40",
            "task.embedding_size=8",
            "task.hidden_size=8",
            "task.batch_size=4",
            "trainer.max_steps=2",
            "trainer.max_epochs=null",
            "trainer.eval_every=2",
            "trainer.device=cpu",
            f"hydra.run.dir={run_dir}",
        ]
    )
    assert code == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("Un chien noir court.\n"))
    assert main(["translate", str(run_dir), "--greedy"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


# ---- the table ---------------------------------------------------------------------------------
def test_table4_reads_the_best_valid_nll_and_the_test_bleu(tmp_path):
    from noisyexp.paper import paper_tables
    from noisyexp.reports.records import Run, metric_value, override_key

    (table,) = [t for t in paper_tables() if t["id"] == "table4_nmt"]
    assert [row["experiment"] for row in table["rows"]] == ["nmt_reference", "nmt_hard", "nmt_nah"]
    summary = {
        "task": "nmt",
        "steps": 2000,
        "epochs": 4.0,
        "best": {"valid/nll": 30.5, "step": 500},
        "final": {"valid/nll": 31.0},
        "test": {"test/bleu": 27.25, "test/nll": 29.0},
    }
    run = Run(tmp_path, summary)
    values = {metric["key"]: metric_value(run, metric) for metric in table["metrics"]}
    assert values == {"valid/nll": 30.5, "test/bleu": 27.25, "best/epoch": 1.0, "epochs": 4.0}
    # the cpu profile's reduced sizes are its budget: they do not split the rows
    overrides = ["task.hidden_size=256", "trainer.max_steps=1500", "act.c=1"]
    assert override_key(overrides, profiled=True) == ("act.c=1",)


def test_a_stopped_and_resumed_run_matches_a_straight_one(straight_and_resumed, tmp_path):
    folder = write_corpus(tmp_path / "corpus")
    overrides = [
        "experiment=nmt_nah",
        f"task.corpus_dir={folder}",
        "task.test_split=test",
        "task.embedding_size=8",
        "task.hidden_size=8",
        "task.batch_size=4",
        "task.decode_max_len=6",
        "task.patience=1",
        "trainer.max_steps=6",
        "trainer.max_epochs=null",
        "trainer.eval_every=2",
        "trainer.device=cpu",
    ]
    # stopped mid-epoch (4 batches an epoch): batches, noise and the patience counter restored
    straight, resumed = straight_and_resumed(overrides, stop_step=2)
    assert resumed["steps"] == straight["steps"]
    assert resumed["best"] == straight["best"] and resumed["test"] == straight["test"]


def test_patience_ends_the_run_early(compose_config, tmp_path):
    from noisyexp.training.trainer import train

    folder = write_corpus(tmp_path / "corpus")
    cfg = compose_config(
        "experiment=nmt_reference",
        f"task.corpus_dir={folder}",
        "task.test_split=test",
        "task.embedding_size=8",
        "task.hidden_size=8",
        "task.batch_size=4",
        "task.valid_bleu=false",
        "task.patience=2",
        "optim.lr=1e-30",  # no learning: the valid nll never improves after the first evaluation
        "trainer.max_steps=40",
        "trainer.max_epochs=null",
        "trainer.eval_every=2",
        "trainer.device=cpu",
    )
    summary = train(cfg, tmp_path / "run").summary
    assert summary["status"] == "completed" and summary["steps"] == 6
    assert summary["best"]["step"] == 2 and "test/bleu" in summary["test"]
    assert (tmp_path / "run" / "checkpoints" / "best.pt").is_file()
