"""Planning an ingestion run and summing it up: what each source added, changed and removed since the
store was written, by content hash. Nothing here chunks or embeds, so a run with nothing to do stays
light: no LlamaIndex, no model.

Deletions are planned per source: a source that cannot be read (a site down, a repository gone)
deletes nothing.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from ..config import Settings
from ..index.store import open_store
from ..index.store_base import StoredDocument
from .chunking import CHUNKING_VERSION
from .formats import FORMATS_VERSION
from .sources import SkippedFile, Source, Unchanged, source_configs

log = logging.getLogger(__name__)


@dataclass
class IngestPlan:
    sources: list[str]
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    failed_sources: list[dict[str, str]] = field(default_factory=list)

    @property
    def to_ingest(self) -> list[str]:
        return self.added + self.changed

    def batches(self, size: int) -> list[list[str]]:
        todo = self.to_ingest
        return [todo[i : i + size] for i in range(0, len(todo), size)]


@dataclass
class BatchResult:
    documents: int = 0
    chunks: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)


@dataclass
class IngestSummary:
    added: int
    changed: int
    deleted: int
    unchanged: int
    chunks: int
    skipped: list[dict[str, str]]
    failed: list[dict[str, str]]
    failed_sources: list[dict[str, str]] = field(default_factory=list)

    def as_text(self) -> str:
        lines = [
            f"added {self.added}, changed {self.changed}, deleted {self.deleted}, "
            f"unchanged {self.unchanged}, chunks written {self.chunks}, "
            f"skipped {len(self.skipped)}, failed {len(self.failed)}"
        ]
        lines += [f"  source {s['source']} FAILED: {s['reason']}" for s in self.failed_sources]
        lines += [
            f"  skipped {item['source']}:{item['path']}: {item['reason']}" for item in self.skipped
        ]
        lines += [f"  failed {item['document']}: {item['reason']}" for item in self.failed]
        return "\n".join(lines)


def plan_ingest(
    settings: Settings, sources: Sequence[Source], *, full_refresh: bool = False
) -> IngestPlan:
    """Bring each source's local copy up to date and compare it with the store by content hash.

    Nothing is embedded here. ``full_refresh`` drops the whole index when every configured source
    runs, else only the documents of the sources that run.
    """
    store = open_store(settings)
    names = [source.name for source in sources]
    if full_refresh:
        if {config.name for config in source_configs(settings)} <= set(names):
            store.clear()
        else:
            store.delete_documents(
                [d for d, doc in store.documents().items() if doc.source in names]
            )
    stored = store.documents()
    plan = IngestPlan(sources=names)
    for source in sources:
        try:
            _plan_source(source, stored, pipeline_of(settings), plan)
        except Exception as error:  # one source failing must not stop, or delete, the others
            log.exception("source %s failed", source.name)
            plan.failed_sources.append({"source": source.name, "reason": _reason(error)})
    return plan


def pipeline_of(settings: Settings) -> str:
    """How this run turns documents into chunks. A document stored with another pipeline counts as
    changed, so a run with another chunking re-chunks everything and the index never mixes two."""
    redaction = "redacted" if settings.redact else "verbatim"
    return (
        f"{settings.chunking}/{settings.chunk_size}/{settings.chunk_overlap}/{redaction}"
        f"/window-{settings.passage_window}/formats-{FORMATS_VERSION}/chunking-{CHUNKING_VERSION}"
    )


def _plan_source(
    source: Source, stored: Mapping[str, StoredDocument], pipeline: str, plan: IngestPlan
) -> None:
    """Add this source's new, changed, unchanged and gone documents to the plan, all or nothing."""
    source.sync()
    part = IngestPlan(sources=[source.name])
    ours = {doc_id for doc_id, doc in stored.items() if doc.source == source.name}
    current = {
        doc_id for doc_id in ours if stored[doc_id].complete and stored[doc_id].pipeline == pipeline
    }
    known = {doc_id: stored[doc_id].content_hash for doc_id in current}
    seen: set[str] = set()
    for item in source.scan(known):
        if isinstance(item, Unchanged):
            seen.add(item.id)
            part.unchanged += 1
            continue
        if isinstance(item, SkippedFile):
            log.warning("skipped %s:%s: %s", source.name, item.path, item.reason)
            part.skipped.append({"source": source.name, **asdict(item)})
            continue
        seen.add(item.id)
        previous = stored.get(item.id)
        if previous is None:
            part.added.append(item.id)
        elif item.id not in current or previous.content_hash != item.content_hash:
            part.changed.append(item.id)
        else:
            part.unchanged += 1
    plan.added += part.added
    plan.changed += part.changed
    plan.deleted += sorted(ours - seen)
    plan.unchanged += part.unchanged
    plan.skipped += part.skipped


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def remove_sources(settings: Settings, names: Sequence[str]) -> int:
    """Delete every document of these sources (an ad-hoc folder, a source dropped from the
    configuration); return how many."""
    if not names:
        return 0
    store = open_store(settings)
    gone = [doc_id for doc_id, doc in store.documents().items() if doc.source in set(names)]
    store.delete_documents(gone)
    return len(gone)


def indexed_sources(settings: Settings) -> dict[str, int]:
    """How many documents the index holds of each source."""
    counts: dict[str, int] = {}
    for doc in open_store(settings).documents().values():
        counts[doc.source] = counts.get(doc.source, 0) + 1
    return dict(sorted(counts.items()))


def prune(settings: Settings, document_ids: Sequence[str]) -> int:
    """Delete documents that are gone from their source."""
    if document_ids:
        open_store(settings).delete_documents(document_ids)
    return len(document_ids)


def summarise(plan: IngestPlan, results: Sequence[BatchResult], deleted: int) -> IngestSummary:
    failed = [item for result in results for item in result.failed]
    failed_ids = {item["document"] for item in failed}
    return IngestSummary(
        added=len([d for d in plan.added if d not in failed_ids]),
        changed=len([d for d in plan.changed if d not in failed_ids]),
        deleted=deleted,
        unchanged=plan.unchanged,
        chunks=sum(result.chunks for result in results),
        skipped=plan.skipped,
        failed=failed,
        failed_sources=plan.failed_sources,
    )
