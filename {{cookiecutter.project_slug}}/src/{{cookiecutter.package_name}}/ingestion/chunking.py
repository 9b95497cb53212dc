"""Chunking strategies, chosen per run.

- ``markdown``: header-aware. Splits at headings (every format arrives as Markdown-style text), packs
  small neighbouring sections together, splits long ones by sentence; each chunk knows its section.
- ``sentence``: sentence-based with a token limit, ignoring structure.
- ``tokens``: fixed-size token windows.
- ``code``: header-aware like ``markdown``, but code is cut only between definitions: functions and
  classes stay whole unless one alone is larger than a chunk (then a class splits by method).

Sizes are counted in the embedding model's own tokens (``Measure``), and a chunk leaves room for
the title and section that are embedded with it: a model reads only so many tokens, and what lies
beyond them would never be embedded.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from llama_index.core.node_parser import SentenceSplitter, TokenTextSplitter
from llama_index.core.utils import get_tokenizer

from ..config import ChunkingStrategy

# Part of every chunk's "pipeline" tag: raise it when chunking changes, and the next run re-chunks.
CHUNKING_VERSION = 2
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


def default_tokenize(text: str) -> Sequence[object]:
    return get_tokenizer()(text)  # tiktoken's, when no embedding model is named


@dataclass(frozen=True)
class Measure:
    """How chunks are measured.

    ``tokenize``: the embedding model's tokenizer (special tokens left out); ``limit``: the most
    tokens the model reads, special tokens left out, ``None`` for no limit; ``header``: the text
    embedded before a chunk of the given section (its title and section).
    """

    tokenize: Callable[[str], Sequence[object]] = default_tokenize
    limit: int | None = None
    header: Callable[[str], str] = field(default=lambda section: "")

    def count(self, text: str) -> int:
        return len(self.tokenize(text))

    def room(self, section: str, chunk_size: int) -> int:
        """Tokens of text a chunk of ``section`` may hold."""
        if self.limit is None:
            return chunk_size
        return max(MIN_ROOM, min(chunk_size, self.limit - self.count(self.header(section))))


MIN_ROOM = 16  # a heading path so long that almost nothing fits still leaves a chunk some text


def chunk_text(
    text: str,
    strategy: ChunkingStrategy,
    chunk_size: int,
    chunk_overlap: int,
    measure: Measure | None = None,
) -> list[Chunk]:
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown chunking strategy {strategy!r}; choose one of {STRATEGIES}")
    if chunk_overlap >= chunk_size:
        raise ValueError(
            f"chunk_overlap ({chunk_overlap}) must be smaller than chunk_size ({chunk_size})"
        )
    chunker = _Chunker(measure or Measure(), chunk_size, chunk_overlap)
    if strategy == "markdown":
        chunks = chunker.markdown(text)
    elif strategy == "code":
        chunks = chunker.code(text)
    else:
        splitter = chunker.splitter(
            "", TokenTextSplitter if strategy == "tokens" else SentenceSplitter
        )
        chunks = [Chunk(piece, "") for piece in splitter.split_text(text) if piece.strip()]
    return [fitted for chunk in chunks for fitted in chunker.fit(chunk)]


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


@dataclass(frozen=True)
class _Chunker:
    measure: Measure
    chunk_size: int
    chunk_overlap: int

    def room(self, section: str) -> int:
        return self.measure.room(section, self.chunk_size)

    def splitter(
        self,
        section: str,
        kind: type[SentenceSplitter] | type[TokenTextSplitter] = SentenceSplitter,
    ) -> SentenceSplitter | TokenTextSplitter:
        room = self.room(section)
        return kind(
            chunk_size=room,
            chunk_overlap=min(self.chunk_overlap, room // 4),
            tokenizer=self.measure.tokenize,
        )

    def markdown(self, text: str) -> list[Chunk]:
        pieces = [Chunk(section.text, " > ".join(section.path)) for section in split_sections(text)]
        return self.pack(pieces)

    def code(self, text: str) -> list[Chunk]:
        pieces = [
            Chunk(unit, path)
            for section in split_sections(text)
            for path in [" > ".join(section.path)]
            for unit in self.units(section.text, self.room(path))
        ]
        # Only a single line of code longer than a chunk is left for the sentence splitter.
        return self.pack(pieces)

    def pack(self, pieces: list[Chunk]) -> list[Chunk]:
        """Join neighbouring pieces up to the room a chunk has; a piece larger than that alone is
        split between sentences. A chunk takes its first piece's section."""
        chunks: list[Chunk] = []
        pending: list[Chunk] = []
        pending_tokens = 0

        def flush() -> None:
            nonlocal pending, pending_tokens
            if pending:
                chunks.append(Chunk("\n\n".join(p.text for p in pending), pending[0].section))
            pending, pending_tokens = [], 0

        for piece in pieces:
            size = self.measure.count(piece.text)
            room = self.room(piece.section)
            if size > room:
                flush()
                parts = self.splitter(piece.section).split_text(piece.text)
                chunks.extend(Chunk(part, piece.section) for part in parts)
                continue
            if pending and pending_tokens + size > self.room(pending[0].section):
                flush()
            pending.append(piece)
            pending_tokens += size
        flush()
        return chunks

    def fit(self, chunk: Chunk) -> list[Chunk]:
        """The chunk, or its words cut into chunks that fit: splitters count only approximately
        (joins, overlaps), and the model must see every token."""
        room = self.room(chunk.section)
        if self.measure.count(chunk.text) <= room:
            return [chunk]
        words = chunk.text.split(" ")
        parts: list[Chunk] = []
        while words:
            fits, too_many = 1, len(words) + 1  # binary search for the longest prefix that fits
            while too_many - fits > 1:
                middle = (fits + too_many) // 2
                if self.measure.count(" ".join(words[:middle])) <= room:
                    fits = middle
                else:
                    too_many = middle
            parts.append(Chunk(" ".join(words[:fits]), chunk.section))
            words = words[fits:]
        return parts

    def units(self, section: str, room: int) -> list[str]:
        """Paragraphs, and fenced code cut into groups of whole definitions, each group re-fenced."""
        units: list[str] = []
        paragraph: list[str] = []
        fence: list[str] | None = None
        for line in section.splitlines():
            if fence is not None:
                fence.append(line)
                if _FENCE.match(line) and line.strip().startswith(fence[0].strip()[:3]):
                    opening, *body, closing = fence
                    budget = room - self.measure.count(f"{opening}\n\n{closing}")
                    units += [
                        f"{opening}\n{part}\n{closing}" for part in self.pack_code(body, budget)
                    ]
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

    def pack_code(self, lines: list[str], budget: int, indent: int = 0) -> list[str]:
        """Whole definitions at ``indent``, joined while they fit; one that does not fit is split."""
        groups: list[list[str]] = []
        for block in _definitions(lines, indent):
            if self.measure.count(block) > budget:
                groups += [[part] for part in self.split_code(block.splitlines(), budget)]
            elif groups and self.measure.count("\n\n".join([*groups[-1], block])) <= budget:
                groups[-1].append(block)
            else:
                groups.append([block])
        return ["\n\n".join(group) for group in groups]

    def split_code(self, lines: list[str], budget: int) -> list[str]:
        """A definition larger than a chunk: by its members (a class's methods), else by lines."""
        inner = [_indent(line) for line in lines[1:] if line.strip()]
        if inner and len(_definitions(lines, min(inner))) > 1:
            return self.pack_code(lines, budget, min(inner))
        parts: list[str] = []
        current: list[str] = []
        for line in lines:
            if current and self.measure.count("\n".join([*current, line])) > budget:
                parts.append("\n".join(current))
                current = []
            current.append(line)
        return [*parts, "\n".join(current)] if current else parts


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


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())
