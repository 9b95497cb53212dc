"""A keyword index beside Chroma's collection: SQLite full-text search (FTS5, BM25 ranking, Porter
stemming) over each chunk's title, section and text.

Chroma offers vector search only (its hybrid search is for hosted Chroma), and a small embedding model
is weak on exact words: option names, error codes, commands. With ``RAG_HYBRID_SEARCH`` on, this index
gives a second ranked list, fused with the vectors' by reciprocal rank. Ingestion keeps it in step:
the store writes a document's rows here before its vectors, in one transaction, so a run that dies
leaves at worst rows of a document the next run writes again (and rows without vectors are dropped at
query time). The index is this machine's copy of the collection's words: where other machines write
to the same Chroma server (workers of a deployment), a reader fills it again from the collection when
the collection's revision changed (see ``ChromaStore``).
SQLite only: planning a run reads the store without loading LlamaIndex.
"""

import re
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..security.private_files import private_file

if TYPE_CHECKING:
    from llama_index.core.schema import BaseNode

MAX_TERMS = 32  # words of a question that are searched
TITLE_WEIGHT, SECTION_WEIGHT, TEXT_WEIGHT = 2.0, 1.5, 1.0  # BM25 weight of a match in each column
SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY, node_id TEXT NOT NULL UNIQUE, document_id TEXT NOT NULL,
    access TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_document ON chunks (document_id);
CREATE VIRTUAL TABLE IF NOT EXISTS words USING fts5(
    title, section, text, tokenize = 'porter unicode61'
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
Row = tuple[str, str, str, str, str, str]  # node id, document id, access, title, section, text


def terms(question: str) -> list[str]:
    """The question's distinct words, each quoted: FTS5 reads nothing in them as syntax."""
    words = dict.fromkeys(word for word in re.findall(r"\w+", question.lower()) if len(word) > 1)
    return [f'"{word}"' for word in list(words)[:MAX_TERMS]]


class KeywordIndex:
    def __init__(self, path: Path) -> None:
        private_file(path)
        # Several processes share it (the UI, Airflow tasks, the CLI): WAL lets readers run while one
        # writes, and a writer waits its turn instead of failing.
        self._db = sqlite3.connect(path, timeout=60, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        with self._db:
            self._db.executescript(SCHEMA)
        # The UI answers several questions at once: one connection, used by one thread at a time
        # (not every SQLite build lets threads share a connection).
        self._lock = threading.Lock()

    def replace(self, documents: Mapping[str, Sequence["BaseNode"]]) -> None:
        """Each document's rows replaced by its chunks', in one transaction."""
        rows = [_row(node) for chunks in documents.values() for node in chunks]
        with self._lock, self._db:
            self._delete(documents)
            self._insert(rows)

    def delete(self, document_ids: Iterable[str]) -> None:
        with self._lock, self._db:
            self._delete(document_ids)

    def fill(self, rows: Iterable[Row]) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM words")
            self._db.execute("DELETE FROM chunks")
            self._insert(rows)

    @property
    def revision(self) -> str | None:
        """The collection's revision this index holds (see ``ChromaStore``); None: unknown."""
        with self._lock:
            found = self._db.execute("SELECT value FROM state WHERE key = 'revision'").fetchone()
        return str(found[0]) if found else None

    @revision.setter
    def revision(self, value: str | None) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM state WHERE key = 'revision'")
            if value is not None:
                self._db.execute("INSERT INTO state VALUES ('revision', ?)", (value,))

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def search(self, question: str, access: Sequence[str], limit: int) -> list[tuple[str, float]]:
        """Chunk ids labelled one of ``access`` that match any word of ``question``, best first, with
        their BM25 scores (higher is better)."""
        words = terms(question)
        if not words or not access:
            return []
        labels = ", ".join("?" for _ in access)
        query = (
            f"SELECT chunks.node_id, -bm25(words, {TITLE_WEIGHT}, {SECTION_WEIGHT}, {TEXT_WEIGHT}) "
            "FROM words JOIN chunks ON chunks.rowid = words.rowid "
            f"WHERE words MATCH ? AND chunks.access IN ({labels}) ORDER BY 2 DESC LIMIT ?"
        )
        with self._lock:
            found = self._db.execute(query, (" OR ".join(words), *access, limit)).fetchall()
        return [(str(node_id), float(score)) for node_id, score in found]

    def _delete(self, document_ids: Iterable[str]) -> None:
        for document_id in document_ids:
            rowids = "SELECT rowid FROM chunks WHERE document_id = ?"
            self._db.execute(f"DELETE FROM words WHERE rowid IN ({rowids})", (document_id,))
            self._db.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))

    def _insert(self, rows: Iterable[Row]) -> None:
        for node_id, document_id, access, title, section, text in rows:
            self._db.execute("DELETE FROM chunks WHERE node_id = ?", (node_id,))  # no duplicates
            cursor = self._db.execute(
                "INSERT INTO chunks (node_id, document_id, access) VALUES (?, ?, ?)",
                (node_id, document_id, access),
            )
            self._db.execute(
                "INSERT INTO words (rowid, title, section, text) VALUES (?, ?, ?, ?)",
                (cursor.lastrowid, title, section, text),
            )


def row_of(node_id: str, text: str, meta: Mapping[str, object]) -> Row:
    return (
        node_id,
        str(meta.get("document_id", "")),
        str(meta.get("access", "internal")),
        str(meta.get("title", "")),
        str(meta.get("section", "")),
        text,
    )


def _row(node: "BaseNode") -> Row:
    from llama_index.core.schema import MetadataMode  # loaded already: the node is LlamaIndex's

    return row_of(node.node_id, node.get_content(metadata_mode=MetadataMode.NONE), node.metadata)
