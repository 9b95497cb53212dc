"""Chunking strategies, chosen per run.

- ``markdown``: header-aware. Splits at headings (every format arrives as Markdown-style text), packs
  small neighbouring sections together, splits long ones by sentence; each chunk knows its section.
- ``sentence``: sentence-based with a token limit, ignoring structure.
- ``tokens``: fixed-size token windows.
- ``code``: header-aware like ``markdown``, but code is cut only between definitions: functions and
  classes stay whole unless one alone is larger than a chunk (then a class splits by method).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from llama_index.core.node_parser import SentenceSplitter, TokenTextSplitter
from llama_index.core.utils import get_tokenizer

from .config import ChunkingStrategy

STRATEGIES: tuple[ChunkingStrategy, ...] = ("markdown", "sentence", "tokens", "code")
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
    if strategy == "code":
        return _code_chunks(text, chunk_size, chunk_overlap)
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
    pieces = [Chunk(section.text, " > ".join(section.path)) for section in split_sections(text)]
    return _pack(pieces, chunk_size, splitter.split_text)


def _pack(
    pieces: list[Chunk], chunk_size: int, split_oversized: Callable[[str], list[str]]
) -> list[Chunk]:
    """Join neighbouring pieces of one section path up to ``chunk_size`` tokens; a piece larger
    than that alone is split by ``split_oversized``. A chunk takes its first piece's section."""
    chunks: list[Chunk] = []
    pending: list[Chunk] = []
    pending_tokens = 0

    def flush() -> None:
        nonlocal pending, pending_tokens
        if pending:
            chunks.append(Chunk("\n\n".join(p.text for p in pending), pending[0].section))
        pending, pending_tokens = [], 0

    for piece in pieces:
        size = token_count(piece.text)
        if size > chunk_size:
            flush()
            chunks.extend(Chunk(part, piece.section) for part in split_oversized(piece.text))
            continue
        if pending_tokens + size > chunk_size:
            flush()
        pending.append(piece)
        pending_tokens += size
    flush()
    return chunks


def _code_chunks(text: str, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    pieces = [
        Chunk(unit, " > ".join(section.path))
        for section in split_sections(text)
        for unit in _units(section.text, chunk_size)
    ]
    # Only a single line of code longer than a chunk is left for the sentence splitter.
    splitter = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    return _pack(pieces, chunk_size, splitter.split_text)


def _units(section: str, chunk_size: int) -> list[str]:
    """Paragraphs, and fenced code cut into groups of whole definitions, each group re-fenced."""
    units: list[str] = []
    paragraph: list[str] = []
    fence: list[str] | None = None
    for line in section.splitlines():
        if fence is not None:
            fence.append(line)
            if _FENCE.match(line) and line.strip().startswith(fence[0].strip()[:3]):
                opening, *body, closing = fence
                budget = chunk_size - token_count(f"{opening}\n\n{closing}")
                units += [f"{opening}\n{part}\n{closing}" for part in _pack_code(body, budget)]
                fence = None
        elif _FENCE.match(line):
            units.append("\n".join(paragraph).strip())
            paragraph, fence = [], [line]
        elif line.strip():
            paragraph.append(line)
        else:
            units.append("\n".join(paragraph).strip())
            paragraph = []
    units.append("\n".join(paragraph + (fence or [])).strip())  # an unclosed fence stays text
    return [unit for unit in units if unit]


def _pack_code(lines: list[str], budget: int, indent: int = 0) -> list[str]:
    """Whole definitions at ``indent``, joined while they fit; one that does not fit is split."""
    groups: list[list[str]] = []
    for block in _definitions(lines, indent):
        if token_count(block) > budget:
            groups += [[part] for part in _split_code(block.splitlines(), budget)]
        elif groups and token_count("\n\n".join([*groups[-1], block])) <= budget:
            groups[-1].append(block)
        else:
            groups.append([block])
    return ["\n\n".join(group) for group in groups]


def _definitions(lines: list[str], indent: int) -> list[str]:
    """Cut code where a line at ``indent`` follows a blank line: between top-level functions and
    classes (indent 0), or between methods (the class body's indent)."""
    blocks: list[list[str]] = [[]]
    after_blank = False
    for line in lines:
        starts_block = (
            after_blank
            and line.strip()
            and _indent(line) == indent
            and not line.strip().startswith((")", "]", "}"))
        )
        if starts_block and blocks[-1]:
            blocks.append([])
        blocks[-1].append(line)
        after_blank = not line.strip()
    return ["\n".join(block).strip("\n") for block in blocks if any(s.strip() for s in block)]


def _split_code(lines: list[str], budget: int) -> list[str]:
    """A definition larger than a chunk: by its members (a class's methods), else by lines."""
    inner = [_indent(line) for line in lines[1:] if line.strip()]
    if inner and len(_definitions(lines, min(inner))) > 1:
        return _pack_code(lines, budget, min(inner))
    parts: list[str] = []
    current: list[str] = []
    for line in lines:
        if current and token_count("\n".join([*current, line])) > budget:
            parts.append("\n".join(current))
            current = []
        current.append(line)
    return [*parts, "\n".join(current)] if current else parts


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def token_count(text: str) -> int:
    return len(get_tokenizer()(text))
