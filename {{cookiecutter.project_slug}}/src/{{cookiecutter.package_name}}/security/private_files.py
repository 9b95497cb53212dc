"""Folders and files that only their owner may read: they hold every question, answer, comment and the
index itself, which other users of a shared machine have no business reading."""

import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) if need be, readable by its owner only."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)  # a folder made by an earlier release, or by hand, is tightened too
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty if it is missing, readable and writable by its owner only."""
    private_dir(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    path.chmod(0o600)
    return path
