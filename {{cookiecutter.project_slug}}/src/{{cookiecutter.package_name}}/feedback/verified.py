"""The feedback loop: answers that people rated helpful go back into the index as verified answers.

A verified answer is embedded by its question. Retrieval finds it for related questions, and then
the language model reads it alongside the documents. For a near-identical question, the engine
reuses it as it is, labelled as verified. When its ratings turn negative on balance, including
ratings of the times it was reused, the next promotion withdraws it.
"""

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import NodeWithScore

from ..config import Settings
from ..index.embeddings import embedding_model
from ..index.store import open_store
from ..ingestion.pipeline import chunk_node
from ..ingestion.planning import writing_settings
from ..ingestion.sources import SourceDocument
from ..security.injection import carries_instructions
from .sharing import Bar, RatedAnswer
from .store import FeedbackStore

VERIFIED_SOURCE = "verified"
VERIFIED_TITLE = "Verified answer"
VERIFIED_PIPELINE = "question"  # embedded by its question alone, not chunked


@dataclass
class PromotionSummary:
    promoted: int = 0
    unchanged: int = 0
    withdrawn: int = 0

    def as_text(self) -> str:
        return (
            f"verified answers: promoted {self.promoted}, unchanged {self.unchanged}, "
            f"withdrawn {self.withdrawn}"
        )


@dataclass(frozen=True)
class VerifiedMatch:
    """A stored verified answer whose question is near-identical to the one asked."""

    interaction_id: int
    question: str
    answer: str
    sources: list[dict[str, Any]]
    similarity: float


def promote_answers(
    settings: Settings, feedback: FeedbackStore | None = None, *, run_id: str = "manual"
) -> PromotionSummary:
    """Bring the index's verified answers in line with the ratings: add new ones, withdraw demoted ones."""
    feedback = feedback or FeedbackStore(settings.feedback_url)
    wanted = {
        document.id: (document, rated)
        for rated in feedback.well_rated_answers(Bar.of(settings))
        if not _carries_instructions(rated)
        for document in [_as_document(rated)]
    }
    settings = writing_settings(settings)  # with the model of the version's vectors
    store = open_store(settings)
    stored = {
        doc_id: doc for doc_id, doc in store.documents().items() if doc.source == VERIFIED_SOURCE
    }
    todo = [
        (document, rated)
        for doc_id, (document, rated) in wanted.items()
        if doc_id not in stored
        or not stored[doc_id].complete
        or stored[doc_id].content_hash != document.content_hash
    ]
    summary = PromotionSummary(unchanged=len(wanted) - len(todo))
    if todo:
        model = embedding_model(settings)
        # Embedded by the question alone: a verified answer is found by questions like its own.
        vectors = model.get_text_embedding_batch([rated.question for _, rated in todo])
        store.record_embedding(model.model_name, len(vectors[0]))
        ingested_at = datetime.now(UTC).isoformat(timespec="seconds")
        for (document, rated), vector in zip(todo, vectors, strict=True):
            node = chunk_node(
                document,
                document.text,
                rated.question,
                0,
                1,
                ingested_at,
                run_id,
                pipeline=VERIFIED_PIPELINE,
                interaction_id=rated.interaction_id,
                sources_json=json.dumps(_compact_sources(rated.sources)),
            )
            node.embedding = vector
            store.replace_documents({document.id: [node]})
            summary.promoted += 1
    withdrawn = sorted(set(stored) - set(wanted))
    store.delete_documents(withdrawn)
    summary.withdrawn = len(withdrawn)
    return summary


class VerifiedAnswers:
    """Finds, among retrieved chunks, a verified answer to a near-identical question."""

    def __init__(self, min_similarity: float) -> None:
        self._min_similarity = min_similarity
        self._question_vectors: dict[tuple[str, str], list[float]] = {}

    def match(
        self, query_vector: Sequence[float], hits: list[NodeWithScore], embed: BaseEmbedding
    ) -> VerifiedMatch | None:
        """The first verified answer among ``hits`` whose question is near-identical to the one
        ``query_vector`` was embedded from (by ``embed``, the model of the index version searched)."""
        # Backends scale their scores differently, so compare the two questions' vectors directly.
        for hit in hits:
            meta = hit.node.metadata
            if meta.get("source") != VERIFIED_SOURCE:
                continue
            question = str(meta["section"])
            similarity = _cosine(query_vector, self._question_vector(question, embed))
            if similarity >= self._min_similarity:
                return VerifiedMatch(
                    interaction_id=int(meta["interaction_id"]),
                    question=question,
                    answer=hit.node.get_content(),
                    sources=json.loads(str(meta.get("sources_json") or "[]")),
                    similarity=similarity,
                )
        return None

    def _question_vector(self, question: str, embed: BaseEmbedding) -> list[float]:
        key = (embed.model_name, question)
        if key not in self._question_vectors:
            self._question_vectors[key] = embed.get_text_embedding(question)
        return self._question_vectors[key]


def _carries_instructions(rated: RatedAnswer) -> bool:
    """A prompt-injected document may have steered the answer: never reuse it, however rated."""
    texts = [str(source.get("text") or "") for source in rated.sources]
    return carries_instructions(rated.answer, texts)


def _as_document(rated: RatedAnswer) -> SourceDocument:
    # An answer may show no more than the most restricted of the sources it was drawn from.
    labels = {str(source.get("access", "internal")) for source in rated.sources}
    return SourceDocument(
        id=f"{VERIFIED_SOURCE}:{rated.interaction_id}",
        source=VERIFIED_SOURCE,
        uri=f"feedback:{rated.interaction_id}",
        title=VERIFIED_TITLE,
        text=rated.answer,
        access="public" if labels <= {"public"} else "internal",
    )


def _compact_sources(sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the UI shows of a verified answer's sources; the full chunk texts stay in the feedback DB."""
    keep = ("number", "title", "uri", "section", "snippet", "document_id", "access")
    return [{key: source.get(key) for key in keep} for source in sources]


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norms if norms else 0.0
