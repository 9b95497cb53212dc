"""Text that tries to instruct a language model ("ignore all previous instructions and ...").

In a document, such text reaches the model quoted as data (``prompts``); but a small model may follow
it anyway. So an answer drawn on a source that carries such text, or that carries it itself, is never
shown to others or reused as verified, and a question made of it never reaches the landing view.
"""

import re
from collections.abc import Iterable

INSTRUCTIONS = re.compile(
    r"""
    \b(?:ignore|disregard|forget|override)\s+(?:(?:all|any|the|your|of|these)\s+)*
        (?:previous|prior|above|earlier|preceding|system|original)\s+
        (?:instructions?|prompts?|rules|directions|messages|context)\b
    | \byou\s+are\s+now\s+(?:a|an|the|in)\b
    | \b(?:reveal|print|show|repeat|output)\s+(?:your|the)\s+(?:system\s+|hidden\s+)?prompt\b
    | \bnew\s+instructions?\s*:
    | <\s*/?\s*(?:system|source|instructions?)\s*>
    """,
    re.IGNORECASE | re.VERBOSE,
)


def looks_like_instructions(text: str) -> bool:
    return INSTRUCTIONS.search(text) is not None


def carries_instructions(answer: str, source_texts: Iterable[str]) -> bool:
    """Whether an answer, or any source it was drawn on, holds text that instructs the model."""
    return looks_like_instructions(answer) or any(map(looks_like_instructions, source_texts))
