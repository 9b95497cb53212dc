import pytest

from {{ cookiecutter.package_name }}.ingestion.chunking import (
    STRATEGIES,
    Measure,
    chunk_text,
    split_sections,
)
from {{ cookiecutter.package_name }}.ingestion.formats import code_to_markdown

pytestmark = pytest.mark.unit  # pure logic: no server, no model

GUIDE = """# Guide

Intro paragraph.

## Install

Install it with pip.

```bash
# not a heading: a comment inside code
pip install thing
```

### From source

Clone the repository, then build it.

## Use

""" + " ".join(f"Sentence number {i} explains one more detail of the tool." for i in range(120))
token_count = Measure().count


def test_sections_follow_headings_but_not_code_comments() -> None:
    sections = split_sections(GUIDE)
    assert [s.path for s in sections] == [
        ("Guide",),
        ("Guide", "Install"),
        ("Guide", "Install", "From source"),
        ("Guide", "Use"),
    ]
    assert "# not a heading" in sections[1].text


def test_markdown_chunks_pack_small_sections_and_split_long_ones() -> None:
    chunks = chunk_text(GUIDE, "markdown", chunk_size=128, chunk_overlap=16)
    assert chunks[0].section == "Guide"
    assert "Intro paragraph" in chunks[0].text and "pip install thing" in chunks[0].text
    long_ones = [c for c in chunks if c.section == "Guide > Use"]
    assert len(long_ones) > 2
    assert all(token_count(c.text) <= 128 for c in chunks)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_keeps_all_the_text(strategy: str) -> None:
    chunks = chunk_text(GUIDE, strategy, chunk_size=64, chunk_overlap=8)  # type: ignore[arg-type]
    joined = " ".join(c.text for c in chunks)
    for word in ("Intro", "pip install thing", "Clone", "Sentence number 119"):
        assert word in joined


def test_bad_sizes_and_strategies_are_refused() -> None:
    with pytest.raises(ValueError, match="smaller than chunk_size"):
        chunk_text(GUIDE, "sentence", chunk_size=64, chunk_overlap=64)
    with pytest.raises(ValueError, match="unknown chunking strategy"):
        chunk_text(GUIDE, "paragraph", chunk_size=64, chunk_overlap=8)  # type: ignore[arg-type]


MODULE = '''import os


def small(x):
    """Small."""
    y = x + 1

    return y * 2


@cached
def medium(values):
    total = 0

    for value in values:
        total += value * {factor}
    return total


class Store:
    """Holds things."""

    def put(self, key, value):
        self.items[key] = value

    def get(self, key):
        return self.items[key]

    def drop(self, key):
        del self.items[key]

    def keys(self):
        return sorted(self.items)

    def clear(self):
        self.items = {}
'''.replace("{factor}", " + ".join(f"weight_{i}" for i in range(4)))
DEFINITIONS = {
    "small": 'def small(x):\n    """Small."""\n    y = x + 1\n\n    return y * 2',
    "medium": MODULE[MODULE.index("@cached") : MODULE.index("\n\n\nclass")],
    "put": "    def put(self, key, value):\n        self.items[key] = value",
    "get": "    def get(self, key):\n        return self.items[key]",
}


def test_code_chunks_keep_each_definition_whole() -> None:
    markdown = code_to_markdown(MODULE, "store.py", "python")
    chunks = chunk_text(markdown, "code", chunk_size=64, chunk_overlap=0)
    assert len(chunks) > 1
    for name, definition in DEFINITIONS.items():
        holding = [c for c in chunks if definition in c.text]
        assert len(holding) == 1, f"{name} is cut or repeated"
    assert all(c.text.count("```") % 2 == 0 for c in chunks)  # each piece of code stays fenced
    # The class is larger than a chunk, so it splits between its methods, never inside one.
    assert token_count(MODULE[MODULE.index("class Store") :]) > 64
    sentence = chunk_text(markdown, "sentence", chunk_size=64, chunk_overlap=0)
    assert any(sum(d in c.text for c in sentence) == 0 for d in DEFINITIONS.values())


def test_code_chunks_treat_prose_like_the_markdown_strategy() -> None:
    code = chunk_text(GUIDE, "code", chunk_size=128, chunk_overlap=16)
    assert code[0].section == "Guide" and "pip install thing" in code[0].text
    assert all(token_count(c.text) <= 128 for c in code)


def words(text: str) -> list[str]:
    return text.split()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_chunks_leave_room_for_the_header_the_model_reads_with_them(strategy: str) -> None:
    """A model that reads 60 tokens, counted here as words: the header embedded before each chunk
    (two words, or ten under "Guide > Use") and the chunk's text together never pass it."""

    def header(section: str) -> str:
        return "title: Guide" + (
            " much longer section path, eight more words" if "Use" in section else ""
        )

    measure = Measure(tokenize=words, limit=60, header=header)
    chunks = chunk_text(GUIDE, strategy, chunk_size=256, chunk_overlap=8, measure=measure)  # type: ignore[arg-type]
    assert all(len(words(header(c.section) + " " + c.text)) <= 60 for c in chunks)
    assert max(len(words(c.text)) for c in chunks) > 40  # the room is used, not wasted
    joined = " ".join(c.text for c in chunks)
    assert "Sentence number 119" in joined and "pip install thing" in joined


def test_a_chunk_too_long_for_the_model_is_cut_between_words() -> None:
    """One paragraph with no sentence breaks, longer than the model reads: every word is kept."""
    text = "# T\n\n" + " ".join(f"w{i}" for i in range(500))
    chunks = chunk_text(text, "markdown", 100, 0, Measure(tokenize=words, limit=50))
    assert all(len(words(c.text)) <= 50 for c in chunks)
    assert " ".join(c.text for c in chunks).split()[-1] == "w499"
    assert sum(len(words(c.text)) for c in chunks) >= 501
