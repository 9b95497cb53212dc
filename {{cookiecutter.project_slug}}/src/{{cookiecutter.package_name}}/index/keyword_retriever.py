"""A retriever over the keyword index that the Chroma store keeps beside its collection."""

from collections.abc import Callable, Sequence

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import BaseNode, NodeWithScore, QueryBundle

Search = Callable[[str, Sequence[str], int], list[tuple[str, float]]]


class KeywordRetriever(BaseRetriever):
    """The keyword index's best chunks (``search``: ids and scores), read back from the vector store
    by ``nodes`` (chunks it no longer holds are left out)."""

    def __init__(
        self,
        search: Search,
        nodes: Callable[[Sequence[str]], list[BaseNode]],
        access: Sequence[str],
        limit: int,
    ) -> None:
        super().__init__()
        self._search, self._nodes = search, nodes
        self._access, self._limit = list(access), limit

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        found = self._search(query_bundle.query_str, self._access, self._limit)
        if not found:
            return []
        nodes = {node.node_id: node for node in self._nodes([i for i, _ in found])}
        return [NodeWithScore(node=nodes[i], score=score) for i, score in found if i in nodes]
