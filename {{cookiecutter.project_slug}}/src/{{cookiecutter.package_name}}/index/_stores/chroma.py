"""Chroma: the project's own Chroma server for ``data_dir`` by default (see ``chroma_server``), a Chroma
server elsewhere when ``RAG_CHROMA_URL`` is set, or, with ``RAG_CHROMA_MODE=embedded``, the files opened
in this process (one process only: a notebook, a script, the tests).

Each index version is a collection (``docs__v3``) with a keyword index of its own; the live one is named
by a pointer record, the metadata of the collection ``<collection>__live``, switched in one call (see
``versions``).
"""

import math
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlparse

import chromadb
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Include, Where
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError

from ..config import Settings
from ..security.private_files import private_dir
from .chroma_server import server_url
from .keywords import KeywordIndex, row_of
from .store_base import (
    RecordsEmbedding,
    StoredDocument,
    connect_with_retries,
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

if TYPE_CHECKING:
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import BaseNode, NodeWithScore
    from llama_index.core.vector_stores.types import VectorStoreQueryMode

    from .chroma_vectors import ChromaVectors

PAGE = 5000
# Every write gives the collection a new revision (in its metadata). A keyword index records the
# revision it holds: a process that only reads (the UI on another machine) fills its index again from
# the collection when the revisions differ, checking at most every REVISION_CHECK_S seconds; a process
# that writes keeps its index current if it was current before the write. (Two writers on different
# machines at the same moment may leave one of their own indexes short of the other's write until
# the next write; a reader's index is never left so.)
REVISION_KEY = "revision"
LIVE_KEY = "version"  # the pointer record's key that names the live version
REVISION_CHECK_S = 10.0
# Keyword hits repeat from question to question: their chunks are read from the collection once per
# revision. A chunk id names its document's content and its place in it, so only a re-chunking run
# (same content, other chunk sizes) changes a kept chunk's text: shown for up to REVISION_CHECK_S.
KEPT_KEYWORD_HITS = 4096


class ChromaStore(RecordsEmbedding):
    backend = "Chroma"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client = _client(settings)
        pinned = settings.index_version
        self.version = (
            checked_version(settings.collection, pinned) if pinned else self._live_or_first()
        )
        self._collection = self._open_collection(self.version)
        self._keywords_checked = -math.inf
        self._keywords_lock = threading.Lock()
        self._hit_nodes: dict[str, BaseNode] = {}  # keyword hits' chunks, by id (see above)
        self._hit_nodes_revision: str | None = None

    @cached_property
    def keywords(self) -> KeywordIndex:
        """The keyword index beside the collection (see ``keywords``), kept whether or not
        ``hybrid_search`` is on, so turning it on needs no new ingestion."""
        private_dir(self._settings.data_dir)
        return KeywordIndex(self._keywords_path(self.version))

    @cached_property
    def vector_store(self) -> "ChromaVectors":
        # Imported on first use: reading what is stored (planning a run) needs Chroma only.
        from .chroma_vectors import ChromaVectors

        return ChromaVectors(chroma_collection=self._collection)

    def similarity(self, hit: "NodeWithScore", query_vector: Sequence[float]) -> float | None:
        # LlamaIndex reports exp(-distance), and the collection's distance is the cosine distance.
        return 1 + math.log(hit.score) if hit.score else None

    @property
    def query_modes(self) -> tuple["VectorStoreQueryMode", ...]:
        from llama_index.core.vector_stores.types import VectorStoreQueryMode

        return (VectorStoreQueryMode.DEFAULT,)  # keywords come from keyword_retrievers

    def keyword_retrievers(self, access: Sequence[str], limit: int) -> list["BaseRetriever"]:
        if not self._settings.hybrid_search:
            return []
        from .keyword_retriever import KeywordRetriever

        return [KeywordRetriever(self.search_keywords, self.keyword_hit_nodes, access, limit)]

    def search_keywords(
        self, question: str, access: Sequence[str], limit: int
    ) -> list[tuple[str, float]]:
        """The keyword index's best chunk ids for ``question``, with their scores, once the index
        follows what other processes wrote."""
        self._refresh_keywords()
        return self.keywords.search(question, access, limit)

    def keyword_hit_nodes(self, ids: Sequence[str]) -> list["BaseNode"]:
        """The chunks of ``ids`` that the collection holds, in that order."""
        kept = self._hit_nodes
        missing = [i for i in ids if i not in kept]
        read: dict[str, BaseNode] = {}
        if missing:
            read = {node.node_id: node for node in self.vector_store.get_nodes(missing)}
            with self._keywords_lock:
                if kept is self._hit_nodes:  # not forgotten meanwhile (a write, a new revision)
                    if len(kept) + len(read) <= KEPT_KEYWORD_HITS:
                        kept.update(read)
                    else:
                        self._hit_nodes = read
        nodes = (kept.get(i) or read.get(i) for i in ids)
        return [node for node in nodes if node is not None]

    def _refresh_keywords(self) -> None:
        """Fill the keyword index from the collection when another process changed it, and forget
        the chunks read at an earlier revision."""
        with self._keywords_lock:
            if time.monotonic() - self._keywords_checked < REVISION_CHECK_S:
                return
            revision = self._revision()
            if self.keywords.revision != revision:
                self.keywords.fill(self._all_rows())
                self.keywords.revision = revision
            if self._hit_nodes_revision != revision:
                self._hit_nodes, self._hit_nodes_revision = {}, revision
            self._keywords_checked = time.monotonic()

    def documents(self) -> dict[str, StoredDocument]:
        return stored_documents(self._all_metadata())

    def _record(self, version: str) -> dict[str, object]:
        metadata = self._open_collection(version).metadata or {}
        return {k: v for k, v in metadata.items() if not k.startswith("hnsw:")}

    def _write_record(self, version: str, record: Mapping[str, object]) -> None:
        self._modify_metadata(self._open_collection(version), record)

    def replace_documents(self, documents: Mapping[str, Sequence["BaseNode"]]) -> None:
        before = self._revision_before_write()
        self.keywords.replace(documents)  # first: a run that dies next writes them again
        self._delete_vectors(list(documents))
        nodes = [node for chunks in documents.values() for node in chunks]
        if nodes:
            self.vector_store.add(nodes)  # LlamaIndex splits it to Chroma's largest batch
        self._new_revision(before)

    def delete_documents(self, document_ids: Iterable[str]) -> None:
        before = self._revision_before_write()
        ids = list(document_ids)
        self._delete_vectors(ids)
        self.keywords.delete(ids)
        self._new_revision(before)

    def _revision(self) -> str:
        """The collection's revision; "" for one never written since revisions exist."""
        return str(self._metadata().get(REVISION_KEY, ""))

    def _revision_before_write(self) -> dict[str, object]:
        """The collection's metadata before a write: its revision, and what the write keeps."""
        metadata = self._metadata()
        new = REVISION_KEY not in metadata and self.keywords.revision is None
        if new and self.keywords.count() == 0 and self.count() == 0:  # both new, both empty
            self.keywords.revision = ""
        return metadata

    def _new_revision(self, before: dict[str, object]) -> None:
        revision = uuid.uuid4().hex
        self._modify_metadata(self._collection, {**before, REVISION_KEY: revision})
        # An index that was current before the write holds the write too.
        if self.keywords.revision == str(before.get(REVISION_KEY, "")):
            self.keywords.revision = revision
        self._forget_hit_nodes()

    def _forget_hit_nodes(self) -> None:
        with self._keywords_lock:
            self._hit_nodes, self._hit_nodes_revision = {}, None

    def _metadata(self) -> dict[str, object]:
        """The collection's metadata as the server has it now (a Collection object caches it)."""
        return self._record(self.version)

    @staticmethod
    def _modify_metadata(collection: Collection, metadata: Mapping[str, object]) -> None:
        # modify() replaces the whole mapping; Chroma refuses changes to its own hnsw: keys.
        kept = {k: v for k, v in metadata.items() if not k.startswith("hnsw:")}
        collection.modify(metadata=cast(Any, kept))

    def _delete_vectors(self, ids: list[str]) -> None:
        for start in range(0, len(ids), PAGE):
            # mypy cannot narrow the "$in" key to Chroma's Literal type inside the union
            where = cast(Where, {"document_id": {"$in": ids[start : start + PAGE]}})
            self._collection.delete(where=where)

    def count(self) -> int:
        return self._collection.count()

    # Versions (see versions.py)
    def live_version(self) -> str:
        pointer = self._client.get_collection(self._pointer_name, embedding_function=None)
        return str((pointer.metadata or {})[LIVE_KEY])

    def versions(self) -> list[IndexVersion]:
        collection = self._settings.collection
        found = []
        for listed in self._client.list_collections():
            number = version_number(collection, listed.name)
            if number is not None:
                record = dict(listed.metadata or {})
                found.append(version_of(listed.name, number, record, listed.count()))
        return sorted(found, key=lambda version: version.number)

    def create_version(self, name: str, record: dict[str, str]) -> None:
        self._client.get_or_create_collection(
            name,
            configuration={"hnsw": {"space": "cosine"}},
            metadata=cast(Any, record),
            embedding_function=None,
        )

    def switch_live(self, name: str) -> None:
        pointer = self._client.get_collection(self._pointer_name, embedding_function=None)
        pointer.modify(metadata={LIVE_KEY: name})

    def drop_version(self, name: str) -> None:
        if name == self.live_version():
            raise ValueError(f"{name} is the live index version")
        self._client.delete_collection(name)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self._keywords_path(name)}{suffix}").unlink(missing_ok=True)

    @property
    def _pointer_name(self) -> str:
        return f"{self._settings.collection}__live"

    def _live_or_first(self) -> str:
        """The live version; without a pointer, the collection from before versions (if any) or a
        new empty version 1 becomes live."""
        try:
            return self.live_version()
        except NotFoundError:
            pass
        collection = self._settings.collection
        names = {listed.name for listed in self._client.list_collections()}
        first = collection if collection in names else version_name(collection, 1)
        if first != collection:
            self.create_version(first, new_record(READY))
        # Two processes starting at once both choose the same first version.
        self._client.get_or_create_collection(
            self._pointer_name, metadata={LIVE_KEY: first}, embedding_function=None
        )
        return self.live_version()

    def _keywords_path(self, version: str) -> Path:
        return self._settings.data_dir / f"keywords-{version}.db"

    def _open_collection(self, version: str) -> Collection:
        try:
            return self._client.get_collection(version, embedding_function=None)
        except NotFoundError:
            raise ValueError(f"no index version {version!r} in Chroma") from None

    def _all_metadata(self) -> Iterable[Mapping[str, object]]:
        return (meta for _, _, meta in self._all_chunks(with_text=False))

    def _all_rows(self) -> Iterable[tuple[str, str, str, str, str, str]]:
        return (row_of(i, text, meta) for i, text, meta in self._all_chunks(with_text=True))

    def _all_chunks(self, with_text: bool) -> Iterable[tuple[str, str, Mapping[str, object]]]:
        """Every chunk's id, text (when asked for) and metadata, a page at a time."""
        offset = 0
        while True:
            include: Include = ["metadatas", "documents"] if with_text else ["metadatas"]
            page = self._collection.get(include=include, limit=PAGE, offset=offset)
            metadatas = page["metadatas"] or []
            texts = page["documents"] or [""] * len(metadatas)
            for node_id, text, meta in zip(page["ids"], texts, metadatas, strict=True):
                if meta:
                    yield node_id, text or "", meta
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
    server = settings.chroma_url or server_url(
        settings.data_dir, settings.chroma_server_idle_minutes
    )
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
