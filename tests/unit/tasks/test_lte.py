"""Learning to Execute: program generator and evaluator, curriculum, metric, task and resume."""

from __future__ import annotations

import json
import random
import re
from collections import Counter

import pytest
import torch

from noisyexp.activations.roles import Units
from noisyexp.core.errors import ConfigError
from noisyexp.data.lte_curriculum import Curriculum
from noisyexp.data.programs import (
    VOCAB,
    Assign,
    BinOp,
    Const,
    IfElse,
    Loop,
    ParseError,
    Program,
    Var,
    evaluate,
    generate_program,
    parse,
    render,
    sample_text,
    split_of,
)
from noisyexp.tasks.lte import (
    IGNORE,
    LTEConfig,
    LTETask,
    _draw_sample,
    char_accuracy,
    encode_sample,
)

DIFFICULTIES = [(1, 1), (2, 1), (1, 2), (3, 2), (6, 3), (4, 4)]


def _programs(difficulty: tuple[int, int], count: int, seed: int = 0) -> list[Program]:
    rng = random.Random(seed)
    return [generate_program(rng, lambda: difficulty) for _ in range(count)]


def _constants(expr) -> list[int]:
    if isinstance(expr, Const):
        return [expr.value]
    if isinstance(expr, Var):
        return []
    if isinstance(expr, BinOp):
        return _constants(expr.left) + _constants(expr.right)
    return [
        v for part in (expr.then, expr.left, expr.right, expr.otherwise) for v in _constants(part)
    ]


# ---- generator and evaluator -------------------------------------------------------------------


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_generated_programs_follow_the_grammar_and_evaluate(difficulty):
    length, nesting = difficulty
    for program in _programs(difficulty, 300):
        text = render(program)
        assert set(text) <= set(VOCAB[1:])
        assert text.endswith(")") and re.search(r"(^|#)print\(", text)
        assert parse(text) == program  # the text is the grammar's, and says exactly the tree
        value = evaluate(program)
        assert isinstance(value, int)
        assert evaluate(parse(text)) == value
        # constants: 1..10**length; multipliers and loop counts: 1..4*length
        statements = program.statements
        numbers = [v for s in statements for v in _constants(s.value)]
        numbers += _constants(program.output)
        assert all(1 <= v <= 10**length for v in numbers)
        assert all(1 <= s.count <= 4 * length for s in statements if isinstance(s, Loop))
        # each operation adds at most two lines and one variable
        names = [s.name for s in statements if isinstance(s, Assign)]
        assert len(names) == len(set(names)) <= nesting
        assert len(statements) <= 2 * nesting
        program_text, output_text = sample_text(program)
        assert program_text == text + "@" and output_text == f"{value}."


def test_every_operation_kind_appears_with_its_own_form():
    texts = [render(p) for p in _programs((2, 1), 600, seed=3)]
    single = re.compile(r"^print\(\d+\)$")
    forms = {
        "pair": lambda t: re.fullmatch(r"print\(\(\d+[+-]\d+\)\)", t),
        "smallmul": lambda t: re.fullmatch(r"print\(\(\d+\*\d+\)\)", t),
        "equality": lambda t: single.fullmatch(t),
        "vars": lambda t: re.fullmatch(r"[a-j]=\d+;#print\(\([a-j][+-]\d+\)\)", t),
        "loop": lambda t: re.fullmatch(
            r"[a-j]=\d+#for x in range\(\d+\):[a-j][+-]=\d+#print\([a-j]\)", t
        ),
        "ifstat": lambda t: re.fullmatch(r"print\(\(\d+ if \d+[<>]\d+ else \d+\)\)", t),
    }
    counts = Counter(next(k for k, f in forms.items() if f(t)) for t in texts)
    assert set(counts) == set(forms)
    assert all(60 <= n <= 140 for n in counts.values()), counts  # 100 each expected


def test_difficulty_knobs_grow_numbers_and_programs():
    def mean(values):
        return sum(values) / len(values)

    def digits(difficulty):
        return mean(
            [len(str(v)) for p in _programs(difficulty, 200) for v in _constants(p.output)] or [0]
        )

    assert digits((1, 1)) < digits((3, 1)) < digits((6, 1))
    assert max(len(str(v)) for p in _programs((4, 1), 300) for v in _constants(p.output)) <= 5
    sizes = {n: mean([len(render(p)) for p in _programs((3, n), 300)]) for n in (1, 2, 3)}
    assert sizes[1] < sizes[2] < sizes[3]


def test_generation_is_deterministic_per_seed():
    first = [render(p) for p in _programs((6, 3), 50, seed=7)]
    again = [render(p) for p in _programs((6, 3), 50, seed=7)]
    other = [render(p) for p in _programs((6, 3), 50, seed=8)]
    assert first == again
    assert first != other


HAND_WRITTEN = [
    ("print(5)", 5),
    ("print((12+30))", 42),
    ("print((7-19))", -12),
    ("print((3*(2+4)))", 18),
    ("print((1 if 2<3 else 4))", 1),
    ("print((1 if 2>3 else 4))", 4),
    ("a=5;#print((a-7))", -2),
    ("b=10#for x in range(3):b-=4#print(b)", -2),
    # the example of Zaremba & Sutskever's README-era paper (Fig 1 style)
    ("j=8584#for x in range(8):j+=920#b=(1500+j)#print((b+7567))", 25011),
    ("c=(4 if 9<2 else (2*3))#for x in range(2):c+=(c-1)#print(((c*2)-100))", -58),
]


@pytest.mark.parametrize(("text", "output"), HAND_WRITTEN)
def test_hand_written_programs_give_their_known_outputs(text, output):
    program = parse(text)
    assert render(program) == text
    assert evaluate(program) == output


def test_the_tree_evaluates_without_text():
    program = Program(
        (Assign("d", BinOp("*", Const(3), Const(4))), Loop(2, "d", "-", Var("d"))),
        IfElse(Var("d"), Const(1), ">", Const(0), Const(-1)),
    )
    # d = 12; d -= d (0); d -= d (0); print(d if 1 > 0 else -1)
    assert evaluate(program) == 0
    assert render(program) == "d=(3*4)#for x in range(2):d-=d#print((d if 1>0 else -1))"


@pytest.mark.parametrize(
    "text", ["print(5", "a=1#print(b)x", "print((1/2))", "for y in range(2):a+=1#print(a)", ""]
)
def test_parse_rejects_text_outside_the_grammar(text):
    with pytest.raises(ParseError):
        parse(text)


def test_a_variable_used_before_assignment_is_an_error():
    with pytest.raises(ValueError, match="before assignment"):
        evaluate(parse("print((a+1))"))


# ---- curriculum --------------------------------------------------------------------------------


def _frequencies(curriculum: Curriculum, draws: int = 30000, seed: int = 0) -> Counter:
    rng = random.Random(seed)
    return Counter(curriculum.draw(rng) for _ in range(draws))


def test_combined_draws_the_current_difficulty_four_times_in_five():
    curriculum = Curriculum("combined", 6, 3, length=2, nesting=1)
    draws = 30000
    freq = _frequencies(curriculum, draws)
    # current: 4/5 + 1/5 * 1/18; each of the 17 others: 1/5 * 1/18 (binomial std <= 0.0023)
    assert freq[(2, 1)] / draws == pytest.approx(0.8 + 0.2 / 18, abs=0.01)
    others = [freq[(n, m)] / draws for n in range(1, 7) for m in range(1, 4) if (n, m) != (2, 1)]
    assert len(others) == 17 and all(abs(p - 0.2 / 18) < 0.004 for p in others)
    assert set(freq) <= {(n, m) for n in range(1, 7) for m in range(1, 4)}


def test_mix_is_uniform_over_every_difficulty_up_to_the_target():
    freq = _frequencies(Curriculum("mix", 6, 3, length=4, nesting=2))
    assert len(freq) == 18
    assert all(abs(n / 30000 - 1 / 18) < 0.006 for n in freq.values())


def test_baseline_and_naive_are_constant():
    assert set(_frequencies(Curriculum("baseline", 6, 3, length=2), 500)) == {(6, 3)}
    assert set(_frequencies(Curriculum("naive", 6, 3, length=2, nesting=3), 500)) == {(2, 3)}
    assert Curriculum("blend").strategy == "combined"
    with pytest.raises(ValueError):
        Curriculum("sometimes")


def test_make_harder_raises_length_then_nesting_until_the_target():
    curriculum = Curriculum("combined", 3, 2)
    seen = [curriculum.current]
    while curriculum.make_harder():
        seen.append(curriculum.current)
    assert seen == [(1, 1), (2, 1), (3, 1), (1, 2), (2, 2), (3, 2)]


def test_update_follows_the_original_threshold_and_plateau_rule():
    curriculum = Curriculum("combined", 2, 1)
    assert not curriculum.update(0.95, 0.5)  # must *exceed* 0.95
    assert curriculum.update(0.951, 0.5) and curriculum.current == (2, 1)
    assert curriculum.train_accs == [0.5]  # cleared on a raise, then this evaluation's
    for acc in (0.6, 0.7, 0.8, 0.9):
        assert not curriculum.update(0.1, acc)  # training still improving
    # the training accuracy fell below its value five evaluations back (0.5 -> 0.4): a plateau,
    # but the target is reached, so the raise only counts as exhausted
    assert not curriculum.update(0.1, 0.4)
    assert curriculum.exhausted == 1 and curriculum.train_accs == [0.4]
    restored = Curriculum("combined", 2, 1)
    restored.load_state_dict(curriculum.state_dict())
    assert restored == curriculum


def test_the_sampler_gives_nesting_once_and_a_length_per_draw():
    calls = []

    def sampler():
        calls.append(1)
        return (2, 3)

    generate_program(random.Random(0), sampler)
    assert len(calls) >= 4  # nesting, then at least one constant per operation


# ---- metric ------------------------------------------------------------------------------------


def test_encode_scores_only_the_output_characters():
    inputs, targets = encode_sample("print(-5)@", "-5.")
    text = "print(-5)@-5."
    assert inputs == [VOCAB.index(c) for c in text]
    scored = {i: VOCAB[t] for i, t in enumerate(targets) if t != IGNORE}
    # "@" predicts "-", "-" predicts "5", "5" predicts "."; the final "." predicts nothing
    assert scored == {9: "-", 10: "5", 11: "."}


def test_char_accuracy_counts_right_output_characters_only():
    targets = torch.tensor([[IGNORE, 3], [4, 5], [6, IGNORE]])  # (T=3, B=2): 4 scored
    predicted = torch.tensor([[3, 3], [4, 0], [7, 9]])  # right: (0,1), (1,0); wrong: (1,1), (2,0)
    logits = torch.nn.functional.one_hot(predicted, 10).float()
    assert char_accuracy(logits, targets) == (2, 4)
    assert char_accuracy(
        torch.nn.functional.one_hot(targets.clamp(min=0), 10).float(), targets
    ) == (
        4,
        4,
    )


# ---- task --------------------------------------------------------------------------------------

TINY = dict(batch_size=4, unroll=7, hidden_size=8, valid_size=6, test_size=6, eval_columns=3)


def _task(seed: int = 1, **changes) -> LTETask:
    cfg = LTEConfig(**{**TINY, **changes})
    return LTETask(cfg, data_dir=".", seed=seed, device=torch.device("cpu"))


def _model(task: LTETask) -> torch.nn.Module:
    torch.manual_seed(0)
    return task.build_model(
        Units(gate=lambda n: torch.nn.Sigmoid(), cell=lambda n: torch.nn.Tanh())
    )


def test_batches_depend_only_on_seed_step_and_state():
    first, second, other = _task(), _task(), _task(seed=2)
    windows = [first._window() for _ in range(5)]
    assert all(
        torch.equal(a[0], b[0])
        for a, b in zip(windows, [second._window() for _ in range(5)], strict=True)
    )
    assert not torch.equal(windows[0][0], other._window()[0])
    # state carried over: a task restored mid-stream reads the same next windows
    restored = _task()
    restored.load_state_dict(first.state_dict())
    assert torch.equal(first._window()[0], restored._window()[0])


def test_splits_are_disjoint_by_hash():
    rng = random.Random(0)
    for kind in (0, 1, 2):
        for _ in range(20):
            program_text, output_text = _draw_sample(rng, lambda: (3, 2), kind)
            assert split_of(program_text + output_text) == kind


def test_evaluate_reports_percentages_and_the_curriculum():
    task = _task()
    model = _model(task)
    model.train()
    for step in range(6):  # 42 characters per column: at least one whole sample
        task.train_step(model, step)
    assert task.train_scored > 0
    train = task.evaluate(model, "train")
    valid = task.evaluate(model, "valid")
    test = task.evaluate(model, "test")
    assert 0 <= train["accuracy"] <= 100 and 0 <= test["accuracy"] <= 100
    assert valid["curriculum_length"] == 1 and valid["curriculum_nesting"] == 1
    task.on_evaluate({f"valid/{k}": v for k, v in valid.items()} | {"train/accuracy": 50.0}, 1)
    assert task.train_scored == 0  # the running training accuracy restarts


def test_on_evaluate_raises_the_difficulty_above_the_threshold():
    task = _task(threshold=0.5)
    task.on_evaluate({"valid/curriculum_accuracy": 60.0, "train/accuracy": 10.0}, 100)
    assert task.curriculum.current == (2, 1)
    task.on_evaluate({"valid/curriculum_accuracy": 40.0, "train/accuracy": 10.0}, 200)
    assert task.curriculum.current == (2, 1)


@pytest.mark.parametrize(
    ("key", "value"),
    [("strategy", "random"), ("threshold", 0.0), ("unroll", 0), ("dropout", 1.0)],
)
def test_bad_config_values_are_rejected(key, value):
    with pytest.raises(ConfigError, match=key):
        LTEConfig(**{key: value})


@pytest.mark.slow  # a real end-to-end run
def test_run_stopped_mid_curriculum_and_resumed_matches_a_straight_run(
    straight_and_resumed, tmp_path
):
    overrides = [
        "experiment=lte_nah",
        "trainer.max_steps=12",
        "trainer.eval_every=3",
        "trainer.log_every=3",
        "trainer.device=cpu",
        "task.batch_size=3",
        "task.unroll=6",
        "task.hidden_size=8",
        "task.valid_size=4",
        "task.test_size=4",
        "task.eval_columns=2",
        "task.steps_per_epoch=5",
        "task.threshold=1e-9",  # raised whenever an output character is right
        "task.window=1",  # or whenever the training accuracy fell since the last evaluation
    ]
    # stopped at an evaluation (a stopped run evaluates at its last step, and evaluations move
    # the curriculum), mid-epoch: the streams and the carried LSTM state are restored too
    straight, resumed = straight_and_resumed(overrides, stop_step=6)
    assert resumed["final"] == straight["final"]
    assert resumed["test"] == straight["test"]
    logged = [json.loads(line) for line in (tmp_path / "straight" / "metrics.jsonl").open()]
    difficulty = {
        row["step"]: (row["valid/curriculum_length"], row["valid/curriculum_nesting"])
        for row in logged
    }
    # an evaluation shows the difficulty trained before it: the one at step 6, where the run
    # stopped, raised it, so the resumed part (steps 7-12) trained at the raised difficulty
    assert difficulty[6] == (1.0, 1.0) and difficulty[9] != (1.0, 1.0)
    # the curve of ICML Fig 8 (figures.py: train/accuracy against epoch) is logged
    assert all(0.0 <= row["train/accuracy"] <= 100.0 and "epoch" in row for row in logged)
