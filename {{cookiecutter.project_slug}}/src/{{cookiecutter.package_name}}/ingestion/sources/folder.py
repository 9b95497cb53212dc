"""Files below a folder: Markdown, reStructuredText, HTML, text, PDF and source code."""

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from fnmatch import fnmatch
from pathlib import Path

from ..formats import format_of
from .base import SkippedFile, SourceDocument, Unchanged, own_path, read_document


class LocalFolderSource:
    """Every supported file below ``root`` (or below its ``paths``), chosen by include/exclude globs.

    Links to folders are reported and not followed; links to files outside the folder are refused,
    so a cloned repository cannot smuggle in ``/etc/passwd``.
    """

    def __init__(
        self,
        root: Path,
        *,
        name: str = "local",
        access: str = "public",
        max_bytes: int = 5_000_000,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        paths: Sequence[str] = ("",),
        uri_for: Callable[[str], str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.name = name
        self.access = access
        self.max_bytes = max_bytes
        self.include = list(include or ["*"])
        self.exclude = list(exclude or [])
        self.paths = list(paths)
        self.uri_for = uri_for or (lambda relative: relative)

    def sync(self) -> None:
        """Nothing to fetch: the folder is the local copy."""

    def scan(
        self, known: Mapping[str, str] | None = None
    ) -> Iterator[SourceDocument | SkippedFile | Unchanged]:
        if not self.root.is_dir():
            raise FileNotFoundError(f"source folder {self.root} does not exist or is not a folder")
        for sub_path in self.paths:
            start = self.root / sub_path
            if not start.is_dir():
                raise FileNotFoundError(f"{sub_path!r} is not a folder in {self.root}")
            yield from self._walk(start, known or {})

    def _walk(
        self, start: Path, known: Mapping[str, str]
    ) -> Iterator[SourceDocument | SkippedFile | Unchanged]:
        for folder, subfolders, files in os.walk(start):
            here = Path(folder)
            for name in sorted(subfolders):
                if (here / name).is_symlink() and self.selects(self._relative(here / name)):
                    yield SkippedFile(self._relative(here / name), "link to a folder, not followed")
            subfolders[:] = sorted(
                d for d in subfolders if not d.startswith(".") and not (here / d).is_symlink()
            )
            for filename in sorted(files):
                path = here / filename
                relative = self._relative(path)
                if not filename.startswith(".") and self.selects(relative):
                    yield self.read(path, known.get(f"{self.name}:{relative}"))

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def selects(self, relative: str) -> bool:
        """Whether the include and exclude globs let this file in (not a fault, so not reported)."""
        included = any(fnmatch(relative, pattern) for pattern in self.include)
        return included and not any(fnmatch(relative, pattern) for pattern in self.exclude)

    def load(self, document_id: str) -> SourceDocument | SkippedFile:
        document = self.read(self.root / own_path(self.name, document_id))
        assert not isinstance(document, Unchanged)  # no known hash was given
        return document

    def read(
        self, path: Path, known_hash: str | None = None
    ) -> SourceDocument | SkippedFile | Unchanged:
        relative = self._relative(path)
        fmt = format_of(path)
        if fmt is None:
            return SkippedFile(relative, f"unsupported file type {path.suffix or '(no suffix)'!r}")
        try:
            if path.is_symlink() and not path.resolve().is_relative_to(self.root.resolve()):
                return SkippedFile(relative, "link to a file outside the source folder")
            size = path.stat().st_size
            if size > self.max_bytes:  # checked before reading, so a huge file is never loaded
                return SkippedFile(
                    relative, f"larger than the {self.max_bytes:,}-byte limit ({size:,} bytes)"
                )
            raw = path.read_bytes()
        except (OSError, RuntimeError) as error:  # RuntimeError: a link loop while resolving
            reason = error.strerror if isinstance(error, OSError) and error.strerror else error
            return SkippedFile(relative, f"unreadable: {reason}")
        return read_document(
            raw,
            fmt,
            source=self.name,
            path=relative,
            uri=self.uri_for(relative),
            access=self.access,
            max_bytes=self.max_bytes,
            known_hash=known_hash,
        )
