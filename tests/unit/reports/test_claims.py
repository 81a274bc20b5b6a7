"""The claims report from small fabricated records: every verdict, the Fisher and level paths,
ablations picked up when their records appear, and the shipped claims file's consistency."""

from __future__ import annotations

import json
import statistics
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from scipy import stats as scipy_stats

from noisyexp.core.errors import ConfigError
from noisyexp.reports import claims
from noisyexp.reports.records import collect_runs

EXPERIMENTS = Path(claims.__file__).resolve().parents[2] / "conf" / "experiment"


def _write(
    root: Path,
    experiment: str,
    seed: int,
    *,
    task: str = "ptb",
    profile: str = "full",
    test: dict[str, float] | None = None,
    overrides: tuple[str, ...] = (),
    budget: dict[str, Any] | None = None,
    metrics: list[dict[str, float]] | None = None,
) -> None:
    """One run record as ``make paper`` lays it out (``paper/<profile>/<sweep>/<job>``)."""
    name = f"experiment={experiment},seed={seed}" + "".join(f",{o}" for o in overrides)
    job = root / "paper" / profile / "sweep" / name
    job.mkdir(parents=True)
    summary = {
        "status": "completed",
        "task": task,
        "experiment": experiment,
        "profile": profile,
        "seed": seed,
        "overrides": [f"experiment={experiment}", f"seed={seed}", *overrides],
        "config": {"trainer": budget or {"max_steps": None, "max_epochs": 13}},
        "test": test or {},
    }
    (job / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    lines = "".join(json.dumps(row) + "\n" for row in metrics or [])
    (job / "metrics.jsonl").write_text(lines, encoding="utf-8")


def _ppl(root: Path, experiment: str, values: list[float], **kwargs: Any) -> None:
    for seed, value in enumerate(values, 1):
        _write(root, experiment, seed, test={"test/ppl": value}, **kwargs)


def _errors(root: Path, experiment: str, values: list[float], profile: str = "full") -> None:
    for seed, value in enumerate(values, 1):
        _write(
            root,
            experiment,
            seed,
            task="unique_count",
            profile=profile,
            test={"test/error": value},
            budget={"max_steps": 12000, "max_epochs": None},
        )


PTB_CLAIM = {
    "id": "ptb",
    "text": "NAN beats the reference on PTB",
    "source": "Table 2",
    "table": "table2_ptb",
    "rows": ["ptb_small_nan", "ptb_small_reference"],
    "metric": "test/ppl",
    "direction": "lower",
    "test": "welch",
    "profile": "full",
    "paper_budget": "13 epochs",
    "ablations": [{"row": "ptb_small_nan_c0", "label": "only α > 1"}],
}
UNIQUE_CLAIM = {
    "id": "unique",
    "text": "Annealing beats the curriculum",
    "source": "Table 5",
    "table": "table5_unique_faithful",
    "rows": ["unique_f_nan_annealed", "unique_f_curriculum"],
    "metric": "test/error",
    "direction": "lower",
    "test": "fisher",
    "profile": "full",
}
LEVEL_CLAIM = {
    "id": "level",
    "text": "NAN solves the Gaussians",
    "source": "6.1",
    "table": "gaussians",
    "rows": ["gaussians_nan"],
    "metric": "test/accuracy",
    "direction": "higher",
    "test": "level",
    "threshold": 0.95,
    "profile": "cpu",
}


def _judge(root: Path, claim: dict[str, Any], rule: claims.Rule | None = None) -> list[dict]:
    runs, _ = collect_runs(root / "paper")
    return claims.evaluate(claim, claims.index_runs(runs), rule or claims.Rule(0.05, 3))


def _only(lines: list[dict]) -> claims.Judgement:
    assert len(lines) == 1, [line["profile"] for line in lines]
    return lines[0]["judgement"]


# ----------------------------------------------------------------------------------------------
# Welch: reproduced, refuted, inconclusive


def test_a_clear_effect_in_the_papers_direction_is_reproduced(tmp_path: Path) -> None:
    nan, ref = [100.0, 101.0, 103.0], [110.0, 111.5, 112.0]
    _ppl(tmp_path, "ptb_small_nan", nan)
    _ppl(tmp_path, "ptb_small_reference", ref)
    judgement = _only(_judge(tmp_path, PTB_CLAIM))
    expected = scipy_stats.ttest_ind(nan, ref, equal_var=False).pvalue
    assert judgement.verdict == "reproduced"
    assert judgement.p == pytest.approx(expected, rel=1e-9)
    assert judgement.comparison.diff == pytest.approx(sum(nan) / 3 - sum(ref) / 3)
    assert judgement.comparison.high < 0  # the whole interval on the paper's side


def test_a_clear_effect_against_the_papers_direction_is_refuted(tmp_path: Path) -> None:
    _ppl(tmp_path, "ptb_small_nan", [120.0, 121.0, 123.0])
    _ppl(tmp_path, "ptb_small_reference", [110.0, 111.5, 112.0])
    judgement = _only(_judge(tmp_path, PTB_CLAIM))
    assert judgement.verdict == "refuted"
    assert judgement.comparison.low > 0  # the paper's direction excluded by the interval


def test_an_effect_within_noise_is_inconclusive(tmp_path: Path) -> None:
    _ppl(tmp_path, "ptb_small_nan", [100.0, 112.0, 106.0])
    _ppl(tmp_path, "ptb_small_reference", [104.0, 110.0, 107.0])
    judgement = _only(_judge(tmp_path, PTB_CLAIM))
    assert judgement.verdict == "inconclusive"
    assert judgement.p > 0.05 and "p = " in judgement.reason


def test_one_seed_is_an_anecdote_whatever_its_size(tmp_path: Path) -> None:
    _ppl(tmp_path, "ptb_small_nan", [50.0])
    _ppl(tmp_path, "ptb_small_reference", [150.0])
    judgement = _only(_judge(tmp_path, PTB_CLAIM))
    assert judgement.verdict == "inconclusive"
    assert "fewer than 3 runs" in judgement.reason


def test_two_seeds_are_below_the_rules_n_even_with_a_tiny_p(tmp_path: Path) -> None:
    _ppl(tmp_path, "ptb_small_nan", [100.0, 100.1])
    _ppl(tmp_path, "ptb_small_reference", [150.0, 150.1])
    judgement = _only(_judge(tmp_path, PTB_CLAIM))
    assert judgement.p is not None and judgement.p < 0.001
    assert judgement.verdict == "inconclusive"
    # the rule's n comes from the data file: at min_n = 2 the same records reproduce the claim
    assert _only(_judge(tmp_path, PTB_CLAIM, claims.Rule(0.05, 2))).verdict == "reproduced"


def test_a_row_without_spread_gets_no_welch_verdict(tmp_path: Path) -> None:
    _ppl(tmp_path, "ptb_small_nan", [100.0, 101.0, 103.0])
    _ppl(tmp_path, "ptb_small_reference", [110.0, 110.0, 110.0])
    judgement = _only(_judge(tmp_path, PTB_CLAIM))
    assert judgement.verdict == "inconclusive" and "std 0" in judgement.reason
    assert judgement.p is None


def test_runs_with_changed_settings_are_not_seeds_of_the_row(tmp_path: Path) -> None:
    _ppl(tmp_path, "ptb_small_nan", [100.0, 101.0, 103.0])
    _ppl(tmp_path, "ptb_small_reference", [110.0, 111.5])
    _ppl(tmp_path, "ptb_small_reference", [111.0], overrides=("optim.lr=0.5",))
    # a budget override of the profile is no change: it fills the row
    _write(
        tmp_path,
        "ptb_small_reference",
        9,
        test={"test/ppl": 111.0},
        overrides=("trainer.max_epochs=13",),
    )
    judgement = _only(_judge(tmp_path, PTB_CLAIM))
    assert [len(side["runs"]) for side in judgement.sides] == [3, 3]


# ----------------------------------------------------------------------------------------------
# not run, profiles and ablations


def test_a_row_without_records_is_not_run_with_the_command_that_runs_it(tmp_path: Path) -> None:
    _ppl(tmp_path, "ptb_small_reference", [110.0, 111.5, 112.0])
    judgement = _only(_judge(tmp_path, PTB_CLAIM))
    assert judgement.verdict == "not run"
    assert judgement.commands == ["noisyexp paper --profile full --only table2_ptb"]


def test_the_claims_profile_is_always_judged_and_others_with_records_too(tmp_path: Path) -> None:
    _ppl(tmp_path, "ptb_small_nan", [100.0, 101.0, 103.0], profile="cpu")
    _ppl(tmp_path, "ptb_small_reference", [110.0, 111.5, 112.0], profile="cpu")
    lines = _judge(tmp_path, PTB_CLAIM)
    assert [line["profile"] for line in lines] == ["full", "cpu"]
    assert lines[0]["judgement"].verdict == "not run"
    assert lines[0]["judgement"].commands == ["noisyexp paper --profile full --only table2_ptb"]
    assert lines[1]["judgement"].verdict == "reproduced"  # budgets are never mixed


def test_ablations_say_not_run_until_their_records_appear(tmp_path: Path) -> None:
    _ppl(tmp_path, "ptb_small_nan", [100.0, 101.0, 103.0])
    _ppl(tmp_path, "ptb_small_reference", [110.0, 111.5, 112.0])
    (line,) = _judge(tmp_path, PTB_CLAIM)
    ((ablation, judgement),) = line["ablations"]
    assert ablation["row"] == "ptb_small_nan_c0"
    assert judgement.verdict == "not run"
    assert judgement.commands == ["noisyexp paper --profile full --only table2_ptb"]
    _ppl(tmp_path, "ptb_small_nan_c0", [100.5, 101.5, 102.5])
    (line,) = _judge(tmp_path, PTB_CLAIM)
    ((_, judgement),) = line["ablations"]
    assert judgement.verdict == "reproduced"  # against the claim's baseline, the reference
    assert [side["experiment"] for side in judgement.sides] == [
        "ptb_small_nan_c0",
        "ptb_small_reference",
    ]


# ----------------------------------------------------------------------------------------------
# Fisher and level


def test_fisher_path_reproduces_on_solved_counts(tmp_path: Path) -> None:
    _errors(tmp_path, "unique_f_nan_annealed", [0.1, 0.2, 0.0, 0.4, 1.0])
    _errors(tmp_path, "unique_f_curriculum", [59.7, 59.7, 55.0, 59.7, 48.0])
    judgement = _only(_judge(tmp_path, UNIQUE_CLAIM))
    assert [side["solved"] for side in judgement.sides] == [5, 0]
    assert judgement.p == pytest.approx(float(Fraction(2, 252)))  # by hand: 2 of C(10, 5)
    assert judgement.verdict == "reproduced"
    assert judgement.comparison is None  # no Welch on bimodal rows


def test_fisher_path_refutes_and_stays_inconclusive_by_the_same_rule(tmp_path: Path) -> None:
    _errors(tmp_path, "unique_f_nan_annealed", [59.7] * 5)
    _errors(tmp_path, "unique_f_curriculum", [0.0] * 5)
    assert _only(_judge(tmp_path, UNIQUE_CLAIM)).verdict == "refuted"
    other = tmp_path / "other"
    _errors(other, "unique_f_nan_annealed", [0.1, 0.2, 59.7])
    _errors(other, "unique_f_curriculum", [0.0, 59.7, 59.7])
    judgement = _only(_judge(other, UNIQUE_CLAIM))
    assert judgement.verdict == "inconclusive"
    assert judgement.p == pytest.approx(1.0)  # 2/3 against 1/3: weights 1, 9, 9, 1 of 20, all ≤ 9


def test_fisher_threshold_comes_from_the_claim(tmp_path: Path) -> None:
    _errors(tmp_path, "unique_f_nan_annealed", [6.0, 7.0, 8.0])
    _errors(tmp_path, "unique_f_curriculum", [59.7] * 3)
    assert _only(_judge(tmp_path, UNIQUE_CLAIM)).sides[0]["solved"] == 0  # below 5 %: none
    loose = {**UNIQUE_CLAIM, "solved_below": 10.0}
    assert _only(_judge(tmp_path, loose)).sides[0]["solved"] == 3


SPEED_CLAIM = {
    "id": "speed",
    "text": "Annealing solves sooner than the curriculum",
    "source": "Table 5",
    "table": "table5_unique_faithful",
    "rows": ["unique_f_nan_annealed", "unique_f_curriculum"],
    "metric": "valid/error_solved_step",
    "direction": "lower",
    "test": "welch",
    "profile": "long",
    "other_profiles": False,
}


def _solved_at(root: Path, experiment: str, steps: list[int | None], profile: str) -> None:
    """Runs whose valid error drops below 5 % at ``steps`` (None: stays on the plateau)."""
    for seed, step in enumerate(steps, 1):
        curve = [
            {"step": at, "valid/error": 0.2 if step is not None and at >= step else 59.7}
            for at in range(500, 20001, 500)
        ]
        _write(
            root,
            experiment,
            seed,
            task="unique_count",
            profile=profile,
            test={"test/error": curve[-1]["valid/error"]},
            budget={"max_steps": 50000, "max_epochs": None},
            metrics=curve,
        )


def test_a_speed_claim_compares_the_first_steps_below_the_threshold(tmp_path: Path) -> None:
    annealed, curriculum = [7000, 7500, 8000], [12000, 13500, 15000]
    _solved_at(tmp_path, "unique_f_nan_annealed", annealed, "long")
    _solved_at(tmp_path, "unique_f_curriculum", curriculum, "long")
    # the same rows at another budget: not judged by a claim with other_profiles false
    _solved_at(tmp_path, "unique_f_nan_annealed", [7000, 7500, 8000], "full")
    _solved_at(tmp_path, "unique_f_curriculum", [12000, 13500, 15000], "full")
    lines = _judge(tmp_path, SPEED_CLAIM)
    assert [line["profile"] for line in lines] == ["long"]
    judgement = lines[0]["judgement"]
    assert [side["stat"].mean for side in judgement.sides] == [7500, 13500]
    expected = scipy_stats.ttest_ind(annealed, curriculum, equal_var=False).pvalue
    assert judgement.p == pytest.approx(expected, rel=1e-9)
    assert judgement.verdict == "reproduced"
    assert len(_judge(tmp_path, {**SPEED_CLAIM, "other_profiles": True})) == 2


def test_a_speed_claim_with_runs_that_never_got_there_is_censored(tmp_path: Path) -> None:
    _solved_at(tmp_path, "unique_f_nan_annealed", [7000, 7500, 8000, 8000], "long")
    _solved_at(tmp_path, "unique_f_curriculum", [12000, None, 13500, 15000], "long")
    judgement = _only(_judge(tmp_path, SPEED_CLAIM))
    assert judgement.verdict == "inconclusive"
    assert judgement.p is None
    assert "unique_f_curriculum 1 of 4" in judgement.reason and "censored" in judgement.reason
    assert [side["stat"].n for side in judgement.sides] == [4, 3]


def _accuracy(root: Path, values: list[float]) -> None:
    for seed, value in enumerate(values, 1):
        _write(
            root,
            "gaussians_nan",
            seed,
            task="gaussians",
            profile="cpu",
            test={"test/accuracy": value},
        )


@pytest.mark.parametrize(
    ("values", "verdict"),
    [
        ([0.97, 0.98, 0.99], "reproduced"),  # interval [0.955, 1.005]: past 0.95
        ([0.50, 0.60, 0.55], "refuted"),
        ([0.90, 0.99, 0.95], "inconclusive"),
        ([0.99], "inconclusive"),
    ],
)
def test_a_level_claim_compares_the_interval_with_the_threshold(tmp_path, values, verdict):
    _accuracy(tmp_path, values)
    assert _only(_judge(tmp_path, LEVEL_CLAIM)).verdict == verdict


# ----------------------------------------------------------------------------------------------
# the claims file and the report


def test_the_shipped_claims_file_is_consistent() -> None:
    rule, shipped, not_encoded = claims.load_claims()
    assert (rule.alpha, rule.min_n) == (0.05, 3)
    presets = {path.stem for path in EXPERIMENTS.glob("*.yaml")}
    for claim in shipped:
        rows = [*claim["rows"], *(a["row"] for a in claim.get("ablations") or [])]
        rows += [a["against"] for a in claim.get("ablations") or [] if "against" in a]
        assert set(rows) <= presets, (claim["id"], set(rows) - presets)
        assert claims.run_command(claim["rows"][0], claim["profile"]).startswith(
            f"noisyexp paper --profile {claim['profile']} --only "
        ), claim["id"]
    assert all(item["text"] and item["why"] for item in not_encoded)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"table": "nope"}, "no table"),
        ({"metric": "valid/bpc"}, "no metric"),
        ({"test": "t"}, "test must be"),
        ({"direction": "up"}, "direction"),
        ({"rows": ["ptb_small_nan"]}, "compares 2"),
        ({"ablations": [{"row": "x"}]}, "ablation"),
        ({"other_profiles": "no"}, "other_profiles"),
    ],
)
def test_a_bad_claim_is_one_clear_error(change: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        claims.load_claims({"claims": [{**PTB_CLAIM, **change}]})
    with pytest.raises(ConfigError, match="lacks"):
        claims.load_claims({"claims": [{"id": "x"}]})


def test_main_writes_markdown_and_json_that_do_not_depend_on_the_location(tmp_path) -> None:
    for root in (tmp_path / "a", tmp_path / "b" / "deeper"):
        _ppl(root, "ptb_small_nan", [100.0, 101.0, 103.0])
        _ppl(root, "ptb_small_reference", [110.0, 111.5, 112.0])
        _errors(root, "unique_f_nan_annealed", [0.1, 0.2, 0.0, 0.4, 1.0])
        _errors(root, "unique_f_curriculum", [59.7] * 5)
    one = claims.main(tmp_path / "a", tmp_path / "out1")
    two = claims.main(tmp_path / "b" / "deeper" / "paper", tmp_path / "out2")
    assert [p.name for p in one] == ["claims.md", "claims.json", "claims_summary.md"]
    for first, second in zip(one, two, strict=True):
        assert first.read_bytes() == second.read_bytes()
        assert str(tmp_path) not in first.read_text(encoding="utf-8")
    markdown = one[0].read_text(encoding="utf-8")
    assert "fewer than 3 runs in a row" in markdown  # the rule is stated in the header
    assert "noisyexp paper --profile full --only char_gru" in markdown  # char GRU: not run
    data = json.loads(one[1].read_text(encoding="utf-8"))
    by_id = {claim["id"]: claim for claim in data["claims"]}
    assert by_id["ptb_nan_test"]["lines"][0]["verdict"] == "reproduced"
    assert by_id["unique_f_annealed_vs_curriculum"]["lines"][0]["verdict"] == "reproduced"
    assert by_id["unique_f_annealed_vs_curriculum"]["lines"][0]["rows"][0]["solved"] == 5
    assert by_id["char_nanis_worse"]["lines"][0]["verdict"] == "not run"
    ablation = by_id["ptb_nan_test"]["lines"][0]["ablations"][0]
    assert ablation["verdict"] == "not run" and ablation["row"] == "ptb_small_nan_c0"
    assert data["rule"] == {"alpha": 0.05, "min_n": 3, "confidence": 0.95}


def test_main_reads_only_the_paper_records_of_a_results_folder(tmp_path: Path) -> None:
    _ppl(tmp_path, "ptb_small_nan", [100.0, 101.0, 103.0])
    _ppl(tmp_path, "ptb_small_reference", [110.0, 111.5, 112.0])
    rerun = tmp_path / "runs" / "ptb" / "again" / "summary.json"
    rerun.parent.mkdir(parents=True)
    summary = {
        "status": "completed",
        "task": "ptb",
        "experiment": "ptb_small_nan_c0",
        "profile": "full",
        "seed": 0,
        "overrides": ["experiment=ptb_small_nan_c0"],
        "test": {"test/ppl": 90.0},
    }
    rerun.write_text(json.dumps(summary), encoding="utf-8")
    claims.main(tmp_path, tmp_path / "out")
    data = json.loads((tmp_path / "out" / "claims.json").read_text(encoding="utf-8"))
    ptb = next(claim for claim in data["claims"] if claim["id"] == "ptb_nan_test")
    assert ptb["lines"][0]["ablations"][0]["verdict"] == "not run"  # the rerun is not a record


def _welch_p_text(a: list[float], b: list[float]) -> str:
    p = scipy_stats.ttest_ind(a, b, equal_var=False).pvalue
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def test_the_summary_has_one_row_per_claim_with_its_verdicts_and_evidence(tmp_path) -> None:
    nan, reference = [100.0, 101.0, 103.0], [110.0, 111.5, 112.0]
    _ppl(tmp_path, "ptb_small_nan", nan)
    _ppl(tmp_path, "ptb_small_reference", reference)
    _errors(tmp_path, "unique_f_nan_annealed", [0.1, 0.2, 0.0, 0.4, 1.0])
    _errors(tmp_path, "unique_f_curriculum", [59.7] * 5)
    _errors(tmp_path, "unique_f_curriculum", [59.7] * 2, profile="long")
    claims.main(tmp_path, tmp_path / "out")
    summary = (tmp_path / "out" / "claims_summary.md").read_text(encoding="utf-8")
    rows = [line for line in summary.splitlines() if line.startswith("| ")][1:]
    _, shipped, _ = claims.load_claims()
    assert [row[2:].split(" | ")[0] for row in rows] == [claim["text"] for claim in shipped]
    by_text = {claim["id"]: rows[i] for i, claim in enumerate(shipped)}

    def text(claim_id: str) -> str:
        return next(claim["text"] for claim in shipped if claim["id"] == claim_id)

    def stat(values: list[float]) -> str:
        return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"

    # Welch: the means ± sample std of each row and Welch's p, as computed here by scipy
    assert by_text["ptb_nan_test"] == (
        f"| {text('ptb_nan_test')} | **reproduced** (full) | full, n = 3 vs 3: "
        f"{stat(nan)} vs {stat(reference)}, Welch {_welch_p_text(nan, reference)} |"
    )
    # Fisher: 5 of 5 solved against 0 of 5 (exact p = 2 / C(10, 5) = 1/126); the long profile
    # has records of one row only: "not run" there, with no evidence
    fisher = scipy_stats.fisher_exact([[5, 0], [0, 5]]).pvalue
    assert float(Fraction(2, 252)) == pytest.approx(fisher)
    assert by_text["unique_f_annealed_vs_curriculum"] == (
        f"| {text('unique_f_annealed_vs_curriculum')} | **reproduced** (full); not run (long) "
        f"| full, n = 5 vs 5: solved 5/5 vs 0/5 (median 0.20 vs 59.70), Fisher p = {fisher:.3f} |"
    )
    assert by_text["char_nanis_worse"] == f"| {text('char_nanis_worse')} | not run (full) | – |"
    counts = summary.split("Claims by verdict, own profile: ", 1)[1].split(".", 1)[0]
    numbers = dict(item.rsplit(" ", 1) for item in counts.split(", "))
    assert list(numbers) == list(claims.VERDICTS)
    assert sum(int(n) for n in numbers.values()) == len(shipped)
    first = [row.split(" | ")[1].split(";")[0].replace("*", "") for row in rows]
    for verdict in claims.VERDICTS:
        assert int(numbers[verdict]) == sum(f.startswith(verdict + " (") for f in first)


def test_coverage_counts_the_completed_runs_of_every_sweep_asked_for(tmp_path: Path) -> None:
    from noisyexp.paper.reproduce import load_profile
    from noisyexp.reports.claims import coverage

    sweep = tmp_path / "full" / "table2_ptb"
    for job, status in [
        ("experiment=ptb_small_nan,seed=1", "completed"),
        ("experiment=ptb_small_nan,seed=2", "failed"),  # final, but not a result
        ("experiment=ptb_small_nan,seed=9", "completed"),  # a seed the profile does not ask for
    ]:
        (sweep / job).mkdir(parents=True)
        (sweep / job / "summary.json").write_text(json.dumps({"status": status}))
    found = {(c.profile, c.sweep): c for c in coverage(tmp_path)}
    ptb = found[("full", "table2_ptb")]
    assert (ptb.done, ptb.asked) == (1, load_profile("full").sweeps["table2_ptb"].jobs())
    assert ptb.status == "partial"
    assert ptb.command == "noisyexp paper --profile full --only table2_ptb"
    assert found[("full", "mnist")].status == "not run"
    assert all(c.profile != "quick" for c in found.values())  # a smoke test is not a result
