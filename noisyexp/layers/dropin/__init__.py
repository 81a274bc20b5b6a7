"""Drop-in ``nn.LSTM``/``nn.GRU``/``nn.LSTMCell``/``nn.GRUCell`` whose every sigmoid and tanh is a
(noisy) activation unit.

Same constructor arguments, inputs, outputs and state-dict keys as torch's modules (batch-first,
bidirectional, unbatched and ``PackedSequence`` inputs, ``bias=False``), plus the keyword-only
``unit``: a noisy unit type of :data:`noisyexp.activations.UNIT_TYPES` (gates get kind sigmoid,
cells kind tanh), ``"reference"`` (sigmoid, tanh: nn's numbers) or ``"hard"``::

    import torch
    from noisyexp import Anneal, NoisyLSTM, set_noise_generator, set_noise_scale

    rnn = NoisyLSTM(32, 64, num_layers=2, batch_first=True, dropout=0.2, unit="nah")
    rnn.load_state_dict(torch.nn.LSTM(32, 64, 2, batch_first=True).state_dict())  # weights
    set_noise_generator(rnn, torch.Generator().manual_seed(0))  # reproducible noise
    schedule = Anneal(c0=30.0, c_min=0.5)  # the paper's annealing of the noise scale c
    for step in range(3):
        set_noise_scale(rnn, schedule(step))  # roles=["cell"]: the tanh-like units only
        output, (h_n, c_n) = rnn(torch.randn(8, 20, 32))  # (8, 20, 64); (2, 8, 64) each

Knobs: ``NoisyLSTM(..., unit="nan", alpha=1.3, c=0.25)`` sets them on both roles;
``gate_knobs={"c": 0.1}`` / ``cell_knobs={...}`` per role. A knob no unit takes is an error.

State dicts: the weights carry nn's names at the top level (``weight_ih_l0``, ``..._reverse``);
the units' own entries (a NAN unit's learned ``p`` and its noise scale ``c``) live under
``rnns.`` (cells: ``rnn.``). ``load_state_dict`` stays strict for everything, with one
exception: a state dict with *none* of this module's unit entries (one saved from torch's module,
also inside a bigger model) loads its weights strictly and leaves the units as they were built.
The other way: ``nn.LSTM(...).load_state_dict(noisy.rnn_state_dict())``; and
``NoisyLSTM.from_rnn(nn_lstm, unit="nan")`` converts a module.

Each direction of each layer is one :class:`~noisyexp.layers.lstm.LSTM` or
:class:`~noisyexp.layers.gru.GRU` layer (the weights are the owner's, lent per call), so nn's
fused kernel (reference units), the loop path and the compiled ``fast_step`` path
(:func:`noisyexp.layers.recurrent.set_fast_step` reaches them) all apply.

Modules, one job each: :mod:`.units` (the ``unit=`` choice and knobs), :mod:`.lent_layers` (the
inner layers on lent weights), :mod:`.packed` (one direction over packed data),
:mod:`.state_dict` (nn's state dicts both ways), :mod:`.base` (what all four share),
:mod:`.sequence` (``NoisyLSTM``, ``NoisyGRU``) and :mod:`.cells` (the cells).
"""

from noisyexp.layers.dropin.cells import NoisyGRUCell, NoisyLSTMCell
from noisyexp.layers.dropin.sequence import NoisyGRU, NoisyLSTM
from noisyexp.layers.dropin.units import unit_choices

__all__ = ["NoisyGRU", "NoisyGRUCell", "NoisyLSTM", "NoisyLSTMCell", "unit_choices"]
