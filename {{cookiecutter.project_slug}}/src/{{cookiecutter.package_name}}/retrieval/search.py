"""Find a question's chunks: one ranked list per query mode of the store, fused, then ranked."""

from llama_index.core import VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle
from llama_index.core.vector_stores import MetadataFilters

from ..config import Settings
from ..store_base import DocumentStore
from .ranking import candidate_count, rank, reciprocal_rank_fusion


class ChunkSearch:
    def __init__(
        self,
        settings: Settings,
        store: DocumentStore,
        embed: BaseEmbedding,
        filters: MetadataFilters,
    ) -> None:
        self.settings = settings
        index = VectorStoreIndex.from_vector_store(store.vector_store, embed_model=embed)
        candidates = candidate_count(settings.top_k)
        self._retrievers: list[BaseRetriever] = [
            index.as_retriever(
                similarity_top_k=candidates,
                sparse_top_k=candidates,
                filters=filters,
                vector_store_query_mode=mode,
            )
            for mode in store.query_modes
        ]

    def retrieve(self, query: QueryBundle) -> list[NodeWithScore]:
        """The best ``top_k`` chunks; ``query`` carries the question's embedding."""
        lists = [retriever.retrieve(query) for retriever in self._retrievers]
        candidates = lists[0] if len(lists) == 1 else reciprocal_rank_fusion(lists)
        return rank(
            candidates,
            demote=self.settings.demote_documents,
            per_document=self.settings.max_chunks_per_document,
            limit=self.settings.top_k,
        )
