"""The ``noisyexp`` command: the only package that touches argv, stderr and exit codes.

Layer rule: the top; it may import anything, nothing imports it.
"""

from noisyexp.cli.app import main

__all__ = ["main"]
