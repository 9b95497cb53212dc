"""Find a question's chunks: one ranked list per query mode of the store, fused, then ranked."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from llama_index.core import VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle
from llama_index.core.vector_stores import MetadataFilters
from llama_index.core.vector_stores.types import VectorStoreQueryMode

from ...answers import Trace
from ...config import Settings
from ...feedback.store import FeedbackStore
from ...index.store_base import DocumentStore
from .ranking import by_standing, candidate_count, rank, reciprocal_rank_fusion
from .rerank import Reranker
from .standing import SourceStanding

# A trace's name for each query mode's search; the store's own keyword retrievers are keyword searches.
STAGES = {
    VectorStoreQueryMode.DEFAULT: "dense_search",
    VectorStoreQueryMode.HYBRID: "hybrid_search",
    VectorStoreQueryMode.TEXT_SEARCH: "keyword_search",
    VectorStoreQueryMode.SPARSE: "keyword_search",
}


@dataclass(frozen=True)
class Found:
    hits: list[NodeWithScore]
    # The closest chunk's cosine similarity to the question, by meaning alone: how well the
    # documents cover the question at all (None if the store cannot tell).
    best_similarity: float | None


class ChunkSearch:
    def __init__(
        self,
        settings: Settings,
        store: DocumentStore,
        embed: BaseEmbedding,
        filters: Callable[[Sequence[str]], MetadataFilters],
    ) -> None:
        self.settings = settings
        self.standing = SourceStanding(FeedbackStore(settings.feedback_url))
        self._index = VectorStoreIndex.from_vector_store(store.vector_store, embed_model=embed)
        self._store = store
        self._filters = filters
        self._retrievers: dict[tuple[str, ...], list[tuple[str, BaseRetriever]]] = {}
        self.reranker = (
            Reranker(settings.rerank_model, settings.rerank_onnx_file, settings.rerank_candidates)
            if settings.rerank
            else None
        )

    def retrievers(self, access: Sequence[str]) -> list[tuple[str, BaseRetriever]]:
        """One retriever per query mode of the store, seeing only chunks labelled one of ``access``,
        each with the name of its stage in a trace."""
        labels = tuple(sorted(set(access)))
        if labels not in self._retrievers:
            candidates = candidate_count(self.settings.top_k)
            if self.reranker:
                candidates = max(candidates, self.reranker.candidates)
            self._retrievers[labels] = [
                (
                    STAGES.get(mode, "keyword_search"),
                    self._index.as_retriever(
                        similarity_top_k=candidates,
                        sparse_top_k=candidates,
                        filters=self._filters(labels),
                        vector_store_query_mode=mode,
                    ),
                )
                for mode in self._store.query_modes
            ] + [
                ("keyword_search", retriever)
                for retriever in self._store.keyword_retrievers(labels, candidates)
            ]
        return self._retrievers[labels]

    def retrieve(
        self,
        query: QueryBundle,
        *rephrasings: QueryBundle,
        access: Sequence[str],
        trace: Trace | None = None,
    ) -> Found:
        """The best ``top_k`` chunks for ``query`` and its rephrasings, each bundle carrying its
        embedding, among the chunks labelled one of ``access``; every list (per query and mode) is
        fused by reciprocal rank. ``trace`` gets the time of each stage."""
        trace = trace or Trace()
        lists = []
        for bundle in (query, *rephrasings):
            for stage, retriever in self.retrievers(access):
                with trace.stage(stage):
                    lists.append(retriever.retrieve(bundle))
        vector = query.embedding or []
        similarities = [self._store.similarity(hit, vector) for hit in lists[0]]
        best = max((s for s in similarities if s is not None), default=None)
        return Found(self._rank(query.query_str, lists, trace), best)

    def _rank(
        self, question: str, lists: list[list[NodeWithScore]], trace: Trace
    ) -> list[NodeWithScore]:
        with trace.stage("fuse_and_rank"):
            multipliers, hidden = self.standing.current()
            ordered = [by_standing(hits, multipliers, hidden) for hits in lists]
            candidates = ordered[0] if len(ordered) == 1 else reciprocal_rank_fusion(ordered)
        if self.reranker:
            # The reranker's scores are a list's own scores again: standing reorders close ones.
            with trace.stage("rerank"):
                reranked = self.reranker.rerank(question, candidates)
            candidates = by_standing(reranked, multipliers)
        with trace.stage("fuse_and_rank"):
            return rank(
                candidates,
                demote=self.settings.demote_documents,
                per_document=self.settings.max_chunks_per_document,
                limit=self.settings.top_k,
            )
