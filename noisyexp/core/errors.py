"""One exception family: the CLI turns these into a single stderr line and exit code 2.

Anything else that escapes is a bug and keeps its traceback.
"""

__all__ = ["NoisyExpError", "ConfigError", "DataError", "CheckpointError", "TrainingError"]


class NoisyExpError(Exception):
    """Base class for errors a user can fix (bad config, missing data, bad checkpoint)."""


class ConfigError(NoisyExpError):
    """A config value is missing, misspelled, out of range or inconsistent."""


class DataError(NoisyExpError):
    """A data set is missing, corrupt (checksum mismatch) or malformed."""


class CheckpointError(NoisyExpError):
    """A checkpoint cannot be read, or does not match the run that loads it."""


class TrainingError(NoisyExpError):
    """Training cannot go on (for instance the loss became NaN)."""
