"""Foundations every other layer stands on: the error family, atomic file writes, bounded YAML,
seeded random streams and the checkpoint file format.

Layer rule: imports nothing from noisyexp outside ``core`` (and no torch at import but in
:mod:`.checkpoint` and :mod:`.rng`).
"""
