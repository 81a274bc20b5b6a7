"""Kept for code written against the old layout: the schedules live in
:mod:`noisyexp.activations.schedules` (part of the copyable unit library)."""

from noisyexp.activations.schedules import *  # noqa: F403
from noisyexp.activations.schedules import __all__  # noqa: F401
