"""Index versions: a rebuild happens beside the index that answers, never in it.

An index version is a collection (or table) named ``<collection>__v<n>``; it records its embedding
model (and, for a fine-tuned model, the configured model it was tuned from), its pipeline (how
documents were chunked) and whether it is complete. Readers answer from the
**live** version, named by one pointer that the backend switches in one step (a row, a record or an
alias: see ``store.py``). A full refresh, or a change of embedding model or chunking, builds a new
version while the live one keeps answering; ``promote`` points readers at it once it is complete,
``rollback`` points them back, and versions beyond ``keep_versions`` are dropped. Incremental runs write to the live version. An index from before versions existed, named
``<collection>`` alone, is version 0.

Nothing here knows a backend: each store offers the few operations of ``VersionedStore``.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

SEPARATOR = "__v"
BUILDING, READY = "building", "ready"


@dataclass(frozen=True)
class IndexVersion:
    name: str
    number: int
    state: str  # BUILDING until every document is written, then READY
    embedding_model: str | None  # recorded with the first chunk written
    # The configured model this version answers for: its own, or the one a fine-tuned model was
    # trained from (see ``writing_model``); None where it is its own.
    base_model: str | None
    pipeline: str | None  # None for an index from before versions recorded it
    created_at: str
    chunks: int

    @property
    def ready(self) -> bool:
        return self.state == READY


class VersionedStore(Protocol):
    """What a backend offers for versions; ``version`` is the one this store object reads and writes."""

    version: str

    def live_version(self) -> str:
        """The version readers answer from, read from the pointer now (no caching)."""
        ...

    def versions(self) -> list[IndexVersion]: ...

    def create_version(self, name: str, record: dict[str, str]) -> None:
        """An empty version with this record (state, pipeline, created_at)."""
        ...

    def update_record(self, version: str, **values: str) -> None:
        """Set these values in the version's record (state, pipeline), keeping the rest."""
        ...

    def switch_live(self, name: str) -> None:
        """Point readers at ``name``, in one step."""
        ...

    def drop_version(self, name: str) -> None: ...


class VersionError(RuntimeError):
    """A version that cannot be promoted, rolled back to or dropped; the message says why."""


def version_name(collection: str, number: int) -> str:
    return collection if number == 0 else f"{collection}{SEPARATOR}{number}"


def checked_version(collection: str, name: str) -> str:
    """``name``, if it names a version of ``collection``; else a ValueError that says so."""
    if version_number(collection, name) is None:
        raise ValueError(
            f"{name!r} is not a version of collection {collection!r} "
            f"(versions are named {collection}{SEPARATOR}<n>)"
        )
    return name


def version_number(collection: str, name: str) -> int | None:
    """The number of ``name`` as a version of ``collection``; None if it is not one."""
    if name == collection:
        return 0
    found = re.fullmatch(re.escape(collection + SEPARATOR) + r"([1-9][0-9]{0,5})", name)
    return int(found[1]) if found else None


def new_record(state: str, pipeline: str | None = None, **models: str | None) -> dict[str, str]:
    """A version's first record; ``models`` may name its ``embedding_model`` and ``base_model``."""
    record = {"state": state, "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
    named = {key: value for key, value in models.items() if value}
    return record | ({"pipeline": pipeline} if pipeline else {}) | named


def version_of(name: str, number: int, record: dict[str, object], chunks: int) -> IndexVersion:
    """A version from what its backend recorded; one without a state predates versions: ready."""
    model, base, pipeline = (
        record.get(key) for key in ("embedding_model", "base_model", "pipeline")
    )
    return IndexVersion(
        name=name,
        number=number,
        state=str(record.get("state", READY)),
        embedding_model=str(model) if model else None,
        base_model=str(base) if base else None,
        pipeline=str(pipeline) if pipeline else None,
        created_at=str(record.get("created_at", "")),
        chunks=chunks,
    )


def rebuild_reason(
    live: IndexVersion, embedding_model: str, pipeline: str, full_refresh: bool
) -> str | None:
    """Why a run must build a new version instead of writing to the live one; None if it need not
    (an empty live version has nothing to keep answering with)."""
    if live.chunks == 0:
        return None
    if full_refresh:
        return "full refresh"
    answers_for = live.base_model or live.embedding_model
    if answers_for and answers_for != embedding_model:
        return f"embedding model {answers_for} -> {embedding_model}"
    if live.pipeline and live.pipeline != pipeline:
        return f"pipeline {live.pipeline} -> {pipeline}"
    return None


def current_version(store: VersionedStore) -> IndexVersion:
    """The record of the version ``store`` reads and writes (the live one, unless pinned)."""
    return by_name(store.versions(), store.version)


def writing_model(version: IndexVersion, configured: str) -> str:
    """The model that embeds what is written to ``version``: the one its vectors come from, when that
    is the configured model or a fine-tuning of it (incremental runs keep a promoted fine-tuned
    model); otherwise the configured one, and the store refuses the write until a rebuild."""
    if version.embedding_model and (version.base_model or version.embedding_model) == configured:
        return version.embedding_model
    return configured


def start_build(
    store: VersionedStore,
    collection: str,
    pipeline: str,
    model: str | None = None,
    base_model: str | None = None,
) -> str:
    """The version a rebuild writes to: an unfinished one of the same pipeline and ``model``, newer
    than the live one (a run that failed before its end is resumed, not repeated), or a new one
    recording ``model`` and, for a fine-tuned model, the ``base_model`` it was tuned from. Other
    unfinished versions are dropped: they were built for settings no longer wanted."""
    versions = store.versions()
    live = by_name(versions, store.live_version())
    resumable = [
        v
        for v in versions
        if not v.ready
        and v.number > live.number
        and v.pipeline == pipeline
        and (model is None or v.embedding_model in (None, model))
    ]
    for stale in versions:
        if not stale.ready and stale not in resumable[-1:]:
            store.drop_version(stale.name)
    if resumable:
        return resumable[-1].name
    name = version_name(collection, max(v.number for v in versions) + 1)
    store.create_version(
        name, new_record(BUILDING, pipeline, embedding_model=model, base_model=base_model)
    )
    return name


def finish_build(store: VersionedStore, name: str, keep: int) -> list[str]:
    """Mark a complete build ready, make it live, and drop what ``keep`` does not keep."""
    store.update_record(name, state=READY)
    store.switch_live(name)
    return prune_versions(store, keep)


def promote(store: VersionedStore, name: str | None = None) -> str:
    """Make ``name`` live (default: the newest ready version newer than the live one)."""
    versions = store.versions()
    live = by_name(versions, store.live_version())
    if name is None:
        newer = [v for v in versions if v.ready and v.number > live.number]
        if not newer:
            raise VersionError(f"no complete version newer than the live one ({live.name})")
        name = newer[-1].name
    chosen = by_name(versions, name)
    if not chosen.ready:
        raise VersionError(f"{name} is not complete: its build has not finished")
    store.switch_live(name)
    return name


def rollback(store: VersionedStore) -> str:
    """Make the newest complete version older than the live one live again."""
    versions = store.versions()
    live = by_name(versions, store.live_version())
    older = [v for v in versions if v.ready and v.number < live.number]
    if not older:
        raise VersionError(f"no complete version older than the live one ({live.name}) is kept")
    store.switch_live(older[-1].name)
    return older[-1].name


def prune_versions(store: VersionedStore, keep: int) -> list[str]:
    """Drop the oldest complete versions beyond ``keep`` (the live one counts, and is never
    dropped); unfinished builds are left to ``start_build``."""
    live = store.live_version()
    others = [v for v in store.versions() if v.ready and v.name != live]
    dropped = [v.name for v in others[: max(0, len(others) - (keep - 1))]]
    for name in dropped:
        store.drop_version(name)
    return dropped


def by_name(versions: Sequence[IndexVersion], name: str) -> IndexVersion:
    for version in versions:
        if version.name == name:
            return version
    known = ", ".join(v.name for v in versions) or "none"
    raise VersionError(f"no index version {name!r} (versions: {known})")
