"""Chaos test of the runner (issue 13): kills, double signals, locks, full disks, bad inputs.

``make chaos`` (or ``python scripts/chaos.py [--quick]``) runs, on the embedded three-Gaussian
task with noisy units (so a lost or repeated noise draw shows):

* SIGKILL trials at random moments (during a step, during an evaluation, during a checkpoint
  write), each resumed with ``resume=auto`` and compared bit for bit (every tensor of
  ``last.pt``, the summary's numbers, ``metrics.jsonl``) with an uninterrupted run;
* double-SIGTERM trials (two signals a few milliseconds apart, mid-step), resumed and compared;
* a multirun killed as a whole (its process group) and rerun with ``resume=auto``;
* two processes on one run folder (the lock);
* a full disk (a write hook raising ENOSPC) during each kind of write, while a completed run is
  extended: the completed summary must survive, and the extension, rerun, must match;
* a table of bad inputs, each of which must give one ``noisyexp: error:`` line on stderr, a
  non-zero exit, no traceback, and nothing a table would count; the table is written to
  ``docs/errors.md`` (case, message, exit code), so the document cannot drift from the code.

It exits 1 on any lost or inconsistent trial. The children are this script run with
``--child SPEC``: it installs the hook SPEC asks for, then calls ``noisyexp.cli.app.main``. Only
processes this script started are ever signalled, by their pid (or their own process group).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASE = [
    "act=nah",
    "act.alpha=1.0",
    "trainer.max_steps=240",
    "trainer.eval_every=40",
    "trainer.ckpt_every=20",
    "trainer.log_every=10",
    "trainer.progress=false",
    "trainer.num_threads=1",
    "seed=3",
]
MARK = "NOISYEXP_CHAOS_MARK"  # the file a child touches when its hook fires
VOLATILE = ("time_s",)  # metrics.jsonl fields that are wall-clock, not results


# ---------------------------------------------------------------------------------------------
# the child: a hook, then noisyexp
def _child(spec: dict[str, Any]) -> int:
    import errno

    from noisyexp.cli.app import main
    from noisyexp.core import atomic
    from noisyexp.tasks.gaussians import GaussiansTask
    from noisyexp.training import run_log
    from noisyexp.training import trainer as train_module

    mark = Path(os.environ[MARK]) if MARK in os.environ else None
    kind, at = spec.get("hook"), int(spec.get("at", 0))
    counter = {"n": 0}

    def fire(pause: float) -> None:
        if mark is not None:
            mark.write_text(f"{kind} {at}")
        time.sleep(pause)

    if kind == "step":  # pause inside step `at` (after its forward: the noise is drawn)
        original_step = GaussiansTask.train_step

        def step(self, model, index):
            output = original_step(self, model, index)
            if index == at:
                fire(float(spec.get("pause", 60)))
            return output

        GaussiansTask.train_step = step
    elif kind == "eval":  # pause inside evaluation number `at`
        original_eval = train_module._Run.evaluate

        def evaluate(self, splits):
            counter["n"] += 1
            result = original_eval(self, splits)
            if counter["n"] == at:
                fire(60)
            return result

        train_module._Run.evaluate = evaluate
    elif kind in ("write", "enospc"):  # the `at`-th atomic write of a file named like `match`
        original_fsync = atomic.os.fsync
        match = spec.get("match", "")

        def fsync(fd):
            try:
                name = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                name = ""
            if match in name:
                counter["n"] += 1
                if counter["n"] >= at:
                    if kind == "enospc":
                        raise OSError(errno.ENOSPC, "No space left on device")
                    fire(60)  # the temporary file is complete, the rename not yet done
            return original_fsync(fd)

        atomic.os.fsync = fsync
    elif kind == "enospc_metrics":  # the metrics.jsonl append of evaluation `at`
        original_log = run_log.JsonlLogger.log_dict

        def log_dict(self, step, values):
            counter["n"] += 1
            if counter["n"] >= at:
                raise OSError(errno.ENOSPC, "No space left on device")
            return original_log(self, step, values)

        run_log.JsonlLogger.log_dict = log_dict
    return main(spec["argv"])


# ---------------------------------------------------------------------------------------------
# the parent
class Chaos:
    def __init__(self, work: Path, quick: bool, seed: int) -> None:
        self.work, self.quick, self.rng = work, quick, random.Random(seed)
        self.failures: list[str] = []
        self.lines: list[str] = []

    def say(self, text: str) -> None:
        print(text, flush=True)

    def check(self, ok: bool, what: str) -> bool:
        if not ok:
            self.failures.append(what)
            self.say(f"  FAIL {what}")
        return ok

    # -- processes ---------------------------------------------------------------------------
    def spawn(self, argv: list[str], hook: dict[str, Any] | None = None, **kw: Any):
        spec = {"argv": argv, **(hook or {})}
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        mark = self.work / f"mark-{time.monotonic_ns()}"
        env[MARK] = str(mark)
        command = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
        process = subprocess.Popen(
            command,
            cwd=self.work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **kw,
        )
        return process, mark

    def run(self, argv: list[str], hook: dict[str, Any] | None = None, timeout: float = 300):
        process, _ = self.spawn(argv, hook)
        out, err = process.communicate(timeout=timeout)
        return process.returncode, out, err

    def wait_mark(self, process, mark: Path, timeout: float = 120) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if mark.exists():
                return True
            if process.poll() is not None:
                return False
            time.sleep(0.01)
        return False

    @staticmethod
    def reap(process) -> None:
        try:
            process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()

    # -- comparisons -------------------------------------------------------------------------
    @staticmethod
    def state(run_dir: Path) -> dict[str, Any]:
        import torch

        checkpoint = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
        summary = json.loads((run_dir / "summary.json").read_text())
        rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
        for row in rows:
            for key in VOLATILE:
                row.pop(key, None)
        return {
            "model": checkpoint["model"],
            "optimizer": checkpoint["optimizer"]["state"],
            "step": checkpoint["step"],
            "numbers": {k: summary.get(k) for k in ("status", "steps", "final", "best", "test")},
            "metrics": rows,
        }

    def same(self, reference: dict[str, Any], run_dir: Path, what: str) -> bool:
        import torch

        try:
            got = self.state(run_dir)
        except (OSError, ValueError, KeyError, RuntimeError) as err:
            return self.check(False, f"{what}: unreadable result ({err})")
        tensors_ok = all(
            torch.equal(reference["model"][k], got["model"][k]) for k in reference["model"]
        )
        optimizer_ok = all(
            torch.equal(a, b) if torch.is_tensor(a) else a == b
            for key in reference["optimizer"]
            for a, b in zip(
                reference["optimizer"][key].values(), got["optimizer"][key].values(), strict=True
            )
        )
        checks = {
            "model tensors": tensors_ok,
            "optimizer state": optimizer_ok,
            "summary numbers": reference["numbers"] == got["numbers"],
            "metrics.jsonl": reference["metrics"] == got["metrics"],
        }
        bad = [name for name, ok in checks.items() if not ok]
        return self.check(not bad, f"{what}: differs from the uninterrupted run in {bad}")

    # -- sections ----------------------------------------------------------------------------
    def reference(self) -> dict[str, Any]:
        run_dir = self.work / "reference"
        code, _, err = self.run(["train", *BASE, f"hydra.run.dir={run_dir}"])
        if code != 0:
            raise SystemExit(f"chaos: the reference run failed: {err[-2000:]}")
        return self.state(run_dir)

    def kill_trials(self, reference: dict[str, Any], count: int) -> None:
        self.say(f"SIGKILL trials: {count} (random moments: step / evaluation / checkpoint write)")
        moments = ["step", "eval", "write"]
        for trial in range(count):
            kind = moments[trial % 3]
            if kind == "step":
                hook = {"hook": "step", "at": self.rng.randrange(1, 240)}
            elif kind == "eval":
                hook = {"hook": "eval", "at": self.rng.randrange(1, 7)}
            else:
                hook = {"hook": "write", "match": ".last.pt.", "at": self.rng.randrange(1, 12)}
            run_dir = self.work / f"kill-{trial:02d}"
            process, mark = self.spawn(["train", *BASE, f"hydra.run.dir={run_dir}"], hook)
            fired = self.wait_mark(process, mark)
            time.sleep(self.rng.uniform(0, 0.02))
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
            self.reap(process)
            if not self.check(fired, f"kill {trial} ({hook}): the hook never fired"):
                continue
            code, _, err = self.run(["train", *BASE, f"hydra.run.dir={run_dir}", "resume=auto"])
            ok = self.check(code == 0, f"kill {trial} ({hook}): resume exited {code}: {err[-300:]}")
            leftovers = list(run_dir.rglob("*.tmp"))
            ok = self.check(not leftovers, f"kill {trial}: temporary files left {leftovers}") and ok
            if ok and self.same(reference, run_dir, f"kill {trial} ({hook})"):
                self.say(f"  kill {trial:2d} {kind:5s} at {hook['at']:3d}: resumed, bit-identical")

    def double_sigterm_trials(self, reference: dict[str, Any], count: int) -> None:
        self.say(f"double SIGTERM trials: {count} (two signals 0-5 ms apart, mid-step)")
        for trial in range(count):
            at = self.rng.randrange(1, 240)
            run_dir = self.work / f"term-{trial:02d}"
            hook = {"hook": "step", "at": at, "pause": 0.2}
            process, mark = self.spawn(["train", *BASE, f"hydra.run.dir={run_dir}"], hook)
            fired = self.wait_mark(process, mark)
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
                time.sleep(self.rng.uniform(0, 0.005))
                os.kill(process.pid, signal.SIGTERM)
            self.reap(process)
            if not self.check(fired, f"term {trial}: the hook never fired"):
                continue
            code, _, err = self.run(["train", *BASE, f"hydra.run.dir={run_dir}", "resume=auto"])
            if self.check(code == 0, f"term {trial}: resume exited {code}: {err[-300:]}") and (
                self.same(reference, run_dir, f"double SIGTERM {trial} at step {at}")
            ):
                self.say(f"  term {trial:2d} at step {at:3d}: resumed, bit-identical")

    def multirun(self) -> None:
        self.say("multirun killed as a whole (its process group), then rerun with resume=auto")
        sweep = [
            "train",
            "-m",
            *[a for a in BASE if not a.startswith(("seed=", "trainer.max_steps="))],
            "trainer.max_steps=120",
            "seed=1,2,3",
            "resume=auto",
            "hydra/launcher=basic",
            "hydra.sweep.subdir=${hydra.job.override_dirname}",
        ]
        straight, killed = self.work / "sweep-straight", self.work / "sweep-killed"
        code, _, err = self.run([*sweep, f"hydra.sweep.dir={straight}"], timeout=600)
        if not self.check(code == 0, f"multirun: the uninterrupted sweep failed: {err[-300:]}"):
            return
        process, _ = self.spawn([*sweep, f"hydra.sweep.dir={killed}"], start_new_session=True)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            done = list(killed.rglob("summary.json"))
            started = list(killed.rglob("last.pt"))
            if done and len(started) > len(done):  # one job finished, the next one under way
                break
            time.sleep(0.02)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the sweep's own group: launcher and jobs
        self.reap(process)
        finished = len(list(killed.rglob("summary.json")))
        code, _, err = self.run([*sweep, f"hydra.sweep.dir={killed}"], timeout=600)
        if not self.check(code == 0, f"multirun: the rerun exited {code}: {err[-300:]}"):
            return
        jobs = sorted(p.parent.name for p in straight.rglob("summary.json"))
        for job in jobs:
            self.same(self.state(straight / job), killed / job, f"multirun job {job}")
        self.say(f"  killed after {finished} of {len(jobs)} jobs; rerun: all jobs bit-identical")

    def lock(self) -> None:
        self.say("two processes on one run folder")
        run_dir = self.work / "locked"
        long = [a for a in BASE if not a.startswith("trainer.max_steps=")]
        first, _ = self.spawn(
            ["train", *long, "trainer.max_steps=1000000", f"hydra.run.dir={run_dir}"],
            {"hook": "write", "match": ".last.pt.", "at": 1000000},  # never fires
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (run_dir / "checkpoints" / "last.pt").exists():
            time.sleep(0.05)
        try:
            code, _, err = self.run(["train", f"resume={run_dir}", "trainer.max_steps=300"])
            refused = err.strip().splitlines()[-1] if err.strip() else ""
            self.check(
                code != 0 and "in use by pid" in err and "Traceback" not in err,
                f"lock: a second process on a busy run folder exited {code}: {err[-300:]}",
            )
            code2, _, err2 = self.run(["train", *BASE, f"hydra.run.dir={run_dir}", "resume=auto"])
            self.check(code2 != 0 and "in use" in err2, f"lock: resume=auto exited {code2}")
            self.check(not (run_dir / "summary.json").exists(), "lock: a summary was written")
        finally:
            os.kill(first.pid, signal.SIGTERM)
            self.reap(first)
        self.check(first.returncode == 130, f"lock: SIGTERM exit {first.returncode} (not 130)")
        code, _, err = self.run(["train", f"resume={run_dir}", "trainer.max_steps=300"])
        self.check(code == 0, f"lock: the released folder did not resume: {err[-300:]}")
        self.say(f"  second process refused: {refused}")
        self.say("  after the first stopped: resumed")

    def full_disk(self, reference: dict[str, Any]) -> None:
        self.say("full disk (ENOSPC) during each kind of write, while extending a completed run")
        half = [a for a in BASE if not a.startswith("trainer.max_steps=")] + [
            "trainer.max_steps=120"
        ]
        base_dir = self.work / "disk-base"
        code, _, err = self.run(["train", *half, f"hydra.run.dir={base_dir}"])
        if not self.check(code == 0, f"full disk: base run failed: {err[-300:]}"):
            return
        faults = {
            "checkpoint": {"hook": "enospc", "match": ".last.pt.", "at": 2},
            "best checkpoint": {"hook": "enospc", "match": ".best.pt.", "at": 1},
            "metrics rewrite": {"hook": "enospc", "match": ".metrics.jsonl.", "at": 1},
            "metrics append": {"hook": "enospc_metrics", "at": 2},
            "summary": {"hook": "enospc", "match": ".summary.json.", "at": 1},
        }
        for name, hook in faults.items():
            run_dir = self.work / f"disk-{name.replace(' ', '-')}"
            shutil.copytree(base_dir, run_dir)
            before = (run_dir / "summary.json").read_bytes()
            extend = ["train", f"resume={run_dir}", "trainer.max_steps=240"]
            code, _, err = self.run(extend, hook)
            lines = err.strip().splitlines()
            self.check(code != 0, f"full disk ({name}): exit {code}")
            self.check(
                "Traceback" not in err and lines and "No space left" in lines[-1],
                f"full disk ({name}): not one line: {err[-300:]}",
            )
            self.check(
                (run_dir / "summary.json").read_bytes() == before,
                f"full disk ({name}): the completed summary was not kept",
            )
            self.check(not list(run_dir.rglob("*.tmp")), f"full disk ({name}): .tmp files left")
            code, _, err = self.run(extend)
            if self.check(code == 0, f"full disk ({name}): rerun failed: {err[-300:]}") and (
                self.same(reference, run_dir, f"full disk ({name}), extended after")
            ):
                self.say(f"  {name:16s}: one line, summary kept, rerun bit-identical")

    def bad_inputs(self, docs: Path | None) -> None:
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--bad-inputs", str(self.work / "bad")],
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            capture_output=True,
            text=True,
            timeout=600,
        )
        code, out, err = done.returncode, done.stdout, done.stderr
        try:
            table = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.check(False, f"bad inputs: the child failed ({code}): {err[-2000:]}")
            return
        self.say(f"bad inputs: {len(table)} cases")
        for row in table:
            problems = row["problems"]
            self.check(not problems, f"bad input {row['case']!r}: {'; '.join(problems)}")
        self.check(len(table) >= 40, f"bad inputs: only {len(table)} cases")
        bad = sum(1 for row in table if row["problems"])
        self.say(f"  {len(table) - bad}/{len(table)}: one line, non-zero exit, nothing counted")
        if docs is not None:
            write_errors_doc(docs, table)
            self.say(f"  wrote {docs}")


# ---------------------------------------------------------------------------------------------
# the bad inputs (run in one child, in-process, each with fd 1 and 2 captured)
#: the arguments most bad-input cases share (shown as "…" in docs/errors.md)
_COMMON = ("trainer.max_steps=2", "trainer.progress=false", "paths.results_dir={R}")


def bad_input_cases() -> list[tuple[str, list[str], str]]:
    """``(case, argv, setup)``: {R} results, {RUN} a completed run (fresh copy per case),
    {DATA} a data folder with a tiny wordlm corpus, {NOWHERE} a missing path, {FILE} a file."""
    t = list(_COMMON)
    c = "task=wordlm task.corpus_dir={DATA}/"
    return [
        ("unknown command", ["trian"], ""),
        ("unknown task", ["train", *t, "task=nosuchtask"], ""),
        ("unknown act", ["train", *t, "act=noisy_tahn"], ""),
        ("unknown optimizer", ["train", *t, "optim=adamw"], ""),
        ("unknown noise schedule", ["train", *t, "noise=loud"], ""),
        ("unknown experiment", ["train", *t, "experiment=nope"], ""),
        ("misspelled key", ["train", *t, "trainer.max_stepz=3"], ""),
        ("+key typo", ["train", *t, "+trainer.max_stepz=3"], ""),
        ("+key unknown at the top", ["train", *t, "+foo=1"], ""),
        ("not a number", ["train", *t, "trainer.max_steps=many"], ""),
        ("max_steps 0", ["train", *t, "trainer.max_steps=0"], ""),
        ("no budget", ["train", *t, "trainer.max_steps=null"], ""),
        ("eval_every < 0", ["train", *t, "trainer.eval_every=-1"], ""),
        ("log_every 0", ["train", *t, "trainer.log_every=0"], ""),
        ("unknown device", ["train", *t, "trainer.device=tpu"], ""),
        ("num_threads 0", ["train", *t, "trainer.num_threads=0"], ""),
        ("cuda_graphs on copy", ["train", *t, "task=copy", "trainer.cuda_graphs=true"], ""),
        (
            "cuda_graphs on CPU",
            ["train", *t, *f"{c}ok trainer.device=cpu trainer.cuda_graphs=true".split()],
            "",
        ),
        ("skip_nonfinite < 0", ["train", *t, "trainer.skip_nonfinite=-1"], ""),
        ("memory budget 0", ["train", *t, "trainer.memory_budget_gb=0"], ""),
        ("act.c < 0", ["train", *t, "act=nan", "act.c=-1"], ""),
        ("act.c nan", ["train", *t, "act=nan", "act.c=nan"], ""),
        ("act.alpha nan", ["train", *t, "act.alpha=nan"], ""),
        ("act.alpha inf", ["train", *t, "act.alpha=inf"], ""),
        ("lr 0", ["train", *t, "optim.lr=0"], ""),
        ("lr inf", ["train", *t, "optim.lr=inf"], ""),
        ("lr nan", ["train", *t, "optim.lr=nan"], ""),
        ("momentum < 0", ["train", *t, "optim.momentum=-0.5"], ""),
        ("weight_decay inf", ["train", *t, "optim.weight_decay=inf"], ""),
        ("clip_norm 0", ["train", *t, "optim.clip_norm=0"], ""),
        ("betas out of range", ["train", *t, "optim.betas=[1.5,0.9]"], ""),
        ("one beta", ["train", *t, "optim.betas=[0.9]"], ""),
        ("eps < 0", ["train", *t, "optim.eps=-1"], ""),
        ("rms_alpha 1", ["train", *t, "optim=rmsprop", "optim.rms_alpha=1"], ""),
        ("lr_decay > 1", ["train", *t, "optim.lr_decay=2"], ""),
        ("seed < 0", ["train", *t, "seed=-1"], ""),
        ("huge seed", ["train", *t, "seed=4611686018427387904"], ""),
        ("task renamed inside another", ["train", *t, "task.name=copy"], ""),
        ("empty hidden_sizes", ["train", *t, "task.hidden_sizes=[]"], ""),
        ("batch_size 0", ["train", *t, "task.batch_size=0"], ""),
        (
            "width 1e9 (memory)",
            ["train", *t, "task.hidden_sizes=[1000000000]", "trainer.memory_budget_gb=16"],
            "",
        ),
        (
            "PTB-size LSTM of width 1e9",
            [
                "train",
                *t,
                *f"{c}ok task.hidden_size=1000000000".split(),
                "trainer.memory_budget_gb=16",
            ],
            "",
        ),
        ("wordlm without corpus_dir", ["train", *t, "task=wordlm"], ""),
        ("wordlm empty valid split", ["train", *t, *f"{c}empty".split()], ""),
        ("wordlm one-word valid split", ["train", *t, *f"{c}oneword".split()], ""),
        ("wordlm missing file", ["train", *t, *f"{c}missing".split()], ""),
        (
            "mnist without data",
            ["train", *t, "task=mnist", "paths.data_dir={NOWHERE}", "paths.download=false"],
            "",
        ),
        ("results folder is a file", ["train", *t, "paths.results_dir={FILE}/results"], ""),
        ("resume a missing folder", ["train", "resume={NOWHERE}"], ""),
        ("resume a folder that is no run", ["train", "resume={R}"], "mkdir"),
        ("resume with another task", ["train", "resume={RUN}", "task=copy"], ""),
        ("resume with another act", ["train", "resume={RUN}", "act=nan"], ""),
        ("resume with -m", ["train", "-m", "resume={RUN}"], ""),
        ("a new run in a run's folder", ["train", *t, "hydra.run.dir={RUN}"], ""),
        ("resume, both checkpoints damaged", ["train", "resume={RUN}"], "corrupt"),
        ("resume, broken .hydra/overrides.yaml", ["train", "resume={RUN}"], "badyaml"),
        ("resume, YAML alias bomb in .hydra/", ["train", "resume={RUN}"], "bombyaml"),
        (
            "resume a CUDA checkpoint on cpu, refused",
            ["train", "resume={RUN}", "trainer.device=cpu", "trainer.cross_device_resume=refuse"],
            "cudackpt",
        ),
        ("tables of a missing folder", ["tables", "--results", "{NOWHERE}"], ""),
        ("figures of a missing folder", ["figures", "--results", "{NOWHERE}"], ""),
        ("unknown profile", ["paper", "--profile", "nosuch", "--dry-run"], ""),
        ("profile with a YAML error", ["paper", "--profile", "{R}/bad.yaml", "--dry-run"], "py"),
        ("profile YAML alias bomb", ["paper", "--profile", "{R}/bomb.yaml", "--dry-run"], "pb"),
    ]


_BOMB = "\n".join(
    ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    + [
        f"l{i}: &l{i} [" + ",".join([f"*{'a' if i == 1 else f'l{i - 1}'}"] * 9) + "]"
        for i in range(1, 10)
    ]
)


def _bad_inputs(work: Path) -> int:
    """Run every bad input in-process; print the table as JSON on the last line of stdout."""
    import traceback

    from noisyexp.cli.app import main
    from noisyexp.reports.records import collect_runs

    work.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    for name, valid in (("ok", "a b c d\n" * 2000), ("empty", ""), ("oneword", "word\n")):
        (data / name).mkdir(parents=True, exist_ok=True)
        (data / name / "train.txt").write_text("the cat sat on the mat\n" * 2000)
        (data / name / "valid.txt").write_text(valid or "")
        (data / name / "test.txt").write_text("the cat sat\n" * 50)
    (data / "missing").mkdir(exist_ok=True)
    (work / "file").write_text("not a folder")
    template = work / "template"
    tiny = ["trainer.max_steps=4", "trainer.eval_every=2", "trainer.progress=false"]
    with _Captured(work / "template.out"):
        code = main(["train", *tiny, "act=nah", f"hydra.run.dir={template}"])
    if code != 0:
        print((work / "template.out").read_text(), file=sys.stderr)
        return 1
    rows = []
    for index, (case, argv, setup) in enumerate(bad_input_cases()):
        results, run = work / f"case-{index:02d}" / "results", work / f"case-{index:02d}" / "run"
        shutil.copytree(template, run)
        places = {
            "{R}": str(results),
            "{RUN}": str(run),
            "{DATA}": str(data),
            "{NOWHERE}": str(work / "nowhere"),
            "{FILE}": str(work / "file"),
        }
        if setup == "mkdir":
            results.mkdir(parents=True)
        elif setup == "corrupt":
            for name in ("last.pt", "previous.pt"):
                (run / "checkpoints" / name).write_bytes(b"garbage")
        elif setup == "badyaml":
            (run / ".hydra" / "overrides.yaml").write_text("- [unclosed\n")
        elif setup == "bombyaml":
            (run / ".hydra" / "overrides.yaml").write_text(_BOMB + "\n")
        elif setup == "cudackpt":
            _as_if_written_on_cuda(run / "checkpoints")
        elif setup in ("py", "pb"):
            results.mkdir(parents=True)
            (results / "bad.yaml").write_text("name: x\nsweeps: {a: [1, 2\n")
            (results / "bomb.yaml").write_text(_BOMB + "\n")
        args = []
        for arg in argv:
            for key, value in places.items():
                arg = arg.replace(key, value)
            args.append(arg)
        summary_before = (run / "summary.json").read_bytes()
        hydra_before = {p.name: p.read_bytes() for p in (run / ".hydra").iterdir()}
        capture = work / f"case-{index:02d}" / "output"
        with _Captured(capture):
            try:
                code = main(args)
            except BaseException:  # what Python would print: a traceback
                traceback.print_exc()
                code = 1
        output = capture.read_text(errors="replace")
        err_lines = [ln for ln in output.splitlines() if ln.startswith("noisyexp: error:")]
        problems = []
        if code == 0:
            problems.append("exit status 0")
        if "Traceback" in output:
            problems.append("a traceback")
        if len(err_lines) != 1:
            problems.append(f"{len(err_lines)} error lines")
        counted, _ = collect_runs(work / f"case-{index:02d}")
        if len(counted) != 1 or (run / "summary.json").read_bytes() != summary_before:
            problems.append("the runs a table counts changed")
        if setup == "" and {p.name: p.read_bytes() for p in (run / ".hydra").iterdir()} != (
            hydra_before
        ):
            problems.append("the run's .hydra/ files changed")
        message = err_lines[0] if err_lines else output.strip()[-200:]
        for key, value in sorted(places.items(), key=lambda kv: -len(kv[1])):
            message = message.replace(value, key)
        message = re.sub(r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_\d+", "<time>", message)
        rows.append(
            {"case": case, "argv": argv, "message": message, "code": code, "problems": problems}
        )
    print(json.dumps(rows))
    return 0


def _as_if_written_on_cuda(folder: Path) -> None:
    """Give a run's checkpoints the noise-generator state a CUDA run would have saved."""
    import torch

    from noisyexp.core.checkpoint import load_checkpoint, save_checkpoint

    for path in folder.glob("*.pt"):
        payload = load_checkpoint(path)
        payload.pop("format")
        payload["rng"]["noise"] = torch.zeros(16, dtype=torch.uint8)  # a Philox state
        payload["rng"]["noise_device"] = "cuda"
        save_checkpoint(path, payload)


class _Captured:
    """Send fd 1 and fd 2 (and Python's streams) to ``path`` for the duration of a case."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        sys.stdout.flush()
        sys.stderr.flush()
        self.saved = os.dup(1), os.dup(2)
        self.handle = open(self.path, "wb")
        os.dup2(self.handle.fileno(), 1)
        os.dup2(self.handle.fileno(), 2)

    def __exit__(self, *exc: object) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self.saved[0], 1)
        os.dup2(self.saved[1], 2)
        os.close(self.saved[0])
        os.close(self.saved[1])
        self.handle.close()


def write_errors_doc(path: Path, table: list[dict[str, Any]]) -> None:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [
        "# What noisyexp says to bad input",
        "",
        "Generated by `make chaos` (`scripts/chaos.py`), which runs every case below and checks",
        "that it ends with exactly one `noisyexp: error:` line on stderr, a non-zero exit status,",
        "no traceback, and no run that a table would count. Do not edit by hand. Placeholders:",
        "`{R}` a results folder, `{RUN}` a completed run, `{DATA}` a data folder, `{NOWHERE}` a",
        f"missing path, `{{FILE}}` a file. `…` stands for `{' '.join(_COMMON)}`.",
        "",
        "| case | command | message (stderr) | exit |",
        "|---|---|---|---|",
    ]
    for row in table:
        shown = " ".join(row["argv"]).replace(" ".join(_COMMON), "…")
        command = f"noisyexp {shown}"
        lines.append(
            f"| {cell(row['case'])} | `{cell(command)}` | {cell(row['message'])} | {row['code']} |"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer trials (a smoke test)")
    parser.add_argument("--seed", type=int, default=13, help="seed of the random moments")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "errors.md")
    parser.add_argument(
        "--bad-inputs-only", action="store_true", help="only the bad-input table (and its doc)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--bad-inputs", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.child:
        return _child(json.loads(options.child))
    if options.bad_inputs:
        return _bad_inputs(options.bad_inputs)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="noisyexp-chaos-"))
    chaos = Chaos(work, options.quick, options.seed)
    kills, terms = (3, 2) if options.quick else (21, 5)
    try:
        if options.bad_inputs_only:
            chaos.bad_inputs(options.docs)
            return _finish(chaos, started)
        reference = chaos.reference()
        chaos.kill_trials(reference, kills)
        chaos.double_sigterm_trials(reference, terms)
        chaos.multirun()
        chaos.lock()
        chaos.full_disk(reference)
        chaos.bad_inputs(options.docs)
    finally:
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)
    return _finish(chaos, started)


def _finish(chaos: Chaos, started: float) -> int:
    elapsed = time.monotonic() - started
    if chaos.failures:
        print(f"chaos: {len(chaos.failures)} failure(s) in {elapsed:.0f} s:", file=sys.stderr)
        for failure in chaos.failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    print(f"chaos: every trial consistent ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
