"""Document sources: local folders, git repositories, websites. Each yields ``SourceDocument``s
with a stable id, or ``SkippedFile``s that say why not; a bad file never stops a run."""

from .base import SkippedFile, Source, SourceDocument, Unchanged
from .config import select_sources, source_configs
from .folder import LocalFolderSource

__all__ = [
    "LocalFolderSource",
    "SkippedFile",
    "Source",
    "SourceDocument",
    "Unchanged",
    "select_sources",
    "source_configs",
]
