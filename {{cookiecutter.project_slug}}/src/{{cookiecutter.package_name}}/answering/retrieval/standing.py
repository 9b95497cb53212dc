"""Ranking sources by accuracy: documents that helpful answers cite rise a little, those that
unhelpful answers cite sink a little, and a maintainer can pin or hide a document.

The ``feedback_loop`` DAG counts the votes (``refresh_standings``); queries read the result
(``SourceStanding``), which multiplies a candidate's score by ``1 + boost``. A boost is bounded by
``MAX_BOOST`` and shrunk toward zero while votes are few, so a handful of ratings, or one person
voting many times, can reorder close candidates but never lift an unrelated page over a good match.
"""

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ...feedback.store import FeedbackStore

MAX_BOOST = 0.10  # at most ±10 % of a candidate's score from ratings
PIN_BOOST = 0.20  # what a maintainer's pin adds
PRIOR_VOTES = 4  # votes a document needs before its boost reaches half of MAX_BOOST
REFRESH_S = 60.0  # how often a serving process rereads the standings


def boost(helpful: int, unhelpful: int) -> float:
    return MAX_BOOST * (helpful - unhelpful) / (helpful + unhelpful + PRIOR_VOTES)


def tally(votes: Iterable[tuple[list[str], int]]) -> dict[str, tuple[int, int]]:
    """Per document: how many answers citing it were rated helpful, and how many not helpful."""
    helpful: Counter[str] = Counter()
    unhelpful: Counter[str] = Counter()
    for documents, net in votes:
        for document in documents:
            if net > 0:
                helpful[document] += 1
            elif net < 0:
                unhelpful[document] += 1
    return {doc: (helpful[doc], unhelpful[doc]) for doc in helpful.keys() | unhelpful.keys()}


def refresh_standings(store: FeedbackStore) -> dict[str, int]:
    """Count the votes again from every rating (the ``feedback_loop`` DAG's ``rank_sources``)."""
    standings = tally(store.source_votes())
    store.save_standings(standings)
    return {
        "documents": len(standings),
        "raised": sum(1 for h, u in standings.values() if h > u),
        "lowered": sum(1 for h, u in standings.values() if u > h),
    }


@dataclass
class SourceStanding:
    """The multipliers and hidden documents a query applies, reread every ``REFRESH_S`` seconds."""

    store: FeedbackStore
    multipliers: dict[str, float] = field(default_factory=dict)
    hidden: frozenset[str] = frozenset()
    _read_at: float = -REFRESH_S

    def current(self) -> tuple[dict[str, float], frozenset[str]]:
        if time.monotonic() - self._read_at >= REFRESH_S:
            self.reload()
        return self.multipliers, self.hidden

    def reload(self) -> None:
        overrides = self.store.overrides()
        multipliers = {doc: 1 + boost(h, u) for doc, (h, u) in self.store.standings().items()}
        for doc, action in overrides.items():
            if action == "pin":
                multipliers[doc] = 1 + PIN_BOOST
        self.multipliers = multipliers
        self.hidden = frozenset(doc for doc, action in overrides.items() if action == "hide")
        self._read_at = time.monotonic()
