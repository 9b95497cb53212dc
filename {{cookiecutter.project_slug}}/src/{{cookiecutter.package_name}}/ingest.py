"""The ingestion pipeline: plan what changed, ingest it in batches, prune what is gone, summarise.

Only documents whose content hash differs from the stored one are chunked and embedded. Each document's
chunks are replaced as a whole, and a document whose chunks are not all stored counts as changed, so a
re-run after a crash finishes the work and leaves no duplicates. Deletions are planned per source: a
source that cannot be read (a site down, a repository gone) deletes nothing. The Airflow DAG calls
these functions one task each; ``run_ingest`` runs them in one process for the CLI.
"""

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from llama_index.core.schema import MetadataMode, NodeRelationship, RelatedNodeInfo, TextNode

from .chunking import chunk_text
from .config import ChunkingStrategy, Settings
from .embeddings import embedding_model
from .redaction import redact
from .sources import (
    SkippedFile,
    Source,
    SourceDocument,
    Unchanged,
    select_sources,
    source_configs,
)
from .store import open_store
from .store_base import StoredDocument

log = logging.getLogger(__name__)

CHUNK_ID_NAMESPACE = uuid.UUID("6f1c1d3e-5b7a-4c1e-9a59-2f0c4b8e7d21")
EMBEDDED_METADATA = ("title", "section")  # the rest is lineage: stored, not embedded


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
            _plan_source(source, stored, plan)
        except Exception as error:  # one source failing must not stop, or delete, the others
            log.exception("source %s failed", source.name)
            plan.failed_sources.append({"source": source.name, "reason": _reason(error)})
    return plan


def _plan_source(source: Source, stored: Mapping[str, StoredDocument], plan: IngestPlan) -> None:
    """Add this source's new, changed, unchanged and gone documents to the plan, all or nothing."""
    source.sync()
    part = IngestPlan(sources=[source.name])
    ours = {doc_id for doc_id, doc in stored.items() if doc.source == source.name}
    known = {doc_id: stored[doc_id].content_hash for doc_id in ours if stored[doc_id].complete}
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
        elif not previous.complete or previous.content_hash != item.content_hash:
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


def source_of(sources: Sequence[Source], document_id: str) -> Source:
    name = document_id.split(":", 1)[0]
    for source in sources:
        if source.name == name:
            return source
    raise ValueError(f"document {document_id!r} belongs to no source of this run")


def ingest_batch(
    settings: Settings,
    sources: Sequence[Source],
    document_ids: Sequence[str],
    *,
    strategy: ChunkingStrategy | None = None,
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
    run_id: str = "manual",
    progress: Callable[[int], None] | None = None,
) -> BatchResult:
    """Chunk, embed (one batched call) and write these documents; a document that fails is reported.

    ``progress`` is called with the number of documents written.
    """
    result = BatchResult()
    documents: list[SourceDocument] = []
    for document_id in document_ids:
        item = source_of(sources, document_id).load(document_id)
        if isinstance(item, SkippedFile):
            result.failed.append({"document": document_id, "reason": item.reason})
        else:
            documents.append(item)

    tuning = {"chunking": strategy, "chunk_size": chunk_size, "chunk_overlap": chunk_overlap}
    settings = settings.model_copy(update={k: v for k, v in tuning.items() if v is not None})
    ingested_at = datetime.now(UTC).isoformat(timespec="seconds")
    nodes_by_document: dict[str, list[TextNode]] = {}
    for document in documents:
        try:
            nodes_by_document[document.id] = document_nodes(settings, document, ingested_at, run_id)
        except Exception as error:  # one broken document must not sink the batch
            log.exception("chunking %s failed", document.id)
            result.failed.append({"document": document.id, "reason": f"chunking failed: {error}"})

    all_nodes = [node for nodes in nodes_by_document.values() for node in nodes]
    if all_nodes:
        model = embedding_model(settings)
        texts = [node.get_content(metadata_mode=MetadataMode.EMBED) for node in all_nodes]
        for node, vector in zip(all_nodes, model.get_text_embedding_batch(texts), strict=True):
            node.embedding = vector
        store = open_store(settings)
        store.record_embedding(model.model_name, len(all_nodes[0].embedding or []))
        store.replace_documents(nodes_by_document)
        result.documents = len(nodes_by_document)
        result.chunks = len(all_nodes)
        if progress:
            progress(len(nodes_by_document))
    return result


def document_nodes(
    settings: Settings, document: SourceDocument, ingested_at: str, run_id: str
) -> list[TextNode]:
    """One document's chunks, with lineage, ready to embed; redacted first when configured."""
    text = document.text
    if settings.redact:
        text, hidden = redact(text)
        if hidden:
            log.info("redacted %d e-mail addresses or secrets in %s", hidden, document.id)
    chunks = chunk_text(text, settings.chunking, settings.chunk_size, settings.chunk_overlap)
    return [
        chunk_node(
            document,
            chunk.text,
            section_below_title(chunk.section, document.title),
            index,
            len(chunks),
            ingested_at,
            run_id,
        )
        for index, chunk in enumerate(chunks)
    ]


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


def run_ingest(
    settings: Settings,
    *,
    folder: Path | str | None = None,
    sources: list[str] | None = None,
    strategy: ChunkingStrategy | None = None,
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
    full_refresh: bool = False,
    run_id: str = "cli",
    on_plan: Callable[[IngestPlan], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> IngestSummary:
    """The whole pipeline in this process (the DAG runs the same steps as separate tasks)."""
    chosen = select_sources(settings, sources, folder)
    plan = plan_ingest(settings, chosen, full_refresh=full_refresh)
    if on_plan:
        on_plan(plan)
    results = [
        ingest_batch(
            settings,
            chosen,
            batch,
            strategy=strategy,
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            run_id=run_id,
            progress=progress,
        )
        for batch in plan.batches(settings.ingest_batch_size)
    ]
    return summarise(plan, results, prune(settings, plan.deleted))


def section_below_title(section: str, title: str) -> str:
    """The heading path without the document's own title, which is shown beside it anyway."""
    first, _, rest = section.partition(" > ")
    return rest if first == title else section


def chunk_node(
    document: SourceDocument,
    text: str,
    section: str,
    index: int,
    count: int,
    ingested_at: str,
    run_id: str,
    **extra: str | int,
) -> TextNode:
    """One chunk with its lineage; only title and section are embedded along with the text."""
    metadata: dict[str, str | int] = {
        "title": document.title,
        "section": section,
        "source": document.source,
        "uri": document.uri,
        "document_id": document.id,
        "content_hash": document.content_hash,
        "chunk_index": index,
        "chunk_count": count,
        "ingested_at": ingested_at,
        "run_id": run_id,
        "access": document.access,
        **extra,
    }
    lineage = [key for key in metadata if key not in EMBEDDED_METADATA]
    return TextNode(
        id_=str(uuid.uuid5(CHUNK_ID_NAMESPACE, f"{document.id}#{document.content_hash}#{index}")),
        text=text,
        metadata=metadata,
        excluded_embed_metadata_keys=lineage,
        excluded_llm_metadata_keys=lineage,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=document.id)},
    )
