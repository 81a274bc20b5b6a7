"""Pick sweeps: each experiment at the grid value its runs did best on, read from the records;
waiting (nothing run, no failure) until the grid has finished; malformed picks refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from noisyexp.cli.app import main
from noisyexp.core.errors import ConfigError
from noisyexp.paper import picks
from noisyexp.paper.reproduce import load_profile, resolve_picks, run_profile
from noisyexp.reports.claims.coverage import coverage

LRS = [0.01, 0.1, 0.5]
GRID = {
    "experiments": ["gaussians_nan", "gaussians_tanh"],
    "seeds": [1],
    "sweep": {"optim.lr": LRS},
}
PICK = {"from": "grid", "key": "optim.lr", "metric": "valid/nll", "section": "best"}


def _profile(
    tmp_path: Path, pick: dict | None = None, picking: list[str] | None = None, **grid: object
) -> Path:
    """A profile: ``grid`` (GRID, changed by ``grid``), then ``picks`` of ``picking``."""
    experiments = picking or GRID["experiments"]
    data = {
        "name": "tiny",
        "overrides": ["trainer.max_steps=4", "trainer.eval_every=2"],
        "sweeps": {
            "grid": {**GRID, **grid},
            "picks": {"experiments": experiments, "seeds": [2, 3], "pick": pick or PICK},
        },
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _grid_run(paper: Path, experiment: str, lr: float, nll: float | None, seed: int = 1) -> None:
    """A grid run's summary.json; ``nll`` None: a run that was stopped."""
    run = paper / "tiny" / "grid" / f"experiment={experiment},optim.lr={lr},seed={seed}"
    run.mkdir(parents=True)
    summary = {"status": "interrupted" if nll is None else "completed", "seed": seed}
    if nll is not None:
        summary["best"] = {"valid/nll": nll, "step": 4}
    (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")


def _grid(paper: Path, nan: list[float | None], tanh: list[float | None]) -> None:
    for lr, a, b in zip(LRS, nan, tanh, strict=True):
        _grid_run(paper, "gaussians_nan", lr, a)
        _grid_run(paper, "gaussians_tanh", lr, b)


def test_the_shipped_mnist_picks_come_from_the_lr_grid() -> None:
    plan = load_profile("full").sweeps["mnist_lr_picks"]
    assert plan.pick == {**PICK, "from": "mnist_lr_grid", "direction": "lower"}
    grid = load_profile("full").sweeps["mnist_lr_grid"]
    assert set(plan.experiments) == set(grid.experiments) and grid.seeds == [1]
    assert plan.seeds == [2, 3]  # seed 1 at the pick is the grid's own run


def test_each_experiment_gets_the_value_its_grid_runs_did_best_on(tmp_path: Path) -> None:
    profile = load_profile(str(_profile(tmp_path)))
    paper = tmp_path / "paper"
    _grid(paper, nan=[0.30, 0.10, 0.20], tanh=[0.05, 0.40, 0.05])  # tanh: a tie, first wins
    plans, chosen, waiting = resolve_picks(profile, "picks", paper)
    assert waiting == ""
    assert [(c.experiment, c.value) for c in chosen] == [
        ("gaussians_nan", 0.1),
        ("gaussians_tanh", 0.01),
    ]
    assert chosen[0].scores == ((0.01, 0.30), (0.1, 0.10), (0.5, 0.20))
    assert [(p.experiments, p.seeds, p.sweep) for p in plans] == [
        (["gaussians_nan"], [2, 3], {"optim.lr": [0.1]}),
        (["gaussians_tanh"], [2, 3], {"optim.lr": [0.01]}),
    ]
    assert chosen[0].text("optim.lr", "valid/nll") == (
        "gaussians_nan: optim.lr=0.1 (valid/nll: 0.01 0.3, 0.1 0.1, 0.5 0.2)"
    )
    higher = load_profile(str(_profile(tmp_path / "h", {**PICK, "direction": "higher"})))
    _, chosen, _ = resolve_picks(higher, "picks", paper)
    assert [c.value for c in chosen] == [0.01, 0.1]  # the largest: 0.30 and 0.40


def test_experiments_with_one_pick_share_one_plan(tmp_path: Path) -> None:
    profile = load_profile(str(_profile(tmp_path)))
    _grid(tmp_path / "paper", nan=[0.3, 0.1, 0.2], tanh=[0.3, 0.1, 0.2])
    plans, _, _ = resolve_picks(profile, "picks", tmp_path / "paper")
    assert [(p.experiments, p.sweep) for p in plans] == [
        (["gaussians_nan", "gaussians_tanh"], {"optim.lr": [0.1]})
    ]


def test_a_seed_grid_scores_each_value_by_its_mean(tmp_path: Path) -> None:
    nan = ["gaussians_nan"]
    profile = load_profile(str(_profile(tmp_path, picking=nan, experiments=nan, seeds=[1, 2])))
    paper = tmp_path / "paper"
    for lr, nlls in zip(LRS, ([0.1, 0.5], [0.2, 0.25], [0.4, 0.4]), strict=True):
        for seed, nll in enumerate(nlls, 1):
            _grid_run(paper, "gaussians_nan", lr, nll, seed)
    _, chosen, _ = resolve_picks(profile, "picks", paper)
    assert chosen[0].value == 0.1  # mean 0.225 against 0.3 and 0.4
    assert chosen[0].scores[0] == (0.01, pytest.approx(0.3))


def test_the_pick_waits_while_a_grid_run_has_not_completed(tmp_path: Path) -> None:
    profile = load_profile(str(_profile(tmp_path)))
    paper = tmp_path / "paper"
    _grid(paper, nan=[0.3, None, 0.2], tanh=[0.05, 0.4, 0.05])  # stopped; and one never started
    (
        paper / "tiny" / "grid" / "experiment=gaussians_tanh,optim.lr=0.5,seed=1" / "summary.json"
    ).unlink()
    plans, chosen, waiting = resolve_picks(profile, "picks", paper)
    assert (plans, chosen) == ([], [])
    assert waiting == "waiting for sweep grid: 4 of 6 runs have best valid/nll"
    lines: list[str] = []
    (result,) = run_profile(
        profile,
        results_dir=tmp_path,
        data_dir=tmp_path,
        only=["picks"],
        dry_run=True,
        echo=lines.append,
    )
    assert (result.status, result.jobs, result.commands) == ("waiting", 0, [])
    assert lines == [f"[1/1] sweep picks: {waiting}; run it again after"]


def test_a_dry_run_names_each_pick_and_runs_the_picked_values(tmp_path: Path) -> None:
    profile = load_profile(str(_profile(tmp_path)))
    _grid(tmp_path / "paper", nan=[0.3, 0.1, 0.2], tanh=[0.05, 0.4, 0.3])
    done = tmp_path / "paper" / "tiny" / "picks" / "experiment=gaussians_nan,optim.lr=0.1,seed=2"
    done.mkdir(parents=True)
    (done / "summary.json").write_text(json.dumps({"status": "completed"}), encoding="utf-8")
    lines: list[str] = []
    (result,) = run_profile(
        profile,
        results_dir=tmp_path,
        data_dir=tmp_path,
        only=["picks"],
        dry_run=True,
        echo=lines.append,
    )
    assert lines[:3] == [
        "  picked gaussians_nan: optim.lr=0.1 (valid/nll: 0.01 0.3, 0.1 0.1, 0.5 0.2)",
        "  picked gaussians_tanh: optim.lr=0.01 (valid/nll: 0.01 0.05, 0.1 0.4, 0.5 0.3)",
        "[1/1] sweep picks: 3 run(s), 1 completed before",
    ]
    commands = [" ".join(command) for command in result.commands]
    assert any("experiment=gaussians_nan seed=3 optim.lr=0.1 " in c for c in commands)
    assert any("experiment=gaussians_tanh seed=2,3 optim.lr=0.01 " in c for c in commands)
    assert all("/paper/tiny/picks" in c for c in commands)


@pytest.mark.parametrize(
    ("pick", "message"),
    [
        ({**PICK, "by": "x"}, "unknown key"),
        ({"from": "grid", "key": "optim.lr"}, "pick needs metric"),
        ({**PICK, "direction": "up"}, "lower or higher"),
        ({**PICK, "from": "nosuch"}, "no such sweep before it"),
        ({**PICK, "key": "act.c"}, "does not sweep act.c"),
    ],
)
def test_a_bad_pick_is_one_clear_error(tmp_path: Path, pick: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=rf"profile tiny: sweep picks: .*{message}"):
        load_profile(str(_profile(tmp_path, pick)))


def test_a_pick_from_a_grid_of_two_keys_is_refused_when_the_profile_loads(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"sweep picks picks optim.lr from a grid that also sweeps act.c"
    ):
        load_profile(str(_profile(tmp_path, sweep={"optim.lr": LRS, "act.c": [0.1, 1.0]})))


def test_a_pick_needs_its_experiments_in_the_grid(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="gaussians_tanh not in sweep grid"):
        load_profile(str(_profile(tmp_path, experiments=["gaussians_nan"])))


def test_choose_reads_only_completed_runs_with_the_metric(tmp_path: Path) -> None:
    good, other = tmp_path / "good", tmp_path / "other"
    good.mkdir()
    other.mkdir()
    (good / "summary.json").write_text(json.dumps({"status": "completed", "final": {"m": 2.0}}))
    (other / "summary.json").write_text(json.dumps({"status": "completed", "final": {"x": 1.0}}))
    pick = {"from": "g", "key": "k", "metric": "m", "section": "final", "direction": "lower"}
    chosen, waiting = picks.choose(pick, {"e": [(1, [good])]})
    assert (chosen[0].value, waiting) == (1, "")
    chosen, waiting = picks.choose(pick, {"e": [(1, [good]), (2, [other])]})
    assert chosen == [] and waiting == "waiting for sweep g: 1 of 2 runs have final m"


def test_coverage_counts_a_pick_sweep_at_its_picks_or_says_it_waits(tmp_path: Path) -> None:
    rows = {(c.profile, c.sweep): c for c in coverage(tmp_path / "nothing")}
    picks_row = rows[("full", "mnist_lr_picks")]
    assert picks_row.done == 0 and picks_row.asked == 10
    assert picks_row.status == "waiting: for sweep mnist_lr_grid: 0 of 20 runs have best valid/nll"
    assert picks_row.command == "noisyexp paper --profile full --only mnist_lr_grid,mnist_lr_picks"


@pytest.mark.slow  # two real sweeps, the second picking from the first's records
def test_make_paper_runs_the_grid_then_the_picks_in_one_call(tmp_path: Path, capsys) -> None:
    nan = ["gaussians_nan"]
    path = _profile(tmp_path, picking=nan, experiments=nan, sweep={"optim.lr": [0.001, 0.05]})
    data = yaml.safe_load(path.read_text())
    data["sweeps"]["picks"]["seeds"] = [2]
    path.write_text(yaml.safe_dump(data))
    results = tmp_path / "results"
    args = ["paper", "--profile", str(path), "--results", str(results), "--launcher", "basic"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "2/2 sweeps completed" in out and "picked gaussians_nan: optim.lr=" in out
    (picked,) = (results / "paper" / "tiny" / "picks").glob("experiment=*")
    lr = picked.name.split("optim.lr=")[1].split(",")[0]
    grid = {
        run.name: json.loads((run / "summary.json").read_text())["best"]["valid/nll"]
        for run in (results / "paper" / "tiny" / "grid").glob("experiment=*")
    }
    best = min(grid, key=grid.get)
    assert f"optim.lr={lr}," in best  # the grid's lowest best valid NLL
    summary = json.loads((picked / "summary.json").read_text())
    assert (summary["status"], summary["seed"]) == ("completed", 2)
    assert f"optim.lr={lr}" in summary["overrides"]
    table = (results / "tables" / "gaussians.md").read_text()
    assert f"| gaussians_nan | – | optim.lr={lr} | tiny | 2 |" in table  # grid seed 1 + pick seed 2
