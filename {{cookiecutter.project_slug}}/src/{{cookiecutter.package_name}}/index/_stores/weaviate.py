"""Weaviate through the v4 client: a local or self-hosted instance, or Weaviate Cloud, at ``RAG_WEAVIATE_URL``.

This module creates the collection itself, before LlamaIndex would, with every property typed
(``SCHEMA``): ids and labels are whole-value text, so a filter on ``local:a`` never matches
``local:guide/a`` through shared words or stopwords, and counts are integers. Weaviate's auto-schema is
never relied on: a chunk with a property the schema does not declare is refused before it is sent, and
every write and delete checks what the server reports back. With ``RAG_HYBRID_SEARCH=true`` each
question is matched by Weaviate's native hybrid search (BM25 and vectors) instead of by vectors alone.

Each index version is a collection (``Docs__v3``); the live one is named by a collection alias that
has the configured collection's name (``Docs``), switched in one call (see ``versions``). A collection
from before versions, named ``Docs`` itself, is version 0: the first promotion deletes it, since an
alias cannot share a collection's name.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Protocol, cast
from urllib.parse import urlparse

import weaviate
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import BaseNode, NodeWithScore
from llama_index.core.vector_stores.types import VectorStoreQueryMode
from llama_index.vector_stores.weaviate import WeaviateVectorStore
from llama_index.vector_stores.weaviate.utils import get_data_object
from weaviate.classes.config import (
    Configure,
    DataType,
    Property,
    Tokenization,
    VectorDistances,
)
from weaviate.classes.data import DataObject
from weaviate.classes.init import Auth
from weaviate.classes.query import Filter
from weaviate.collections import Collection
from weaviate.collections.classes.batch import BatchObjectReturn, DeleteManyReturn
from weaviate.collections.collections import _Collections
from weaviate.exceptions import (
    WeaviateBaseError,
    WeaviateConnectionError,
    WeaviateGRPCUnavailableError,
    WeaviateInsertManyAllFailedError,
    WeaviateStartUpError,
)

from ..config import Settings
from .store_base import (
    RecordsEmbedding,
    StoredDocument,
    connect_with_retries,
    cosine,
    stored_documents,
)
from .versions import (
    READY,
    IndexVersion,
    checked_version,
    new_record,
    version_name,
    version_number,
    version_of,
)

CLOUD_DOMAINS = (".weaviate.cloud", ".weaviate.network")
LINEAGE = ["document_id", "content_hash", "source", "chunk_count", "pipeline"]
VECTOR_NAME = "default"  # the vector LlamaIndex reads back from query results
WRITE_PAGE = 500  # objects per insert request: well below gRPC's message limit at 1536 dimensions
IDS_PER_DELETE = 1000
# A delete removes at most QUERY_MAXIMUM_RESULTS objects (10,000 by default) per request, so it is
# repeated until nothing matches; this bounds the rounds for a filter that somehow keeps matching.
DELETE_ROUNDS = 1000


@dataclass(frozen=True)
class PropertySpec:
    name: str
    data_type: DataType
    tokenization: Tokenization | None = None
    searchable: bool = False  # part of BM25 keyword search
    filterable: bool = True

    def create(self) -> Property:
        return Property(
            name=self.name,
            data_type=self.data_type,
            tokenization=self.tokenization,
            index_searchable=self.searchable if self.data_type == DataType.TEXT else None,
            index_filterable=self.filterable,
            skip_vectorization=True,
        )


def _words(name: str) -> PropertySpec:
    """Prose that keyword search reads."""
    return PropertySpec(name, DataType.TEXT, Tokenization.WORD, searchable=True)


def _exact(name: str) -> PropertySpec:
    """An id or label: matched as a whole value, never word by word."""
    return PropertySpec(name, DataType.TEXT, Tokenization.FIELD)


def _stored(name: str) -> PropertySpec:
    """Kept with the chunk and read back, never searched or filtered on."""
    return PropertySpec(name, DataType.TEXT, Tokenization.FIELD, filterable=False)


# Every property a chunk carries: the lineage that ingestion writes (see ingest.chunk_node) and the
# passage it is read in, what a verified answer adds (interaction_id, sources_json), and LlamaIndex's
# own fields (text, the node as JSON, and its document ids under three names). ingested_at is an ISO 8601 string in UTC, kept as text
# on purpose: it sorts as it reads, and Weaviate's date type would reparse it.
SCHEMA: tuple[PropertySpec, ...] = (
    _words("text"),
    _words("title"),
    _words("section"),
    *(
        _exact(name)
        for name in (
            "document_id",
            "doc_id",
            "ref_doc_id",
            "source",
            "uri",
            "content_hash",
            "access",
            "pipeline",
            "run_id",
            "ingested_at",
            "_node_type",
        )
    ),
    *(
        PropertySpec(name, DataType.INT)
        for name in ("chunk_index", "chunk_count", "interaction_id")
    ),
    _stored("_node_content"),
    _stored("sources_json"),
    _stored("passage"),
)
DECLARED = frozenset(spec.name for spec in SCHEMA)


class WeaviateWriteError(RuntimeError):
    """Weaviate refused some of a write or delete; the message carries the server's reasons."""


class CollectionData(Protocol):
    """The part of a collection's ``data`` that writes use (a protocol, so tests can stand in for it)."""

    def insert_many(self, objects: Sequence[DataObject[Any, Any]]) -> BatchObjectReturn: ...

    def delete_many(self, where: Any) -> DeleteManyReturn[Any]: ...


class WeaviateStore(RecordsEmbedding):
    backend = "Weaviate"

    def __init__(self, settings: Settings) -> None:
        if not settings.collection[:1].isupper():
            raise ValueError(
                f"collection {settings.collection!r} must start with a capital letter: "
                "Weaviate names collections like classes"
            )
        self._settings = settings
        self._client = connect_with_retries(
            lambda: _connect(settings),
            "Weaviate",
            settings.weaviate_url,
            # An unreachable gRPC port fails the client's start-up health check.
            (WeaviateConnectionError, WeaviateStartUpError, WeaviateGRPCUnavailableError),
        )
        pinned = settings.index_version
        self.version = (
            checked_version(settings.collection, pinned) if pinned else self._live_or_first()
        )
        if not self._client.collections.exists(self.version):
            raise ValueError(f"no index version {self.version!r} in Weaviate")
        # An outdated collection is reported on first use, so that a full refresh can replace it.
        self._schema_problems = ensure_collection(self._client.collections, self.version)
        self._vector_store: WeaviateVectorStore | None = None

    def __del__(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()

    @property
    def vector_store(self) -> WeaviateVectorStore:
        if self._vector_store is None:
            self._check_schema()
            # The collection exists already, so LlamaIndex does not create its own default schema.
            self._vector_store = WeaviateVectorStore(
                weaviate_client=self._client, index_name=self.version
            )
        return self._vector_store

    def similarity(self, hit: NodeWithScore, query_vector: Sequence[float]) -> float | None:
        # LlamaIndex reports Weaviate's fused hybrid score; the hit's own vector comes with it.
        vector = hit.node.embedding
        return cosine(query_vector, vector) if vector else None

    @property
    def query_modes(self) -> tuple[VectorStoreQueryMode, ...]:
        # Weaviate fuses BM25 and vector results itself.
        if self._settings.hybrid_search:
            return (VectorStoreQueryMode.HYBRID,)
        return (VectorStoreQueryMode.DEFAULT,)

    def keyword_retrievers(self, access: Sequence[str], limit: int) -> list[BaseRetriever]:
        return []  # keywords are a query mode of the backend itself

    def documents(self) -> dict[str, StoredDocument]:
        objects = self._collection().iterator(return_properties=LINEAGE)
        return stored_documents(dict(item.properties) for item in objects)

    def replace_documents(self, documents: Mapping[str, Sequence[BaseNode]]) -> None:
        self.delete_documents(documents)
        objects = [data_object(node) for chunks in documents.values() for node in chunks]
        write_objects(self._collection().data, objects)

    def delete_documents(self, document_ids: Iterable[str]) -> None:
        ids = list(document_ids)
        data = self._collection().data
        for start in range(0, len(ids), IDS_PER_DELETE):
            where = Filter.by_property("document_id").contains_any(
                ids[start : start + IDS_PER_DELETE]
            )
            delete_all(data, where)

    def count(self) -> int:
        return self._collection().aggregate.over_all(total_count=True).total_count or 0

    def _collection(self) -> Collection:
        self._check_schema()
        return self._client.collections.use(self.version)

    def _check_schema(self) -> None:
        if self._schema_problems:
            raise RuntimeError(
                f"Weaviate collection {self.version} was created with another schema ("
                + "; ".join(self._schema_problems)
                + "). Rebuild it with a full refresh: `ingest --full-refresh`, or trigger the "
                "ingest_docs DAG with full_refresh=true."
            )

    def _record(self, version: str) -> dict[str, object]:
        description = self._client.collections.use(version).config.get().description or ""
        return dict(json.loads(description)) if description.startswith("{") else {}

    def _write_record(self, version: str, record: Mapping[str, object]) -> None:
        self._client.collections.use(version).config.update(description=json.dumps(record))

    # Versions (see versions.py)
    def live_version(self) -> str:
        return live_collection(self._client, self._settings.collection)

    def versions(self) -> list[IndexVersion]:
        collection = self._settings.collection
        found = []
        for name in self._client.collections.list_all(simple=True):
            number = version_number(collection, name)
            if number is not None:
                chunks = self._client.collections.use(name).aggregate.over_all(total_count=True)
                record = self._record(name)
                found.append(version_of(name, number, record, chunks.total_count or 0))
        return sorted(found, key=lambda version: version.number)

    def create_version(self, name: str, record: dict[str, str]) -> None:
        ensure_collection(self._client.collections, name)
        self._write_record(name, record)

    def switch_live(self, name: str) -> None:
        switch_alias(self._client, self._settings.collection, name)

    def drop_version(self, name: str) -> None:
        if name == self.live_version():
            raise ValueError(f"{name} is the live index version")
        self._client.collections.delete(name)

    def _live_or_first(self) -> str:
        """The live version; without one, a new empty version 1 becomes live."""
        collection = self._settings.collection
        try:
            return self.live_version()
        except LookupError:
            first = version_name(collection, 1)
            self.create_version(first, new_record(READY))
            # Another process may have created it first, for the same version.
            with suppress(WeaviateBaseError):
                self._client.alias.create(alias_name=collection, target_collection=first)
            return self.live_version()


class AliasCalls(Protocol):
    def get(self, *, alias_name: str) -> Any: ...  # an AliasReturn, or None if there is none

    def create(self, *, alias_name: str, target_collection: str) -> None: ...

    def update(self, *, alias_name: str, new_target_collection: str) -> bool: ...


class CollectionCalls(Protocol):
    def exists(self, name: str) -> bool: ...

    def delete(self, name: str) -> None: ...


class AliasClient(Protocol):
    """The part of the client that versions use (a protocol, so tests can stand in for it)."""

    @property
    def alias(self) -> AliasCalls: ...

    @property
    def collections(self) -> CollectionCalls: ...


def live_collection(client: AliasClient, alias: str) -> str:
    """The collection the alias names; the collection itself if it is one (from before versions)."""
    found = client.alias.get(alias_name=alias)
    if found is not None:
        return found.collection
    if client.collections.exists(alias):
        return alias
    raise LookupError(f"no live index version: neither an alias nor a collection {alias}")


def switch_alias(client: AliasClient, alias: str, target: str) -> None:
    """Point the alias at ``target`` in one call; the first time, in place of a collection from
    before versions that has the alias's name (deleted: Weaviate keeps one name for one thing)."""
    if client.alias.get(alias_name=alias) is not None:
        if not client.alias.update(alias_name=alias, new_target_collection=target):
            raise WeaviateWriteError(f"Weaviate did not point alias {alias} at {target}")
        return
    if client.collections.exists(alias):
        client.collections.delete(alias)
    client.alias.create(alias_name=alias, target_collection=target)


def open_store(settings: Settings) -> WeaviateStore:
    return WeaviateStore(settings)


def ensure_collection(collections: _Collections, name: str) -> list[str]:
    """Create the collection with ``SCHEMA``, or add what an older one lacks; return what differs."""
    if not collections.exists(name):
        collections.create(
            name,
            properties=[spec.create() for spec in SCHEMA],
            vector_config=Configure.Vectors.self_provided(
                name=VECTOR_NAME,
                vector_index_config=Configure.VectorIndex.hnsw(
                    distance_metric=VectorDistances.COSINE
                ),
            ),
        )
        return []
    collection = collections.use(name)
    existing = {prop.name: prop for prop in collection.config.get().properties}
    problems = []
    for spec in SCHEMA:
        found = existing.get(spec.name)
        if found is None:
            collection.config.add_property(spec.create())  # declared by a newer release
        elif (found.data_type, found.tokenization) != (spec.data_type, spec.tokenization):
            problems.append(
                f"{spec.name} is {_describe(found.data_type, found.tokenization)}, "
                f"not {_describe(spec.data_type, spec.tokenization)}"
            )
    return problems


def data_object(node: BaseNode) -> DataObject[Any, Any]:
    """A chunk as LlamaIndex's Weaviate store writes it, its vector named, its properties declared."""
    # Annotated as returning a dict, it returns a DataObject.
    item = cast(DataObject[dict[str, Any], None], get_data_object(node=node))
    if undeclared := sorted(set(item.properties) - DECLARED):
        raise ValueError(
            f"chunk {node.node_id} has properties the Weaviate schema does not declare: "
            f"{', '.join(undeclared)}; add them to SCHEMA in store.py"
        )
    return DataObject(
        properties=item.properties, uuid=item.uuid, vector={VECTOR_NAME: node.get_embedding()}
    )


def write_objects(data: CollectionData, objects: Sequence[DataObject[Any, Any]]) -> None:
    """Insert in pages; any object the server refuses raises with the server's reasons."""
    for start in range(0, len(objects), WRITE_PAGE):
        page = objects[start : start + WRITE_PAGE]
        try:
            result = data.insert_many(page)
        except WeaviateInsertManyAllFailedError as error:
            raise WeaviateWriteError(f"Weaviate refused all {len(page)} chunks: {error}") from error
        if result.errors:
            reasons = sorted({error.message for error in result.errors.values()})
            raise WeaviateWriteError(
                f"Weaviate refused {len(result.errors)} of {len(page)} chunks: "
                + "; ".join(reasons[:5])
            )


def delete_all(data: CollectionData, where: Any) -> int:
    """Delete every object that matches, however many requests that takes; return how many."""
    deleted = 0
    for _ in range(DELETE_ROUNDS):
        result = data.delete_many(where=where)
        if result.failed:
            raise WeaviateWriteError(
                f"Weaviate failed to delete {result.failed} of {result.matches} matching chunks"
            )
        if result.matches == 0:
            return deleted
        deleted += result.successful
    raise WeaviateWriteError(f"chunks still matched a delete after {DELETE_ROUNDS} requests")


def _describe(data_type: DataType, tokenization: Tokenization | None) -> str:
    return data_type.value + (f" ({tokenization.value})" if tokenization else "")


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
