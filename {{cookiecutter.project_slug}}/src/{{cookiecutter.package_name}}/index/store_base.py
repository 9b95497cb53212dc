"""What every vector-store backend offers; ``store.py`` holds the one this project uses.

LlamaIndex appears in type hints only: planning a run reads what a store holds without it.
"""

import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar

if TYPE_CHECKING:
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import BaseNode, NodeWithScore
    from llama_index.core.vector_stores.types import BasePydanticVectorStore, VectorStoreQueryMode

log = logging.getLogger(__name__)
Connection = TypeVar("Connection")
CONNECT_ATTEMPTS = 3  # waits 1 s, then 2 s: enough for a server that is still starting


@dataclass(frozen=True)
class StoredDocument:
    content_hash: str
    source: str
    complete: bool  # False when a run died while writing it: the next run writes it again
    pipeline: str = ""  # how it was converted and chunked (see planning.pipeline_of)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norms if norms else 0.0


class EmbeddingMismatchError(RuntimeError):
    """The store holds vectors of another model or size than the configured embedding model."""


class DocumentStore(Protocol):
    version: str  # the index version this store reads and writes (see versions)

    @property
    def vector_store(self) -> "BasePydanticVectorStore": ...

    def live_version(self) -> str:
        """The version readers answer from now (read from the pointer, not cached)."""
        ...

    def recorded_model(self) -> str | None: ...

    def recorded_pipeline(self) -> str | None: ...

    def similarity(self, hit: "NodeWithScore", query_vector: Sequence[float]) -> float | None:
        """The cosine similarity of a hit of this store's first query mode to the question (the
        score LlamaIndex reports is on each backend's own scale)."""
        ...

    @property
    def query_modes(self) -> tuple["VectorStoreQueryMode", ...]:
        """How questions are matched: one ranked list per mode (vectors; keywords, or the backend's
        own hybrid search, where it is on), fused by reciprocal rank when there are several."""
        ...

    def keyword_retrievers(self, access: Sequence[str], limit: int) -> list["BaseRetriever"]:
        """Ranked lists of matches beyond ``query_modes``' (a keyword index the backend lacks)."""
        ...

    def documents(self) -> dict[str, StoredDocument]: ...

    def check_embedding(self, model_name: str, dimensions: int) -> None:
        """Raise ``EmbeddingMismatchError`` if the store holds vectors of another model or size."""
        ...

    def record_embedding(self, model_name: str, dimensions: int) -> None:
        """Check, then name the model on a store that has none yet (called before writing)."""
        ...

    def replace_documents(self, documents: Mapping[str, Sequence["BaseNode"]]) -> None:
        """Replace each document's chunks with these, in one write (one transaction where the
        backend has them): per-document writes would cost a round trip and an index update each."""
        ...

    def delete_documents(self, document_ids: Iterable[str]) -> None: ...

    def count(self) -> int: ...

    def ping(self) -> None:
        """Raise if the store does not answer. Cheap: a readiness probe calls it every few seconds."""
        ...


def stored_documents(chunk_metadata: Iterable[Mapping[str, object]]) -> dict[str, StoredDocument]:
    """Fold chunk metadata into one entry per document; a document is complete when all its chunks are there."""
    seen: dict[str, tuple[str, str, str, int, int]] = {}
    for meta in chunk_metadata:
        doc_id = str(meta["document_id"])
        content_hash, source, pipeline, expected = (
            str(meta["content_hash"]),
            str(meta["source"]),
            str(meta.get("pipeline") or ""),
            whole_number(meta["chunk_count"]),
        )
        previous = seen.get(doc_id)
        if previous and previous[0] != content_hash:
            content_hash = ""  # chunks of two versions: treat as incomplete
        found = previous[4] + 1 if previous else 1
        seen[doc_id] = (content_hash, source, pipeline, expected, found)
    return {
        doc_id: StoredDocument(
            content_hash,
            source,
            complete=bool(content_hash) and found == expected,
            pipeline=pipeline,
        )
        for doc_id, (content_hash, source, pipeline, expected, found) in seen.items()
    }


def whole_number(value: object) -> int:
    """A count as a backend returns it: an int, a float (some clients send every number as a
    double) or text."""
    number = float(str(value))
    if not number.is_integer():
        raise ValueError(f"expected a whole number, got {value!r}")
    return int(number)


EmbeddingRecord = Mapping[str, object]  # {"embedding_model": name, "dimensions": size}


class RecordsEmbedding(ABC):
    """The one rule for every backend: a store names the embedding model of its vectors, recorded
    before the first write, and refuses another model or size (a new version takes another model).

    A backend supplies where a version's record lives (read it, write it) and how many chunks it
    holds; the record also carries the version's state and pipeline (see ``versions``).
    """

    backend: ClassVar[str]
    mismatch_hint: ClassVar[str] = ""  # a backend's own advice, added to the message
    version: str  # the index version this store object reads and writes

    @abstractmethod
    def _record(self, version: str) -> dict[str, object]:
        """What ``version`` records ({} if nothing)."""

    @abstractmethod
    def _write_record(self, version: str, record: Mapping[str, object]) -> None:
        """Replace ``version``'s record."""

    @abstractmethod
    def count(self) -> int: ...

    def ping(self) -> None:
        self.count()  # cheap where the backend keeps the count (a store may offer a lighter check)

    def _unrecorded_dimensions(self) -> int | None:
        """The vector size the store's shape fixes before any model is recorded, if it fixes one."""
        return None

    def _read_embedding_record(self) -> EmbeddingRecord | None:
        record = self._record(self.version)
        return record if "dimensions" in record else None

    def recorded_model(self) -> str | None:
        """The embedding model of this version's vectors; None before anything is written."""
        model = self._record(self.version).get("embedding_model")
        return str(model) if model else None

    def recorded_pipeline(self) -> str | None:
        """How this version's chunks were made (see planning.pipeline_of); None before a run."""
        pipeline = self._record(self.version).get("pipeline")
        return str(pipeline) if pipeline else None

    def update_record(self, version: str, **values: str) -> None:
        self._write_record(version, {**self._record(version), **values})

    def check_embedding(self, model_name: str, dimensions: int) -> None:
        self._check_embedding(self._read_embedding_record(), model_name, dimensions)

    def record_embedding(self, model_name: str, dimensions: int) -> None:
        recorded = self._read_embedding_record()  # read once: checked, then written if absent
        self._check_embedding(recorded, model_name, dimensions)
        if recorded is None and self.count() == 0:
            embedding = {"embedding_model": model_name, "dimensions": dimensions}
            self._write_record(self.version, {**self._record(self.version), **embedding})

    def _check_embedding(
        self, recorded: EmbeddingRecord | None, model_name: str, dimensions: int
    ) -> None:
        if recorded is None:
            stored_model: object = model_name
            stored_dimensions: object = self._unrecorded_dimensions() or dimensions
        else:
            stored_model, stored_dimensions = (
                recorded.get("embedding_model"),
                recorded.get("dimensions"),
            )
        if (stored_model, stored_dimensions) != (model_name, dimensions):
            raise EmbeddingMismatchError(
                f"The {self.backend} index holds {stored_dimensions}-dimension vectors from "
                f"{stored_model!r}, but the configured embedding model {model_name!r} makes "
                f"{dimensions}-dimension vectors. Ingest every source (`ingest`, or the ingest_docs "
                "DAG without `sources`): that builds a new index version with the configured model "
                "beside the live one."
                + (
                    f" {self.mismatch_hint.format(dimensions=dimensions)}"
                    if self.mismatch_hint
                    else ""
                )
            )


def connect_with_retries(
    connect: Callable[[], Connection],
    backend: str,
    where: str,
    transient: tuple[type[Exception], ...],
) -> Connection:
    """Connect, retrying transient failures; then one ``ConnectionError`` naming the backend and address."""
    for attempt in range(1, CONNECT_ATTEMPTS + 1):
        try:
            return connect()
        except transient as error:
            if attempt == CONNECT_ATTEMPTS:
                reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
                raise ConnectionError(
                    f"{backend} at {where} is not reachable after {attempt} attempts: {reason}"
                ) from error
            log.warning(
                "%s at %s not reachable yet (attempt %d); retrying", backend, where, attempt
            )
            time.sleep(2 ** (attempt - 1))
    raise AssertionError("unreachable")
