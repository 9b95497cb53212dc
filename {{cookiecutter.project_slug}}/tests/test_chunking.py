import pytest

from {{ cookiecutter.package_name }}.chunking import STRATEGIES, chunk_text, split_sections, token_count

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
