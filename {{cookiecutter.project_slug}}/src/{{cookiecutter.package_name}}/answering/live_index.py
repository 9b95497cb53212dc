"""The index version a long-running reader (the UI) answers from: the live one, followed through
promotions.

A promotion or a rollback switches the live version's pointer (see ``index.versions``). Every
``VERSION_CHECK_S`` seconds a question first reads the pointer; when it names another version, the
reader opens that version, with the embedding model its vectors come from, and the next questions
use it. A question under way finishes on the version it started on, which is still kept
(``keep_versions`` is at least 2). With ``index_version`` set, the reader stays on that version.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from llama_index.core.base.embeddings.base import BaseEmbedding

from ..config import Settings
from ..index.embeddings import embedding_model, embedding_of_version
from ..index.store import open_store
from ..index.store_base import DocumentStore

log = logging.getLogger(__name__)
VERSION_CHECK_S = 5.0
Search = TypeVar("Search")


@dataclass
class Reading(Generic[Search]):
    """One index version as a reader uses it: its store, its model, what searches it."""

    store: DocumentStore
    embed: BaseEmbedding
    search: Search
    embedding_checked: bool = field(default=False)  # the store's model matches ``embed``


class LiveIndex(Generic[Search]):
    def __init__(
        self, settings: Settings, search: Callable[[DocumentStore, BaseEmbedding], Search]
    ) -> None:
        self._settings = settings
        self._search = search
        self._lock = threading.Lock()
        self._reading = self._open(open_store(settings))
        self._checked = time.monotonic()

    def current(self) -> Reading[Search]:
        """The reading of the live version, checking the pointer when it is time to."""
        reading = self._reading
        due = time.monotonic() - self._checked >= VERSION_CHECK_S
        if self._settings.index_version is None and due and self._lock.acquire(blocking=False):
            try:  # one thread checks; the others go on with the version they have
                self._checked = time.monotonic()
                live = reading.store.live_version()
                if live != reading.store.version:
                    log.info("index version %s is live (was %s)", live, reading.store.version)
                    self._reading = reading = self._open(open_store(self._settings.pinned(live)))
            except Exception as error:  # the pointer unreadable for a moment: keep answering
                log.warning("could not read the live index version: %s", error)
            finally:
                self._lock.release()
        return reading

    def _open(self, store: DocumentStore) -> Reading[Search]:
        """The version's reading, embedding as its vectors were made (the configured model for a
        version that holds none yet)."""
        recorded = (store.recorded_model(), store.recorded_pipeline())
        embed = embedding_model(embedding_of_version(self._settings, *recorded))
        return Reading(store, embed, self._search(store, embed))
