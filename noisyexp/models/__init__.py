"""The runner's models (language models, NMT, NTM, counters, MLPs), built from unit factories.

None of them knows about tasks or configs. Layer rule: imports torch, :mod:`noisyexp.core`,
:mod:`noisyexp.activations` and :mod:`noisyexp.layers` only.
"""
