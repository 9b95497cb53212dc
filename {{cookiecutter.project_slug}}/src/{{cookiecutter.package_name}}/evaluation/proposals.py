"""New evaluation cases from answers people rated helpful, for a maintainer to review and accept.

A proposal names the documents the answer cited (for passages, the first passage) and, as keywords,
words of the question or answer that those documents contain. Questions come from users: a person
reads each proposal before moving it into the question set.
"""

import json
import re
from collections.abc import Iterable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

from ..answers import cited_numbers
from ..feedback.sharing import Bar, RatedAnswer
from ..feedback.store import FeedbackStore
from .cases import CaseError, load_cases
from .scoring import normalise

KEYWORDS = 3
# Words that say nothing about where an answer is: never proposed as keywords.
COMMON = frozenset(
    [
        "about",
        "after",
        "again",
        "also",
        "another",
        "because",
        "before",
        "being",
        "between",
        "could",
        "does",
        "doing",
        "during",
        "every",
        "first",
        "from",
        "have",
        "having",
        "into",
        "just",
        "like",
        "more",
        "most",
        "much",
        "other",
        "should",
        "since",
        "some",
        "such",
        "than",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "under",
        "until",
        "using",
        "very",
        "what",
        "when",
        "where",
        "which",
        "while",
        "will",
        "with",
        "within",
        "without",
        "would",
        "your",
    ]
)


def proposals(
    answers: Iterable[RatedAnswer], known_questions: set[str]
) -> Iterator[dict[str, Any]]:
    for rated in answers:
        if normalise(rated.question) in known_questions:
            continue
        numbers = set(cited_numbers(rated.answer)) or {1}
        cited = [s for s in rated.sources if s.get("number") in numbers and s.get("document_id")]
        keywords = shared_words(
            f"{rated.question} {rated.answer}", [str(s.get("text", "")) for s in cited]
        )
        if not cited or not keywords:
            continue
        yield {
            "id": f"feedback-{rated.interaction_id}",
            "question": rated.question,
            "expected_documents": sorted({str(s["document_id"]) for s in cited}),
            "keywords": keywords,
            "kind": "feedback",
            "answer": rated.answer if rated.model else "",
        }


def shared_words(asked: str, texts: list[str]) -> list[str]:
    """The longest words of ``asked`` that appear in every one of ``texts``, longest first."""
    haystacks = [normalise(text) for text in texts]
    words = {w for w in re.findall(r"[\w][\w.-]{3,}[\w]", asked.lower()) if w not in COMMON}
    found = [w for w in words if haystacks and all(w in h for h in haystacks)]
    return sorted(found, key=lambda w: (-len(w), w))[:KEYWORDS]


def propose_cases(
    store: FeedbackStore, question_set: Path, output: Path, min_net_score: int
) -> int:
    """Append to ``output`` the proposals that neither it nor ``question_set`` holds; return how many."""
    known: set[str] = set()
    for path in (question_set, output):
        with suppress(CaseError):  # no such file yet, or an empty one
            known |= {normalise(case.question) for case in load_cases(path).cases}
    new = list(proposals(store.helpful_answers(Bar(min_net_score=min_net_score)), known))
    if new:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("a", encoding="utf-8") as lines:
            lines.writelines(json.dumps(case) + "\n" for case in new)
    return len(new)
