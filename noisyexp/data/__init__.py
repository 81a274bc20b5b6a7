"""Data helpers shared by tasks: verified files on disk, downloads, checksums."""
