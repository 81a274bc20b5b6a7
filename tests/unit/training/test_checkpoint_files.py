"""What each checkpoint file holds, and which weights score the test split."""

from __future__ import annotations

import torch

from noisyexp.core.checkpoint import load_checkpoint
from noisyexp.training.run_log import read_jsonl
from noisyexp.training.trainer import train

# Adam (the default optim): its state is two moments per weight
RUN = ["trainer.max_steps=30", "trainer.eval_every=5", "trainer.log_every=5", "optim.lr=0.5"]


def test_best_pt_holds_the_weights_but_no_optimizer_state(compose_config, tmp_path):
    train(compose_config(*RUN, "task.hidden_sizes=[128,128]"), tmp_path / "run")
    folder = tmp_path / "run" / "checkpoints"
    best, last = load_checkpoint(folder / "best.pt"), load_checkpoint(folder / "last.pt")
    assert "optimizer" in last and "optimizer" not in best
    assert best["model"].keys() == last["model"].keys() and best["config"] == last["config"]
    # weights 1/3 of last.pt's tensors (Adam keeps two moments per weight)
    assert (folder / "best.pt").stat().st_size < 0.5 * (folder / "last.pt").stat().st_size


def _test_loss_with(cfg, state: dict[str, torch.Tensor], run_dir) -> float:
    """The test loss of ``cfg``'s model given ``state``, computed apart from the trainer."""
    from noisyexp.config.act import build_units
    from noisyexp.tasks import get_task

    _, task_class = get_task(cfg.task.name)
    task = task_class(cfg.task, data_dir=run_dir, seed=cfg.seed, device=torch.device("cpu"))
    model = task.build_model(build_units(cfg.act))
    model.load_state_dict(state)
    model.eval()
    with torch.inference_mode():
        return float(task.evaluate(model, "test")["loss"])


def test_test_weights_best_scores_the_test_split_with_best_pt(compose_config, tmp_path):
    # a large lr makes the last evaluation worse than an earlier one, so the two differ
    results = {}
    for choice in ("last", "best"):
        cfg = compose_config(*RUN, f"trainer.test_weights={choice}")
        results[choice] = (cfg, train(cfg, tmp_path / choice).summary)
    best_cfg, best = results["best"]
    rows = read_jsonl(tmp_path / "best" / "metrics.jsonl")
    assert best["best"]["step"] < rows[-1]["step"], "the test needs a best step before the end"
    weights = load_checkpoint(tmp_path / "best" / "checkpoints" / "best.pt")["model"]
    expected = _test_loss_with(best_cfg, weights, tmp_path)
    assert best["test"]["test/loss"] == expected
    last_cfg, last = results["last"]
    final = load_checkpoint(tmp_path / "last" / "checkpoints" / "last.pt")["model"]
    assert last["test"]["test/loss"] == _test_loss_with(last_cfg, final, tmp_path)
    assert best["test"]["test/loss"] != last["test"]["test/loss"]
