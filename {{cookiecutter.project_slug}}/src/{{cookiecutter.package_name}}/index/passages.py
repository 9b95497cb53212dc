"""Passages: what a reader gets for a matched chunk.

Chunks are embedded small, so that each vector stands for one thing, and read in their passage (the
chunk between its neighbours), so that the reader, a language model or a person, sees the context of
a match: small-to-big retrieval, as LlamaIndex's sentence windows do it. Ingestion stores each chunk's
passage; a query joins the passages of neighbouring matches of one document into one source.
"""

from collections.abc import Sequence

from llama_index.core.schema import MetadataMode, NodeWithScore


def passage(texts: Sequence[str], index: int, window: int) -> str:
    """Chunk ``index`` with ``window`` neighbours on each side, the text they share said once."""
    start, end = max(0, index - window), min(len(texts), index + window + 1)
    joined = texts[start]
    for text in texts[start + 1 : end]:
        joined = join_overlapping(joined, text)
    return joined


def join_overlapping(first: str, second: str) -> str:
    """``first`` then ``second``, less the start of ``second`` that ``first`` already ends with (the
    overlap a splitter repeats)."""
    probe = second[:40]
    at = first.rfind(probe, max(0, len(first) - 4000)) if len(probe) == 40 else -1
    if at >= 0 and second.startswith(first[at:]):
        return first + second[len(first) - at :]
    return f"{first}\n\n{second}"


def group_neighbours(hits: Sequence[NodeWithScore], window: int) -> list[list[NodeWithScore]]:
    """Hits in rank order, each joined to the group of a better hit of the same document whose
    passage overlaps or touches its own, so that no text reaches the reader twice."""
    reach = 2 * window + 1

    def touch(a: NodeWithScore, b: NodeWithScore) -> bool:
        first, second = _chunk_index(a), _chunk_index(b)
        return first is not None and second is not None and abs(first - second) <= reach

    groups: list[list[NodeWithScore]] = []
    for hit in hits:
        near = [
            group
            for group in groups
            if _document(group[0]) == _document(hit) and any(touch(hit, g) for g in group)
        ]
        if near:
            near[0].append(hit)
        else:
            groups.append([hit])
    return groups


def group_text(group: Sequence[NodeWithScore]) -> str:
    """The group's passages in document order, joined, the text they share said once."""
    ordered = sorted(group, key=lambda hit: _chunk_index(hit) or 0)
    texts = [_passage(hit) for hit in ordered]
    joined = texts[0]
    for text in texts[1:]:
        joined = join_overlapping(joined, text) if text not in joined else joined
    return joined


def _passage(hit: NodeWithScore) -> str:
    stored = hit.node.metadata.get("passage")
    return str(stored or hit.node.get_content(metadata_mode=MetadataMode.NONE)).strip()


def _document(hit: NodeWithScore) -> str:
    return str(hit.node.metadata.get("document_id", hit.node.node_id))


def _chunk_index(hit: NodeWithScore) -> int | None:
    value = hit.node.metadata.get("chunk_index")
    return int(value) if isinstance(value, int | float) else None
