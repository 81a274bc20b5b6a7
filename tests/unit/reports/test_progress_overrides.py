"""How often a run logs its progress never splits a table row."""

from __future__ import annotations

from noisyexp.reports.records import override_key


def test_the_progress_interval_is_not_a_row_of_its_own():
    plain = override_key(["act.c=0.5"])
    assert override_key(["act.c=0.5", "trainer.progress_interval_s=5"]) == plain
    assert override_key(["act.c=0.5", "trainer.progress=false"]) == plain
    assert override_key(["act.c=0.5", "trainer.max_steps=9"]) != plain  # a budget still splits
