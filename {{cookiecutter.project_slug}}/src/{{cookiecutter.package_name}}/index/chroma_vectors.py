"""The Chroma collection as LlamaIndex queries it, searching first without the metadata filter.

Chroma applies a ``where`` filter before it searches the vectors, and that costs: on 9,600 chunks a
query took 50 ms with the access filter and 4 ms without. Usually every nearest chunk may be read by
the asker anyway. So a filtered query first runs unfiltered; if every hit passes the filter, those are
exactly the filtered query's hits (no allowed chunk can rank between them), and they are returned.
Otherwise, or for filters this module does not evaluate, the filtered query runs as usual.

Turning a chunk as Chroma returns it into a LlamaIndex node (its metadata's JSON, then pydantic) took
a sixth of the UI's time under load, and the same chunks come back again and again: nodes are kept
and reused for as long as the stored text and metadata are the same.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from llama_index.core.schema import BaseNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)
from llama_index.core.vector_stores.utils import metadata_dict_to_node
from llama_index.vector_stores.chroma import ChromaVectorStore
from pydantic import PrivateAttr

KEPT_NODES = 4096  # about the chunks a busy day's questions return; beyond, start again


def admits(filters: MetadataFilters | MetadataFilter, metadata: dict[str, Any]) -> bool | None:
    """Whether ``metadata`` passes ``filters``; None when they use more than equality, AND and OR."""
    if isinstance(filters, MetadataFilter):
        if filters.operator != FilterOperator.EQ:
            return None
        return metadata.get(filters.key) == filters.value
    results = [admits(f, metadata) for f in filters.filters]
    if None in results or filters.condition not in (FilterCondition.AND, FilterCondition.OR):
        return None
    return all(results) if filters.condition == FilterCondition.AND else any(results)


class NodeCache:
    """Nodes built from stored chunks, by id, reused while the chunk's text and metadata are the same.
    Nothing downstream changes a retrieved node, so concurrent questions can share one."""

    def __init__(self, most: int = KEPT_NODES) -> None:
        self._most = most
        self._nodes: dict[str, tuple[str, Mapping[str, Any], BaseNode]] = {}

    def node(self, node_id: str, text: str | None, metadata: Mapping[str, Any]) -> BaseNode:
        text = text or ""
        kept = self._nodes.get(node_id)
        if kept is not None and kept[0] == text and kept[1] == metadata:
            return kept[2]
        node = metadata_dict_to_node(dict(metadata), text=text)
        if len(self._nodes) >= self._most:
            self._nodes = {}
        self._nodes[node_id] = (text, metadata, node)
        return node


class ChromaVectors(ChromaVectorStore):
    _nodes: NodeCache = PrivateAttr(default_factory=NodeCache)

    def __init__(self, chroma_collection: Any) -> None:
        # Declared so that type checkers see this constructor, not the pydantic fields' one.
        super().__init__(chroma_collection=chroma_collection)

    # LlamaIndex's own two readers, with nodes from the cache (the project writes every chunk with
    # LlamaIndex's node metadata: no legacy layouts to read).
    def _query(
        self, query_embeddings: list[float], n_results: int, where: dict[str, Any], **kwargs: Any
    ) -> VectorStoreQueryResult:
        if where:
            kwargs["where"] = where
        found = self._collection.query(
            query_embeddings=query_embeddings, n_results=n_results, **kwargs
        )
        chunks = self._present(
            found["ids"][0],
            (found["documents"] or [[]])[0],
            (found["metadatas"] or [[]])[0],
            (found["distances"] or [[]])[0],
        )
        return VectorStoreQueryResult(
            nodes=[self._nodes.node(node_id, text, meta) for node_id, text, meta, _ in chunks],
            similarities=[math.exp(-distance) for *_, distance in chunks],
            ids=[node_id for node_id, *_ in chunks],
        )

    def _get(
        self, limit: int | None, where: dict[str, Any], **kwargs: Any
    ) -> VectorStoreQueryResult:
        if where:
            kwargs["where"] = where
        found = self._collection.get(limit=limit, **kwargs)
        ids = found["ids"]
        chunks = self._present(
            ids, found["documents"] or [], found["metadatas"] or [], [0.0] * len(ids)
        )
        return VectorStoreQueryResult(
            nodes=[self._nodes.node(node_id, text, meta) for node_id, text, meta, _ in chunks],
            ids=[node_id for node_id, *_ in chunks],
        )

    @staticmethod
    def _present(
        ids: list[str],
        documents: Sequence[str | None],
        metadatas: Sequence[Mapping[str, Any] | None],
        distances: Sequence[float],
    ) -> list[tuple[str, str | None, Mapping[str, Any], float]]:
        """The chunks that still exist. A chunk deleted by another process while Chroma answered
        comes back with its id but no metadata: it is left out, not turned into a broken node."""
        chunks = zip(ids, documents, metadatas, distances, strict=True)
        return [
            (node_id, text, metadata, distance)
            for node_id, text, metadata, distance in chunks
            if metadata is not None
        ]

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        filters = query.filters
        if filters is None or kwargs or not query.query_embedding:
            return super().query(query, **kwargs)
        if query.mode == VectorStoreQueryMode.DEFAULT:
            unfiltered = super().query(replace(query, filters=None))
            if all(admits(filters, node.metadata) for node in unfiltered.nodes or []):
                return unfiltered
        return super().query(query)
