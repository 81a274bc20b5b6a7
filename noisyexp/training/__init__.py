"""The training loop and everything a run needs around it.

:mod:`.trainer` is the loop (``train(cfg, run_dir, info) -> RunResult``); around it: resume and
its checks (:mod:`.resume`), device choice (:mod:`.device`), step/time budgets (:mod:`.budget`),
the run-folder lock (:mod:`.lock`), early stopping (:mod:`.stopping`), the metrics log and
TensorBoard (:mod:`.run_log`) and its HParams record (:mod:`.hparams`), progress lines between
evaluations (:mod:`.progress`), ``summary.json`` (:mod:`.summary`), saturation monitoring
(:mod:`.monitor`), each step's lr and noise scale (:mod:`.step_schedules`) and the CUDA-graph
step (:mod:`.cuda_graphs`).

Layer rule: may import every layer below it (core, activations, layers, data, models, tasks,
config), never :mod:`noisyexp.paper`, :mod:`noisyexp.reports` or :mod:`noisyexp.cli`.
"""
