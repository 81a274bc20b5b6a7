"""What the run records say: reading them (:mod:`.records`), their statistics (:mod:`.intervals`:
means, t-intervals, Welch; :mod:`.stats`: solved counts, Fisher), the comparison tables
(:mod:`.tables`), the learning-curve figures (:mod:`.figures`) and the claims report
(:mod:`.claims`); the last three are packages of small modules, each with its ``main`` in its
``__init__``.

Layer rule: may import every layer below it (core to paper), never :mod:`noisyexp.cli`.
"""
