"""Recurrent layers whose every sigmoid and tanh is a pluggable activation unit.

:mod:`.lstm` and :mod:`.gru` are the time-major layers the runner's models use (with the compiled
multi-step path of :mod:`.fast_step`); :mod:`.dropin` wraps them as ``nn.LSTM``/``nn.GRU``
drop-ins (``NoisyLSTM``, ``NoisyGRU``: batch-first, bidirectional, packed sequences).

Layer rule: imports only torch and :mod:`noisyexp.activations`, so this folder and
``activations/`` can be copied together into another project.
"""

from .dropin import NoisyGRU, NoisyGRUCell, NoisyLSTM, NoisyLSTMCell

__all__ = ["NoisyGRU", "NoisyGRUCell", "NoisyLSTM", "NoisyLSTMCell"]
