"""A retriever over the keyword index that the Chroma store keeps beside its collection."""

from collections.abc import Sequence

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle
from llama_index.vector_stores.chroma import ChromaVectorStore

from ..keywords import KeywordIndex


class KeywordRetriever(BaseRetriever):
    """The keyword index's best chunks, read back from the vector store (chunks it no longer holds
    are left out)."""

    def __init__(
        self,
        index: KeywordIndex,
        vector_store: "ChromaVectorStore",
        access: Sequence[str],
        limit: int,
    ) -> None:
        super().__init__()
        self._index, self._vector_store = index, vector_store
        self._access, self._limit = list(access), limit

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        found = self._index.search(query_bundle.query_str, self._access, self._limit)
        if not found:
            return []
        nodes = {node.node_id: node for node in self._vector_store.get_nodes([i for i, _ in found])}
        return [NodeWithScore(node=nodes[i], score=score) for i, score in found if i in nodes]
