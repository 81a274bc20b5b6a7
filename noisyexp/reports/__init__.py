"""What the run records say: reading them (:mod:`.records`), the comparison tables
(:mod:`.tables`) and the learning-curve figures (:mod:`.figures`).

Layer rule: may import every layer below it (core to paper), never :mod:`noisyexp.cli`.
"""
