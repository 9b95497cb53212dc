"""How an answer is laid out: cited text whose ``[n]`` link to their sources, and the sources as
cards. Everything a document or a visitor wrote is escaped here, before it reaches a browser."""

import html
import re

from ..answers import CITATION, Answer, Source

SNIPPET_PREVIEW_CHARS = 160


def link_citations(text: str, sources: list[Source]) -> str:
    """``[n]`` becomes a link to source n where it has a web address."""
    links = {s.number: s.uri for s in sources if s.uri.startswith(("http://", "https://"))}

    def link(match: re.Match[str]) -> str:
        number = int(match.group(1))
        return f"[[{number}]]({links[number]})" if number in links else match.group(0)

    return CITATION.sub(link, text)


def plain_text(markdown: str) -> str:
    """Chunk text for a one-line preview: without heading marks, code fences, bold or backticks."""
    text = re.sub(r"(?m)^\s*(#{1,6}\s+|```\w*\s*$|>\s?)", "", markdown)
    return re.sub(r"\*{1,3}|`+", "", text)


def source_cards(sources: list[Source], whole: bool = False) -> str:
    """Sources as compact cards: title › section, link or path, and a preview that expands to the
    snippet, or to the whole passage (``whole``: when the passages are the answer)."""
    cards = []
    for source in sources:
        where = html.escape(source.uri)
        if source.uri.startswith(("http://", "https://")):
            where = f'<a href="{where}" target="_blank" rel="noopener noreferrer">{where}</a>'
        preview = " ".join(plain_text(source.snippet).split())[:SNIPPET_PREVIEW_CHARS]
        preview = preview.rsplit(" ", 1)[0]
        cards.append(
            '<details class="source-card">'
            f"<summary><b>[{source.number}] {html.escape(source.heading)}</b> "
            f'<span class="source-where">{where}</span><br>{html.escape(preview)} …</summary>'
            f"<p>{html.escape(source.text if whole else source.snippet)}</p></details>"
        )
    return f'<div class="sources"><b>Sources</b>{"".join(cards)}</div>' if cards else ""


def answer_view(answer: Answer) -> str:
    """An answer as the conversation shows it: cited text, then its sources; passages once."""
    if answer.mode == "passages":
        return f"_{answer.notice}_" + source_cards(answer.sources, whole=True)
    return link_citations(answer.text, answer.sources) + source_cards(answer.sources)


def landing_text() -> str:
    return (
        "**Ask about the documentation**: how to set things up, what an option does, why something "
        "fails. Answers cite their sources, and you can ask follow-up questions.\n\n"
        "Rate the answers: the questions whose answers helped appear here for the next person."
    )
