"""Weaviate through the v4 client: a local or self-hosted instance, or Weaviate Cloud, at ``RAG_WEAVIATE_URL``.

The collection is created on first use (HNSW, cosine). With ``RAG_HYBRID_SEARCH=true`` each question
is matched by Weaviate's native hybrid search (BM25 and vectors) instead of by vectors alone.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlparse

import weaviate
from llama_index.core.schema import BaseNode
from llama_index.core.vector_stores.types import VectorStoreQueryMode
from llama_index.vector_stores.weaviate import WeaviateVectorStore
from weaviate.classes.init import Auth
from weaviate.classes.query import Filter
from weaviate.collections import Collection
from weaviate.exceptions import WeaviateConnectionError, WeaviateStartUpError

from .config import Settings
from .store_base import (
    EmbeddingMismatchError,
    StoredDocument,
    connect_with_retries,
    mismatch_message,
    stored_documents,
)

CLOUD_DOMAINS = (".weaviate.cloud", ".weaviate.network")
LINEAGE = ["document_id", "content_hash", "source", "chunk_count", "pipeline"]


class WeaviateStore:
    def __init__(self, settings: Settings) -> None:
        if not settings.collection[:1].isupper():
            raise ValueError(
                f"collection {settings.collection!r} must start with a capital letter: "
                "Weaviate names collections like classes"
            )
        self._settings = settings
        self._name = settings.collection
        self._client = connect_with_retries(
            lambda: _connect(settings),
            "Weaviate",
            settings.weaviate_url,
            (WeaviateConnectionError, WeaviateStartUpError),
        )
        self._vector_store = self._open_vector_store()

    def __del__(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()

    @property
    def vector_store(self) -> WeaviateVectorStore:
        return self._vector_store

    @property
    def query_mode(self) -> VectorStoreQueryMode:
        if self._settings.hybrid_search:
            return VectorStoreQueryMode.HYBRID
        return VectorStoreQueryMode.DEFAULT

    def documents(self) -> dict[str, StoredDocument]:
        if self.count() == 0:
            return {}
        objects = self._collection().iterator(return_properties=LINEAGE)
        return stored_documents(dict(item.properties) for item in objects)

    def check_embedding(self, model_name: str, dimensions: int) -> None:
        _check(self._recorded_embedding(), model_name, dimensions)

    def record_embedding(self, model_name: str, dimensions: int) -> None:
        recorded = self._recorded_embedding()  # read once: checked, then written if absent
        _check(recorded, model_name, dimensions)
        if recorded is None and self.count() == 0:
            note = json.dumps({"embedding_model": model_name, "dimensions": dimensions})
            self._collection().config.update(description=note)

    def replace_documents(self, documents: Mapping[str, Sequence[BaseNode]]) -> None:
        self.delete_documents(documents)
        nodes = [node for chunks in documents.values() for node in chunks]
        if nodes:
            self._vector_store.add(nodes)

    def delete_documents(self, document_ids: Iterable[str]) -> None:
        ids = list(document_ids)
        if ids and self.count() > 0:  # the property exists once something was written
            where = Filter.by_property("document_id").contains_any(ids)
            self._collection().data.delete_many(where=where)

    def clear(self) -> None:
        self._client.collections.delete(self._name)
        self._vector_store = self._open_vector_store()

    def count(self) -> int:
        return self._collection().aggregate.over_all(total_count=True).total_count or 0

    def _open_vector_store(self) -> WeaviateVectorStore:
        return WeaviateVectorStore(weaviate_client=self._client, index_name=self._name)

    def _collection(self) -> Collection:
        return self._client.collections.use(self._name)

    def _recorded_embedding(self) -> dict[str, object] | None:
        description = self._collection().config.get().description or ""
        return json.loads(description) if description.startswith("{") else None


def open_store(settings: Settings) -> WeaviateStore:
    return WeaviateStore(settings)


def _check(recorded: dict[str, object] | None, model_name: str, dimensions: int) -> None:
    if recorded is None:
        return
    model, size = recorded.get("embedding_model"), recorded.get("dimensions")
    if (model, size) != (model_name, dimensions):
        raise EmbeddingMismatchError(
            mismatch_message("Weaviate", model, size, model_name, dimensions)
        )


def _connect(settings: Settings) -> weaviate.WeaviateClient:
    key = settings.weaviate_api_key
    auth = Auth.api_key(key.get_secret_value()) if key else None
    url = urlparse(settings.weaviate_url)
    host = url.hostname or "localhost"
    if host.endswith(CLOUD_DOMAINS):
        if auth is None:
            raise ValueError("Weaviate Cloud needs RAG_WEAVIATE_API_KEY")
        return weaviate.connect_to_weaviate_cloud(settings.weaviate_url, auth_credentials=auth)
    secure = url.scheme == "https"
    return weaviate.connect_to_custom(
        http_host=host,
        http_port=url.port or (443 if secure else 8080),
        http_secure=secure,
        grpc_host=host,
        grpc_port=settings.weaviate_grpc_port,
        grpc_secure=secure,
        auth_credentials=auth,
    )
