"""Ranking, in order:

1. in each ranked list (vectors, keywords), hidden documents are dropped and each score is multiplied
   by its document's standing (see ``standing``: ratings of the answers that cited it, a maintainer's
   pin). On a list's own scores a bounded multiplier reorders close matches only; on fused ranks
   every match looks close to the best, and it could lift a poor one;
2. the lists are fused into one by reciprocal rank;
3. demoted documents (changelogs, archives: globs on document ids) go after every other match;
4. no document holds more than ``per_document`` places, so one long page cannot crowd out the rest.
"""

from collections import Counter
from collections.abc import Mapping, Sequence, Set
from fnmatch import fnmatchcase

from llama_index.core.schema import NodeWithScore

RRF_K = 60  # the usual constant: a list's first places count most, its tail still a little


def reciprocal_rank_fusion(lists: Sequence[Sequence[NodeWithScore]]) -> list[NodeWithScore]:
    """One list from several (vectors, keywords), each hit scored by the sum of 1 / (K + rank) over
    the lists that hold it. Ranks, not scores, are added: the lists' scores have unlike scales."""
    fused: dict[str, float] = {}
    hits: dict[str, NodeWithScore] = {}
    for ranked in lists:
        for position, hit in enumerate(ranked, 1):
            key = hit.node.node_id
            fused[key] = fused.get(key, 0.0) + 1 / (RRF_K + position)
            hits.setdefault(key, hit)
    order = sorted(fused, key=lambda key: fused[key], reverse=True)
    return [NodeWithScore(node=hits[key].node, score=fused[key]) for key in order]


def document_of(hit: NodeWithScore) -> str:
    return str(hit.node.metadata.get("document_id", hit.node.node_id))


def is_demoted(document_id: str, patterns: Sequence[str]) -> bool:
    """Case-insensitive globs on ``source:path`` ids, so "*changelog*" finds CHANGELOG.md too."""
    lowered = document_id.lower()
    return any(fnmatchcase(lowered, pattern.lower()) for pattern in patterns)


def by_standing(
    hits: Sequence[NodeWithScore],
    multipliers: Mapping[str, float] | None = None,
    hidden: Set[str] = frozenset(),
) -> list[NodeWithScore]:
    """One ranked list without hidden documents, reordered by scores weighted by standing."""
    shown = [hit for hit in hits if document_of(hit) not in hidden]
    if not multipliers:
        return shown
    weighted = [
        NodeWithScore(node=h.node, score=(h.score or 0.0) * multipliers.get(document_of(h), 1.0))
        for h in shown
    ]
    return sorted(weighted, key=lambda h: h.score or 0.0, reverse=True)


def rank(
    hits: Sequence[NodeWithScore], *, demote: Sequence[str], per_document: int, limit: int
) -> list[NodeWithScore]:
    """The best ``limit`` hits of ``hits`` (best first) under rules 3 and 4."""
    kept = [hit for hit in hits if not is_demoted(document_of(hit), demote)]
    kept += [hit for hit in hits if is_demoted(document_of(hit), demote)]
    places: Counter[str] = Counter()
    ranked = []
    for hit in kept:
        document = document_of(hit)
        if places[document] < per_document:
            places[document] += 1
            ranked.append(hit)
    return ranked[:limit]


def candidate_count(top_k: int) -> int:
    """How many candidates to fetch so that the rules still leave ``top_k`` results."""
    return min(max(3 * top_k, 20), 100)
