"""Data helpers shared by tasks: verified files on disk, downloads, checksums, batching.

Layer rule: imports only :mod:`noisyexp.core` from noisyexp.
"""
