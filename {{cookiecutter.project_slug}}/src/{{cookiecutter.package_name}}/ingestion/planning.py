"""Planning an ingestion run and summing it up: what each source added, changed and removed since the
store was written, by content hash. Nothing here chunks or embeds, so a run with nothing to do stays
light: no LlamaIndex, no model.

Deletions are planned per source: a source that cannot be read (a site down, a repository gone)
deletes nothing.

A run that must rebuild the index (a full refresh, another embedding model, other chunking, or an
experiment's candidate) writes to a new index version beside the live one, and the live one keeps
answering until the new one is complete and promoted (see ``index.versions``); other runs write to the
live version, with the model its vectors come from.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..config import Settings
from ..index.store import open_store
from ..index.store_base import StoredDocument
from ..index.versions import current_version, rebuild_reason, start_build, writing_model
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
    version: str = ""  # the index version the run writes to
    rebuild: str | None = None  # why it builds a new version; None when it writes to the live one
    embedding_model: str = ""  # what embeds the chunks: the version's model (see writing_model)

    def target(self, settings: Settings) -> Settings:
        """``settings`` writing to the run's version with the run's model."""
        return settings.pinned(self.version, self.embedding_model or None)

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
    version: str = ""  # the index version written to
    rebuild: str | None = None  # why the run built a new version (see IngestPlan)
    released: str = ""  # what became of the new version (see release)

    @property
    def complete(self) -> bool:
        """Every source read and every document written."""
        return not (self.failed or self.failed_sources)

    def as_text(self) -> str:
        lines = [
            f"added {self.added}, changed {self.changed}, deleted {self.deleted}, "
            f"unchanged {self.unchanged}, chunks written {self.chunks}, "
            f"skipped {len(self.skipped)}, failed {len(self.failed)}"
        ]
        if self.rebuild:
            lines.append(f"new index version {self.version} ({self.rebuild}): {self.released}")
        lines += [f"  source {s['source']} FAILED: {s['reason']}" for s in self.failed_sources]
        lines += [
            f"  skipped {item['source']}:{item['path']}: {item['reason']}" for item in self.skipped
        ]
        lines += [f"  failed {item['document']}: {item['reason']}" for item in self.failed]
        return "\n".join(lines)

    def problems(self) -> str:
        """What kept the run from being complete, failed documents grouped by reason (a model that
        cannot load fails them all alike); empty when it is complete."""
        lines = [f"source {s['source']}: {s['reason']}" for s in self.failed_sources]
        by_reason: dict[str, list[str]] = {}
        for item in self.failed:
            by_reason.setdefault(item["reason"], []).append(item["document"])
        for reason, documents in by_reason.items():
            named = ", ".join(documents[:3]) + (", ..." if len(documents) > 3 else "")
            lines.append(f"{len(documents)} document(s) not ingested ({named}): {reason}")
        return "\n".join(lines)


def plan_ingest(
    settings: Settings,
    sources: Sequence[Source],
    *,
    full_refresh: bool = False,
    trial: bool = False,
    tuned_model: str | None = None,
) -> IngestPlan:
    """Bring each source's local copy up to date and compare it with the index by content hash.

    Nothing is embedded here. When every configured source runs, a full refresh or a change of
    embedding model or chunking plans a new index version (added and changed are then counted
    against the live one); a full refresh of some sources only rewrites theirs in the live version.
    A ``trial`` (an experiment's candidate: these settings, or a ``tuned_model``, a fine-tuning of the
    configured model) always plans a new version of every source.
    """
    store = open_store(settings)
    names = [source.name for source in sources]
    pipeline = pipeline_of(settings)
    everything = {config.name for config in source_configs(settings)} <= set(names)
    trial = trial or tuned_model is not None
    if trial and not (everything and settings.index_version is None):
        raise ValueError("a trial builds a new version of every source")
    current = current_version(store)
    model = tuned_model or writing_model(current, settings.embedding_model)
    reason = None
    if everything and settings.index_version is None:
        reason = rebuild_reason(current, settings.embedding_model, pipeline, full_refresh)
        if tuned_model:
            reason = f"{reason}, " if reason else ""
            reason += f"fine-tuned model {Path(tuned_model).name}"
        elif trial and reason is None:
            raise ValueError(f"nothing to try: {current.name} is empty or built this way already")
        elif reason is None and current.pipeline is None and current.chunks == 0:
            store.update_record(store.version, pipeline=pipeline)  # a new index: this run's
    elif full_refresh:
        store.delete_documents([d for d, doc in store.documents().items() if doc.source in names])
    live_documents = store.documents()
    if reason:
        base = settings.embedding_model if model != settings.embedding_model else None
        target = start_build(store, settings.collection, pipeline, model, base)
        log.info("building index version %s beside %s: %s", target, store.version, reason)
        stored = open_store(settings.pinned(target)).documents()
    else:
        target, stored = store.version, live_documents
    plan = IngestPlan(sources=names, version=target, rebuild=reason, embedding_model=model)
    for source in sources:
        try:
            _plan_source(source, stored, live_documents, pipeline, plan)
        except Exception as error:  # one source failing must not stop, or delete, the others
            log.exception("source %s failed", source.name)
            plan.failed_sources.append({"source": source.name, "reason": _reason(error)})
    return plan


def writing_settings(settings: Settings) -> Settings:
    """``settings`` pinned to the version they write to now, with the model that embeds for it
    (a promoted fine-tuned model, where one is live)."""
    current = current_version(open_store(settings))
    return settings.pinned(current.name, writing_model(current, settings.embedding_model))


def pipeline_of(settings: Settings) -> str:
    """How this run turns documents into chunks. A document stored with another pipeline counts as
    changed, so a run with another chunking re-chunks everything and the index never mixes two."""
    redaction = "redacted" if settings.redact else "verbatim"
    pipeline = (
        f"{settings.chunking}/{settings.chunk_size}/{settings.chunk_overlap}/{redaction}"
        f"/window-{settings.passage_window}/formats-{FORMATS_VERSION}/chunking-{CHUNKING_VERSION}"
    )
{%- if cookiecutter.embeddings == "local" %}
    # Vectors of another runtime differ a little (int8 more): one version never mixes two. PyTorch
    # adds nothing, so indexes built before the setting existed are not rebuilt.
    if settings.embedding_backend != "torch":
        pipeline += f"/backend-{settings.embedding_backend}"
{%- endif %}
    return pipeline


def _plan_source(
    source: Source,
    stored: Mapping[str, StoredDocument],
    live: Mapping[str, StoredDocument],
    pipeline: str,
    plan: IngestPlan,
) -> None:
    """Add this source's new, changed, unchanged and gone documents to the plan, all or nothing.
    ``stored`` is what the run's version holds, ``live`` what readers see (the same, unless the
    run builds a new version): a document is new or gone as readers see it."""
    source.sync()
    part = IngestPlan(sources=[source.name])
    ours = {doc_id for doc_id, doc in [*stored.items(), *live.items()] if doc.source == source.name}
    current = {
        doc_id
        for doc_id, doc in stored.items()
        if doc.source == source.name and doc.complete and doc.pipeline == pipeline
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
        if item.id not in live and item.id not in stored:
            part.added.append(item.id)
        elif item.id not in current or stored[item.id].content_hash != item.content_hash:
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
    """Delete documents that are gone from their source (``settings`` pinned to the run's version)."""
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
        version=plan.version,
        rebuild=plan.rebuild,
    )
