"""Document sources. Each yields ``SourceDocument``s with a stable id, or ``SkippedFile``s that say why not.

A bad file never stops a run: it is reported with its reason and the rest goes on.
"""

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from functools import cached_property
from pathlib import Path

from .formats import format_of, to_markdown

BINARY_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class SourceDocument:
    id: str  # "<source>:<path>", stable across runs: the key for incremental refresh
    source: str
    uri: str
    title: str
    text: str  # Markdown-style text, whatever the original format
    access: str  # "public" or "internal"; queries filter on it

    @cached_property  # read for every chunk of the document: hash the text once
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


class LocalFolderSource:
    """Markdown, reStructuredText, HTML and text files below a folder (links to folders not followed)."""

    def __init__(
        self,
        root: Path,
        *,
        name: str = "local",
        access: str = "public",
        max_bytes: int = 5_000_000,
        include: list[str] | None = None,
        exclude: list[str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.name = name
        self.access = access
        self.max_bytes = max_bytes
        self.include = include or ["*"]
        self.exclude = exclude or []

    def scan(self) -> Iterator[SourceDocument | SkippedFile]:
        if not self.root.is_dir():
            raise FileNotFoundError(f"source folder {self.root} does not exist or is not a folder")
        for folder, subfolders, files in os.walk(self.root):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            for filename in sorted(files):
                path = Path(folder) / filename
                if not filename.startswith(".") and self.selects(path.relative_to(self.root)):
                    yield self.read(path)

    def selects(self, relative: Path) -> bool:
        """Whether the include and exclude globs let this file in (not a fault, so not reported)."""
        name = relative.as_posix()
        included = any(fnmatch(name, pattern) for pattern in self.include)
        return included and not any(fnmatch(name, pattern) for pattern in self.exclude)

    def load(self, document_id: str) -> SourceDocument | SkippedFile:
        prefix = f"{self.name}:"
        if not document_id.startswith(prefix):
            raise ValueError(f"document {document_id!r} does not belong to source {self.name!r}")
        return self.read(self.root / document_id.removeprefix(prefix))

    def read(self, path: Path) -> SourceDocument | SkippedFile:
        relative = path.relative_to(self.root).as_posix()
        fmt = format_of(path)
        if fmt is None:
            return SkippedFile(relative, f"unsupported file type {path.suffix or '(no suffix)'!r}")
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                return SkippedFile(
                    relative, f"larger than the {self.max_bytes:,}-byte limit ({size:,} bytes)"
                )
            raw = path.read_bytes()
        except OSError as error:
            return SkippedFile(relative, f"unreadable: {error.strerror or error}")
        if not raw.strip():
            return SkippedFile(relative, "empty file")
        if b"\x00" in raw[:BINARY_SNIFF_BYTES]:
            return SkippedFile(relative, "binary content")
        try:
            decoded = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            return SkippedFile(relative, f"not valid UTF-8 (byte {error.start})")
        text, title = to_markdown(decoded, fmt)
        if not text.strip():
            return SkippedFile(relative, "no text left after removing markup")
        return SourceDocument(
            id=f"{self.name}:{relative}",
            source=self.name,
            uri=relative,
            title=title or path.stem.replace("-", " ").replace("_", " "),
            text=text,
            access=self.access,
        )
