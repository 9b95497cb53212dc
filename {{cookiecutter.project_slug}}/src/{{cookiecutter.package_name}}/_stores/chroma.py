"""Chroma: the project's own Chroma server for ``data_dir`` by default (see ``chroma_server``), a Chroma
server elsewhere when ``RAG_CHROMA_URL`` is set, or, with ``RAG_CHROMA_MODE=embedded``, the files opened
in this process (one process only: a notebook, a script, the tests).
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, cast
from urllib.parse import urlparse

import chromadb
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Where
from chromadb.config import Settings as ChromaSettings

from .chroma_server import server_url
from .config import Settings
from .private_files import private_dir
from .store_base import (
    EmbeddingRecord,
    RecordsEmbedding,
    StoredDocument,
    connect_with_retries,
    stored_documents,
)

if TYPE_CHECKING:
    from llama_index.core.schema import BaseNode, NodeWithScore
    from llama_index.core.vector_stores.types import VectorStoreQueryMode
    from llama_index.vector_stores.chroma import ChromaVectorStore

PAGE = 5000


class ChromaStore(RecordsEmbedding):
    backend = "Chroma"

    def __init__(self, settings: Settings) -> None:
        self._name = settings.collection
        self._client = _client(settings)
        self._collection = self._open_collection()

    @cached_property
    def vector_store(self) -> "ChromaVectorStore":
        # Imported on first use: reading what is stored (planning a run) needs Chroma only.
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self._collection)

    def similarity(self, hit: "NodeWithScore", query_vector: Sequence[float]) -> float | None:
        # LlamaIndex reports exp(-distance), and the collection's distance is the cosine distance.
        return 1 + math.log(hit.score) if hit.score else None

    @property
    def query_modes(self) -> tuple["VectorStoreQueryMode", ...]:
        from llama_index.core.vector_stores.types import VectorStoreQueryMode

        return (VectorStoreQueryMode.DEFAULT,)  # Chroma offers vector search only

    def documents(self) -> dict[str, StoredDocument]:
        return stored_documents(self._all_metadata())

    def _read_embedding_record(self) -> EmbeddingRecord | None:
        meta = self._collection.metadata or {}
        return meta if "dimensions" in meta else None

    def _write_embedding_record(self, model_name: str, dimensions: int) -> None:
        self._collection.modify(metadata={"embedding_model": model_name, "dimensions": dimensions})

    def replace_documents(self, documents: Mapping[str, Sequence["BaseNode"]]) -> None:
        self.delete_documents(documents)
        nodes = [node for chunks in documents.values() for node in chunks]
        if nodes:
            self.vector_store.add(nodes)  # LlamaIndex splits it to Chroma's largest batch

    def delete_documents(self, document_ids: Iterable[str]) -> None:
        ids = list(document_ids)
        for start in range(0, len(ids), PAGE):
            # mypy cannot narrow the "$in" key to Chroma's Literal type inside the union
            where = cast(Where, {"document_id": {"$in": ids[start : start + PAGE]}})
            self._collection.delete(where=where)

    def clear(self) -> None:
        self._client.delete_collection(self._name)
        self._collection = self._open_collection()
        self.__dict__.pop("vector_store", None)  # the next use wraps the new collection

    def count(self) -> int:
        return self._collection.count()

    def _open_collection(self) -> Collection:
        return self._client.get_or_create_collection(
            self._name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )

    def _all_metadata(self) -> Iterable[Mapping[str, object]]:
        offset = 0
        while True:
            page = self._collection.get(include=["metadatas"], limit=PAGE, offset=offset)
            metadatas = page["metadatas"] or []
            yield from (meta for meta in metadatas if meta)
            if len(metadatas) < PAGE:
                return
            offset += PAGE


def open_store(settings: Settings) -> ChromaStore:
    return ChromaStore(settings)


def _client(settings: Settings) -> chromadb.ClientAPI:
    telemetry_off = ChromaSettings(anonymized_telemetry=False)
    if not settings.chroma_url and settings.chroma_mode == "embedded":
        private_dir(settings.data_dir)
        settings.chroma_path.mkdir(exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.chroma_path), settings=telemetry_off)
    server = settings.chroma_url or server_url(settings.data_dir)
    url = urlparse(server)

    def connect() -> chromadb.ClientAPI:
        return chromadb.HttpClient(
            host=url.hostname or "localhost",
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=telemetry_off,
        )

    # The client checks the server at once and raises ValueError when it cannot reach it.
    return connect_with_retries(connect, "Chroma server", server, (ValueError,))
