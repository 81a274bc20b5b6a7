"""What the units do during training: saturation (in logged steps only) and their noise scale."""

from __future__ import annotations

from torch import nn

from noisyexp import activations

__all__ = ["UnitMonitor"]


class UnitMonitor:
    """Saturation statistics and the mean noise scale c of a model's units.

    Units record saturation only in the steps whose numbers are logged (every ``log_every``-th
    step, when ``track_saturation`` is on); :meth:`before_step` switches that per step.
    """

    def __init__(self, model: nn.Module, *, track_saturation: bool, log_every: int) -> None:
        self.model = model
        self.enabled = track_saturation
        self.log_every = log_every
        self._tracking: bool | None = None  # what the units were last told

    def before_step(self, step: int) -> None:
        """Switch tracking on for a step that will be logged, off for the others."""
        track = self.enabled and (step + 1) % self.log_every == 0
        if track != self._tracking:
            activations.track_saturation(self.model, track)
            self._tracking = track

    @property
    def recording(self) -> bool:
        """Whether the units record saturation in the current step (on the host)."""
        return bool(self._tracking)

    def saturation(self) -> dict[str, float]:
        """``saturation/<unit>`` -> fraction of its last inputs that saturated (when enabled)."""
        if not self.enabled:
            return {}
        stats = activations.saturation_stats(self.model)
        return {f"saturation/{name}": value for name, value in stats.items()}

    def noise_scale(self, scheduled: float | None) -> float | None:
        """The scheduled c, else the mean c of the noisy units (None without any)."""
        if scheduled is not None:
            return scheduled
        scales = [float(module.c) for module in activations.noisy_modules(self.model)]
        return sum(scales) / len(scales) if scales else None
