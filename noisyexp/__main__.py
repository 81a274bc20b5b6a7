"""``python -m noisyexp`` = the ``noisyexp`` command (used by ``noisyexp paper`` for its sweeps)."""

import sys

from noisyexp.cli.app import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main())
