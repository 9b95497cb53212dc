"""Hard negatives: for a training question, the passage of another page that BM25 ranks first. Such a
passage shares the question's words without answering it, which teaches the model more than a random
one."""

import math
import re
from collections import Counter
from collections.abc import Collection, Sequence
from typing import Protocol, TypeVar

K1, B = 1.2, 0.75  # Okapi BM25's usual term-frequency saturation and length normalisation


class HasDocument(Protocol):
    @property
    def document_id(self) -> str: ...

    @property
    def text(self) -> str: ...


Passage = TypeVar("Passage", bound=HasDocument)


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


class BM25:
    def __init__(self, texts: Sequence[str]) -> None:
        self._counts = [Counter(words(text)) for text in texts]
        self._lengths = [sum(counts.values()) for counts in self._counts]
        self._average = sum(self._lengths) / len(texts) if texts else 0.0
        frequency = Counter(word for counts in self._counts for word in counts)
        total = len(texts)
        self._idf = {w: math.log(1 + (total - f + 0.5) / (f + 0.5)) for w, f in frequency.items()}

    def scores(self, query: str) -> list[float]:
        terms = set(words(query)) & self._idf.keys()
        return [
            sum(
                self._idf[term]
                * counts[term]
                * (K1 + 1)
                / (counts[term] + K1 * (1 - B + B * length / self._average))
                for term in terms
                if counts[term]
            )
            for counts, length in zip(self._counts, self._lengths, strict=True)
        ]


def hard_negative(
    question: str, pool: Sequence[Passage], ranker: BM25, answering: Collection[str]
) -> Passage | None:
    """The passage of ``pool`` (ranked by ``ranker``, built over the same passages) that BM25 ranks
    first for ``question`` among pages not in ``answering``; None if none shares a word with it."""
    best, best_score = None, 0.0
    for passage, score in zip(pool, ranker.scores(question), strict=True):
        if score > best_score and passage.document_id not in answering:
            best, best_score = passage, score
    return best
