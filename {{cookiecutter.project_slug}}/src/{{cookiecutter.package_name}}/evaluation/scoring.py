"""The scoring rule. A retrieved chunk is relevant when it comes from an expected page (or document)
and contains one of the keywords, compared case-insensitively with whitespace collapsed. hit@k is the
share of questions with a relevant chunk in the top k; MRR@10 the mean of 1/rank of the first one."""

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..answers import Source
from .cases import EvalCase

CUTOFFS = (1, 3, 5, 10)
DEPTH = 10  # ranks below this count as misses


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def from_expected_document(source: Source, case: EvalCase) -> bool:
    return is_expected_document(source.document_id, case)


def is_expected_document(document_id: str, case: EvalCase) -> bool:
    if document_id in case.expected_documents:
        return True
    # The path inside its source: "local:sql/createindex.html" -> "sql/createindex.html". A web page's
    # is its URL; either matches an expected file given relative to the folder or the site.
    path = document_id.split(":", 1)[-1].split("#", 1)[0].split("?", 1)[0].rstrip("/")
    return any(path == f or path.endswith("/" + f.lstrip("/")) for f in case.expected_files)


def is_relevant(source: Source, case: EvalCase) -> bool:
    if not from_expected_document(source, case):
        return False
    text = normalise(source.text)
    return any(normalise(keyword) in text for keyword in case.keywords)


def first_relevant(sources: Sequence[Source], case: EvalCase) -> int | None:
    for rank, source in enumerate(sources[:DEPTH], 1):
        if is_relevant(source, case):
            return rank
    return None


@dataclass(frozen=True)
class Scores:
    questions: int
    hits: dict[int, float]  # cutoff -> hit rate
    mrr: float

    @classmethod
    def of(cls, ranks: Sequence[int | None]) -> "Scores":
        count = len(ranks)
        found = [rank for rank in ranks if rank is not None and rank <= DEPTH]
        hits = {k: sum(1 for rank in found if rank <= k) / count for k in CUTOFFS}
        return cls(count, hits, sum(1 / rank for rank in found) / count)

    def as_dict(self) -> dict[str, float]:
        hits = {f"hit@{k}": round(rate, 4) for k, rate in self.hits.items()}
        return {**hits, "mrr@10": round(self.mrr, 4)}


def scores_by_kind(kinds: Sequence[str], ranks: Sequence[int | None]) -> dict[str, Scores]:
    grouped: dict[str, list[int | None]] = defaultdict(list)
    for kind, rank in zip(kinds, ranks, strict=True):
        grouped[kind].append(rank)
    return {kind: Scores.of(grouped[kind]) for kind in sorted(grouped)}


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def paired_changes(
    before: Mapping[str, int | None], after: Mapping[str, int | None]
) -> tuple[int, int]:
    """How many questions (by id) had their first relevant chunk ranked higher after than before,
    and how many lower."""
    better = worse = 0
    for case_id, rank in before.items():
        change = reciprocal(after.get(case_id)) - reciprocal(rank)
        better, worse = better + (change > 0), worse + (change < 0)
    return better, worse


def reciprocal(rank: int | None) -> float:
    return 1 / rank if rank and rank <= DEPTH else 0.0


def sign_test(better: int, worse: int) -> float:
    """The one-sided sign test's p-value: the chance of at least ``better`` improvements among the
    questions that changed, if a change were as likely to be for the worse."""
    changed = better + worse
    if changed == 0:
        return 1.0
    return sum(math.comb(changed, k) for k in range(better, changed + 1)) / 2**changed
