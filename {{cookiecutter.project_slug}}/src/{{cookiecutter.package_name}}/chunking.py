"""Chunking strategies, chosen per run.

- ``markdown``: header-aware. Splits at headings (every format arrives as Markdown-style text), packs
  small neighbouring sections together, splits long ones by sentence; each chunk knows its section.
- ``sentence``: sentence-based with a token limit, ignoring structure.
- ``tokens``: fixed-size token windows.
"""

import re
from dataclasses import dataclass

from llama_index.core.node_parser import SentenceSplitter, TokenTextSplitter
from llama_index.core.utils import get_tokenizer

from .config import ChunkingStrategy

STRATEGIES: tuple[ChunkingStrategy, ...] = ("markdown", "sentence", "tokens")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Chunk:
    text: str
    section: str  # heading path, "Install > From source"; "" outside any heading


@dataclass(frozen=True)
class Section:
    path: tuple[str, ...]
    text: str


def chunk_text(
    text: str, strategy: ChunkingStrategy, chunk_size: int, chunk_overlap: int
) -> list[Chunk]:
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown chunking strategy {strategy!r}; choose one of {STRATEGIES}")
    if chunk_overlap >= chunk_size:
        raise ValueError(
            f"chunk_overlap ({chunk_overlap}) must be smaller than chunk_size ({chunk_size})"
        )
    if strategy == "markdown":
        return _markdown_chunks(text, chunk_size, chunk_overlap)
    splitter_type = SentenceSplitter if strategy == "sentence" else TokenTextSplitter
    splitter = splitter_type(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    return [Chunk(piece, "") for piece in splitter.split_text(text) if piece.strip()]


def split_sections(markdown: str) -> list[Section]:
    """Cut at headings outside code fences; each section starts with its own heading line."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False

    def close() -> None:
        body = "\n".join(lines).strip()
        if body:
            sections.append(Section(tuple(title for _, title in path), body))

    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        if heading:
            close()
            lines = []
            level = len(heading.group(1))
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, heading.group(2).strip()))
        lines.append(line)
    close()
    return sections


def _markdown_chunks(text: str, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    splitter = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    chunks: list[Chunk] = []
    pending: list[Section] = []
    pending_tokens = 0

    def flush() -> None:
        nonlocal pending, pending_tokens
        if pending:
            chunks.append(Chunk("\n\n".join(s.text for s in pending), " > ".join(pending[0].path)))
        pending, pending_tokens = [], 0

    for section in split_sections(text):
        size = token_count(section.text)
        if size > chunk_size:
            flush()
            chunks.extend(
                Chunk(piece, " > ".join(section.path))
                for piece in splitter.split_text(section.text)
            )
            continue
        if pending_tokens + size > chunk_size:
            flush()
        pending.append(section)
        pending_tokens += size
    flush()
    return chunks


def token_count(text: str) -> int:
    return len(get_tokenizer()(text))
