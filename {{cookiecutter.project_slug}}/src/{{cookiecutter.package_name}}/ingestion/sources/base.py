"""What every source yields, and how one file's bytes become a document or a reason to skip it."""

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePosixPath
from typing import Protocol

from ..formats import CODE_LANGUAGES, code_to_markdown, pdf_to_markdown, to_markdown

BINARY_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class SourceDocument:
    id: str  # "<source>:<path or URL>", stable across runs: the key for incremental refresh
    source: str
    uri: str
    title: str
    text: str  # Markdown-style text, whatever the original format
    access: str  # "public" or "internal"; queries filter on it
    raw_hash: str = ""  # of the bytes read (file, page): unchanged bytes need no conversion

    @cached_property  # read for every chunk of the document: hash the text once
    def content_hash(self) -> str:
        return self.raw_hash or hashlib.sha256(self.text.encode()).hexdigest()


@dataclass(frozen=True)
class Unchanged:
    """A document whose bytes hash as the stored copy's: a plan need not read it further."""

    id: str


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


class Source(Protocol):
    """A named set of documents. ``sync`` brings the local copy up to date (clone, pull, crawl);
    ``scan`` and ``load`` then read only that copy, so every task of a run sees the same content."""

    name: str

    def sync(self) -> None: ...

    def scan(
        self, known: Mapping[str, str] | None = None
    ) -> Iterator[SourceDocument | SkippedFile | Unchanged]:
        """Every document; those whose content hash equals ``known[id]`` come as ``Unchanged``."""
        ...

    def load(self, document_id: str) -> SourceDocument | SkippedFile: ...


def own_path(source_name: str, document_id: str) -> str:
    """The part of a document id after ``<source>:``; refuses ids of other sources."""
    prefix = f"{source_name}:"
    if not document_id.startswith(prefix):
        raise ValueError(f"document {document_id!r} does not belong to source {source_name!r}")
    return document_id.removeprefix(prefix)


def read_document(
    raw: bytes,
    fmt: str,
    *,
    source: str,
    path: str,
    uri: str,
    access: str,
    max_bytes: int,
    known_hash: str | None = None,
) -> SourceDocument | SkippedFile | Unchanged:
    """Decode and convert one file (or fetched page); every way it can be unusable has a reason.

    Bytes that hash to ``known_hash`` are not converted at all: that is most of a daily run.
    """
    raw_hash = hashlib.sha256(raw).hexdigest()
    if raw_hash == known_hash:
        return Unchanged(f"{source}:{path}")
    if len(raw) > max_bytes:
        return SkippedFile(path, f"larger than the {max_bytes:,}-byte limit ({len(raw):,} bytes)")
    if not raw.strip():
        return SkippedFile(path, "empty file")
    name = PurePosixPath(path).name
    if fmt == "pdf":
        try:
            text, title = pdf_to_markdown(raw)
        except ValueError as error:
            return SkippedFile(path, str(error))
    else:
        if b"\x00" in raw[:BINARY_SNIFF_BYTES]:
            return SkippedFile(path, "binary content")
        try:
            decoded = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            return SkippedFile(path, f"not valid UTF-8 (byte {error.start})")
        if fmt == "code":
            language = CODE_LANGUAGES[PurePosixPath(name).suffix.lower()]
            text, title = code_to_markdown(decoded, path, language), path
        else:
            try:
                text, title = to_markdown(decoded, fmt)
            except ValueError as error:  # a notebook that is not one
                return SkippedFile(path, str(error))
    if not text.strip():
        return SkippedFile(path, "no text left after removing markup")
    return SourceDocument(
        id=f"{source}:{path}",
        source=source,
        uri=uri,
        title=title or PurePosixPath(name).stem.replace("-", " ").replace("_", " "),
        text=text,
        access=access,
        raw_hash=raw_hash,
    )
