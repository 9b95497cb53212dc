"""PostgreSQL with pgvector: a table of chunks per index version with an HNSW index (cosine), and
the live version named by a row of ``index_live``, switched in one transaction (see ``versions``).

With ``RAG_HYBRID_SEARCH=true`` the table also holds a full-text column, and each question retrieves by
vector and by PostgreSQL full-text search. The feedback tables live in the same database by default.
"""

import json
import re
from collections.abc import Iterable, Mapping, Sequence

import psycopg
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import BaseNode, MetadataMode, NodeWithScore
from llama_index.core.vector_stores.types import VectorStoreQueryMode
from llama_index.core.vector_stores.utils import node_to_metadata_dict
from llama_index.vector_stores.postgres import PGVectorStore
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from ..config import Settings, postgres_url
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

HNSW = {"hnsw_m": 16, "hnsw_ef_construction": 64, "hnsw_dist_method": "vector_cosine_ops"}


class PgVectorStore(RecordsEmbedding):
    backend = "pgvector"
    mismatch_hint = "Set RAG_EMBEDDING_DIMENSIONS={dimensions} too."

    def __init__(self, settings: Settings) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,50}", settings.collection):
            raise ValueError(
                f"collection {settings.collection!r} must be lowercase letters, digits and "
                "underscores: it names a PostgreSQL table"
            )
        self._settings = settings
        self._url = make_url(postgres_url(settings.database_url.get_secret_value()))
        # Client-side binding: LlamaIndex's store sends `SET ... = :value`, which server-side binding refuses.
        self._engine = create_engine(
            self._url, connect_args={"cursor_factory": psycopg.ClientCursor}, pool_pre_ping=True
        )
        self._wait_for_server()
        pinned = settings.index_version
        self.version = (
            checked_version(settings.collection, pinned) if pinned else self._live_or_first()
        )
        if not self._table_exists(self.version):
            known = ", ".join(v.name for v in self.versions()) or "none"
            raise ValueError(f"no index version {self.version!r} (versions: {known})")
        self.table = f"data_{self.version}"  # the name LlamaIndex gives the table
        self._vector_store = self._open_vector_store()

    @property
    def vector_store(self) -> PGVectorStore:
        # Checked here, on the query path, so that a full refresh (clear) can still open the store.
        if self._settings.hybrid_search and not self._has_column("text_search_tsv"):
            raise RuntimeError(
                f"Hybrid search needs a full-text column that table {self.table} lacks: rebuild it "
                "with a full refresh (`ingest --full-refresh`, or ingest_docs with full_refresh=true)."
            )
        return self._vector_store

    def similarity(self, hit: NodeWithScore, query_vector: Sequence[float]) -> float | None:
        return hit.score  # LlamaIndex reports 1 - cosine distance for vector search

    @property
    def query_modes(self) -> tuple[VectorStoreQueryMode, ...]:
        # Two ranked lists, fused by rank: LlamaIndex's own hybrid mode only concatenates them.
        if self._settings.hybrid_search:
            return (VectorStoreQueryMode.DEFAULT, VectorStoreQueryMode.SPARSE)
        return (VectorStoreQueryMode.DEFAULT,)

    def keyword_retrievers(self, access: Sequence[str], limit: int) -> list[BaseRetriever]:
        return []  # keywords are a query mode of the backend itself

    def documents(self) -> dict[str, StoredDocument]:
        query = text(
            "SELECT metadata_->>'document_id' AS document_id, metadata_->>'content_hash' AS content_hash, "
            f"metadata_->>'source' AS source, metadata_->>'chunk_count' AS chunk_count, "
            f"metadata_->>'pipeline' AS pipeline FROM {self.table}"
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return stored_documents(dict(row) for row in rows)

    def _record(self, version: str) -> dict[str, object]:
        with self._engine.connect() as connection:
            note = connection.execute(
                text("SELECT obj_description(to_regclass(:table), 'pg_class')"),
                {"table": f"data_{version}"},
            ).scalar()
        return dict(json.loads(note)) if note else {}

    def _write_record(self, version: str, record: Mapping[str, object]) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                text(f"COMMENT ON TABLE data_{version} IS :note"), {"note": json.dumps(record)}
            )

    def _unrecorded_dimensions(self) -> int | None:
        return self._column_dimensions()  # the table's vector column is sized already

    def replace_documents(self, documents: Mapping[str, Sequence[BaseNode]]) -> None:
        # One transaction: readers see the old chunks or the new ones, never a mix or nothing.
        nodes = [node for chunks in documents.values() for node in chunks]
        with self._engine.begin() as connection:
            connection.execute(
                text(f"DELETE FROM {self.table} WHERE metadata_->>'document_id' = ANY(:ids)"),
                {"ids": list(documents)},
            )
            if nodes:
                connection.execute(
                    text(
                        f"INSERT INTO {self.table} (node_id, text, metadata_, embedding) "
                        "VALUES (:node_id, :text, CAST(:metadata AS jsonb), CAST(:embedding AS vector))"
                    ),
                    [_row(node) for node in nodes],
                )

    def delete_documents(self, document_ids: Iterable[str]) -> None:
        ids = list(document_ids)
        if ids:
            with self._engine.begin() as connection:
                connection.execute(
                    text(f"DELETE FROM {self.table} WHERE metadata_->>'document_id' = ANY(:ids)"),
                    {"ids": ids},
                )

    # Versions (see versions.py)
    def live_version(self) -> str:
        with self._engine.connect() as connection:
            return str(
                connection.execute(
                    text("SELECT version FROM index_live WHERE collection = :collection"),
                    {"collection": self._settings.collection},
                ).scalar_one()
            )

    def versions(self) -> list[IndexVersion]:
        collection = self._settings.collection
        with self._engine.connect() as connection:
            tables = connection.execute(
                text(
                    "SELECT relname, obj_description(oid, 'pg_class') FROM pg_class "
                    "WHERE relkind = 'r' AND relname LIKE :prefix"
                ),
                {"prefix": f"data_{collection}%"},
            ).all()
            found = []
            for table, note in tables:
                name = table.removeprefix("data_")
                number = version_number(collection, name)
                if number is not None:
                    chunks = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                    record = json.loads(note) if note else {}
                    found.append(version_of(name, number, record, int(chunks)))
        return sorted(found, key=lambda version: version.number)

    def create_version(self, name: str, record: dict[str, str]) -> None:
        self._open_vector_store(name)  # creates the table and its indexes
        self._write_record(name, record)

    def switch_live(self, name: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                text(
                    "UPDATE index_live SET version = :version, switched_at = now() "
                    "WHERE collection = :collection"
                ),
                {"version": name, "collection": self._settings.collection},
            )

    def drop_version(self, name: str) -> None:
        if name == self.live_version():
            raise ValueError(f"{name} is the live index version")
        with self._engine.begin() as connection:
            connection.execute(text(f"DROP TABLE IF EXISTS data_{name}"))

    def _live_or_first(self) -> str:
        """The live version; on a database without one, the table from before versions (if any)
        or a new empty version 1 becomes live."""
        collection = self._settings.collection
        with self._engine.begin() as connection:
            connection.execute(
                text(
                    "CREATE TABLE IF NOT EXISTS index_live (collection text PRIMARY KEY, "
                    "version text NOT NULL, switched_at timestamptz NOT NULL DEFAULT now())"
                )
            )
            if connection.execute(
                text("SELECT 1 FROM index_live WHERE collection = :collection"),
                {"collection": collection},
            ).first():
                return self.live_version()
        first = collection if self._table_exists(collection) else version_name(collection, 1)
        if first != collection:
            self.create_version(first, new_record(READY))
        with self._engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO index_live (collection, version) VALUES (:collection, :version) "
                    "ON CONFLICT (collection) DO NOTHING"
                ),
                {"collection": collection, "version": first},
            )
        return self.live_version()

    def _table_exists(self, version: str) -> bool:
        with self._engine.connect() as connection:
            return connection.execute(
                text("SELECT to_regclass(:table) IS NOT NULL"), {"table": f"data_{version}"}
            ).scalar_one()

    def count(self) -> int:
        with self._engine.connect() as connection:
            return int(connection.execute(text(f"SELECT count(*) FROM {self.table}")).scalar_one())

    def ping(self) -> None:
        # Not count(*): that reads the whole table, for every probe.
        with self._engine.connect() as connection:
            connection.execute(text(f"SELECT 1 FROM {self.table} LIMIT 1"))

    def _open_vector_store(self, version: str | None = None) -> PGVectorStore:
        store = PGVectorStore(
            engine=self._engine,
            async_engine=create_async_engine(self._url),
            table_name=version or self.version,
            embed_dim=self._settings.embedding_dimensions,
            hybrid_search=self._settings.hybrid_search,
            text_search_config=self._settings.text_search_config,
            use_jsonb=True,
            hnsw_kwargs=dict(HNSW),
            initialization_fail_on_error=True,
        )
        store._initialize()  # creates the extension, table and indexes now, not on the first query
        return store

    def _wait_for_server(self) -> None:
        def connect() -> None:
            with self._engine.connect():
                pass

        where = self._url.render_as_string(hide_password=True)
        connect_with_retries(connect, "PostgreSQL", where, (OperationalError,))

    def _column_dimensions(self) -> int | None:
        with self._engine.connect() as connection:
            column_type = connection.execute(
                text(
                    "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                    "WHERE attrelid = to_regclass(:table) AND attname = 'embedding'"
                ),
                {"table": self.table},
            ).scalar()
        found = re.search(r"\((\d+)\)", column_type or "")
        return int(found.group(1)) if found else None

    def _has_column(self, name: str) -> bool:
        with self._engine.connect() as connection:
            return bool(
                connection.execute(
                    text(
                        "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(:table) "
                        "AND attname = :name AND NOT attisdropped"
                    ),
                    {"table": self.table, "name": name},
                ).first()
            )


def open_store(settings: Settings) -> PgVectorStore:
    return PgVectorStore(settings)


def _row(node: BaseNode) -> dict[str, str]:
    return {
        "node_id": node.node_id,
        "text": node.get_content(metadata_mode=MetadataMode.NONE),
        "metadata": json.dumps(node_to_metadata_dict(node, remove_text=True, flat_metadata=False)),
        "embedding": json.dumps(node.get_embedding()),
    }
