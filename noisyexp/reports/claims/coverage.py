"""What the records cover: for every sweep a shipped profile asks for, the runs done of those asked.

The claims rest on these runs; a sweep with runs missing is listed with the command that runs
the rest (``noisyexp paper`` skips the completed ones and resumes stopped ones), so whatever the
compute has not reached is named in the report, not left out of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from noisyexp.paper.reproduce import (
    available_profiles,
    job_dirname,
    load_profile,
    resolve_picks,
)
from noisyexp.training.resume import previous_status

__all__ = ["SKIPPED_PROFILES", "SweepCoverage", "coverage"]

#: profiles that are not results (a smoke test): never listed
SKIPPED_PROFILES = ("quick",)


@dataclass(frozen=True)
class SweepCoverage:
    """One sweep of one profile: ``done`` completed runs of ``asked``."""

    profile: str
    sweep: str
    done: int
    asked: int
    waiting: str = ""  # a pick sweep whose grid has not finished: why it cannot run yet
    after: str = ""  # that grid's sweep, which its command runs first

    @property
    def status(self) -> str:
        if self.waiting:
            return "waiting: " + self.waiting.removeprefix("waiting ")
        if self.done == 0:
            return "not run"
        return "done" if self.done >= self.asked else "partial"

    @property
    def command(self) -> str:
        sweeps = f"{self.after},{self.sweep}" if self.waiting and self.after else self.sweep
        return f"noisyexp paper --profile {self.profile} --only {sweeps}"


def coverage(paper_dir: Path) -> list[SweepCoverage]:
    """Every sweep of every shipped profile (but :data:`SKIPPED_PROFILES`), with how many of its
    runs ``paper_dir/<profile>/<sweep>/`` holds completed (a pick sweep's at its picks, once its
    grid has finished)."""
    found = []
    for name in available_profiles():
        if name in SKIPPED_PROFILES:
            continue
        profile = load_profile(name)
        for sweep, plan in profile.sweeps.items():
            folder = Path(paper_dir) / profile.name / sweep
            plans, _, waiting = resolve_picks(profile, sweep, Path(paper_dir))
            done = sum(
                previous_status(folder / job_dirname(point)) == "completed"
                for whole in plans
                for point in whole.points()
            )
            after = str(plan.pick.get("from", "")) if plan.pick else ""
            found.append(SweepCoverage(profile.name, sweep, done, plan.jobs(), waiting, after))
    return found
