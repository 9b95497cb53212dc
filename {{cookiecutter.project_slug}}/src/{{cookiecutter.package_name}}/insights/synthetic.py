"""Questions made up from a folder's headings, each with the heading it asks about: for the topics
benchmark, and for seeding a feedback database with traffic to look at (``scripts/seed_interactions.py``)."""

import html
import random
import re
from pathlib import Path

HEADING = re.compile(r"^#{1,3}\s+(.+)$|<h[1-3][^>]*>([\s\S]*?)</h[1-3]>", re.MULTILINE)
TAG = re.compile(r"<[^>]+>")
PHRASINGS = [
    "How do I use {}?",
    "What is {}?",
    "Can you explain {}?",
    "{} is not working, what should I check?",
    "Where is {} documented?",
    "Is there an example of {}?",
    "What are the limits of {}?",
    "I am confused about {}",
    "How does {} work?",
    "Why would I need {}?",
    "Any tips on {} for a beginner?",
    "What changed in {} recently?",
]
# What people add around a question: no two questions about one heading need be the same.
OPENINGS = [
    "",
    "",
    "Hi, ",
    "Quick question: ",
    "Sorry if this is obvious, ",
    "Hello team. ",
    "Help! ",
]
CLOSINGS = [
    "",
    "",
    " Thanks!",
    " We are on version 15.",
    " Asking for my team.",
    " (in production)",
]


def headings(folder: Path) -> dict[str, list[str]]:
    """Each page's headings, for the pages that have at least three."""
    pages = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in {".md", ".html", ".htm"}:
            continue
        text = path.read_text(errors="replace")
        found = [
            html.unescape(TAG.sub("", markdown or tagged)).strip(" #\n")
            for markdown, tagged in HEADING.findall(text)
        ]
        found = [" ".join(h.split()) for h in found if 3 <= len(h.strip()) <= 80]
        if len(set(found)) >= 3:
            pages[str(path.relative_to(folder))] = sorted(set(found))
    return pages


def synthetic_questions(
    pages: dict[str, list[str]], count: int, topics: int
) -> tuple[list[str], list[int]]:
    """``count`` questions about ``topics`` headings, taken in turn from the pages with the most, and
    each question's heading: its true topic."""
    ranked = sorted(pages, key=lambda page: -len(pages[page]))
    chosen: list[str] = []
    for depth in range(max(len(headings) for headings in pages.values())):
        chosen += [pages[page][depth] for page in ranked if depth < len(pages[page])]
    chosen = list(dict.fromkeys(chosen))[:topics]
    generator = random.Random(0)
    texts, truth = [], []
    for n in range(count):
        topic = n % len(chosen)
        asked = generator.choice(PHRASINGS).format(chosen[topic])
        texts.append(generator.choice(OPENINGS) + asked + generator.choice(CLOSINGS))
        truth.append(topic)
    return texts, truth
