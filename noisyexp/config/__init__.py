"""What a run is configured with, and what each config group builds.

:mod:`.schema` holds the structured-config dataclasses (one per group, registered with Hydra by
``register_configs``); :mod:`.act` turns an ``act`` section into unit factories; :mod:`.optimizers`
is the optimizer registry (``optim.name``) and the per-epoch learning rate.

Layer rule: may import :mod:`noisyexp.core`, :mod:`noisyexp.activations` and
:mod:`noisyexp.tasks` (the task registry), never :mod:`noisyexp.training` or anything above it.
"""
