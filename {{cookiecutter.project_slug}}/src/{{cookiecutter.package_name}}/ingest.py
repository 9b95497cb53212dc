"""The ingestion pipeline: plan what changed, ingest it in batches, prune what is gone, summarise.

Only documents whose content hash differs from the stored one are chunked and embedded. Each document's
chunks are replaced as a whole, and a document whose chunks are not all stored counts as changed, so a
re-run after a crash finishes the work and leaves no duplicates. The Airflow DAG calls these functions
one task each; ``run_ingest`` runs them in one process for the CLI.
"""

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from llama_index.core.schema import MetadataMode, NodeRelationship, RelatedNodeInfo, TextNode

from .chunking import chunk_text
from .config import ChunkingStrategy, Settings
from .embeddings import embedding_model
from .redaction import redact
from .sources import LocalFolderSource, SkippedFile, SourceDocument
from .store import open_store

log = logging.getLogger(__name__)

CHUNK_ID_NAMESPACE = uuid.UUID("6f1c1d3e-5b7a-4c1e-9a59-2f0c4b8e7d21")
EMBEDDED_METADATA = ("title", "section")  # the rest is lineage: stored, not embedded


@dataclass
class IngestPlan:
    source: str
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)

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

    def as_text(self) -> str:
        lines = [
            f"added {self.added}, changed {self.changed}, deleted {self.deleted}, "
            f"unchanged {self.unchanged}, chunks written {self.chunks}, "
            f"skipped {len(self.skipped)}, failed {len(self.failed)}"
        ]
        lines += [f"  skipped {item['path']}: {item['reason']}" for item in self.skipped]
        lines += [f"  failed {item['document']}: {item['reason']}" for item in self.failed]
        return "\n".join(lines)


def folder_source(settings: Settings, folder: Path | str | None = None) -> LocalFolderSource:
    return LocalFolderSource(
        Path(folder or settings.source_dir),
        access=settings.source_access,
        max_bytes=settings.max_file_bytes,
        include=settings.source_include,
        exclude=settings.source_exclude,
    )


def plan_ingest(
    settings: Settings, source: LocalFolderSource, *, full_refresh: bool = False
) -> IngestPlan:
    """Compare the source with the store by content hash; nothing is embedded here."""
    store = open_store(settings)
    if full_refresh:
        store.clear()
    stored = {doc_id: doc for doc_id, doc in store.documents().items() if doc.source == source.name}
    plan = IngestPlan(source=source.name)
    seen: set[str] = set()
    for item in source.scan():
        if isinstance(item, SkippedFile):
            log.warning("skipped %s: %s", item.path, item.reason)
            plan.skipped.append(asdict(item))
            continue
        seen.add(item.id)
        previous = stored.get(item.id)
        if previous is None:
            plan.added.append(item.id)
        elif not previous.complete or previous.content_hash != item.content_hash:
            plan.changed.append(item.id)
        else:
            plan.unchanged += 1
    plan.deleted = sorted(set(stored) - seen)
    return plan


def ingest_batch(
    settings: Settings,
    source: LocalFolderSource,
    document_ids: Sequence[str],
    *,
    strategy: ChunkingStrategy | None = None,
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
    run_id: str = "manual",
    progress: Callable[[int], None] | None = None,
) -> BatchResult:
    """Chunk, embed (one batched call) and write these documents; a document that fails is reported.

    ``progress`` is called with 1 for each document written.
    """
    result = BatchResult()
    documents: list[SourceDocument] = []
    for document_id in document_ids:
        item = source.load(document_id)
        if isinstance(item, SkippedFile):
            result.failed.append({"document": document_id, "reason": item.reason})
        else:
            documents.append(item)

    ingested_at = datetime.now(UTC).isoformat(timespec="seconds")
    nodes_by_document: dict[str, list[TextNode]] = {}
    for document in documents:
        text = document.text
        if settings.redact:
            text, hidden = redact(text)
            if hidden:
                log.info("redacted %d e-mail addresses or secrets in %s", hidden, document.id)
        try:
            chunks = chunk_text(
                text,
                strategy or settings.chunking,
                chunk_size or settings.chunk_size,
                chunk_overlap if chunk_overlap is not None else settings.chunk_overlap,
            )
        except Exception as error:  # one broken document must not sink the batch
            log.exception("chunking %s failed", document.id)
            result.failed.append({"document": document.id, "reason": f"chunking failed: {error}"})
            continue
        nodes_by_document[document.id] = [
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

    all_nodes = [node for nodes in nodes_by_document.values() for node in nodes]
    if all_nodes:
        model = embedding_model(settings)
        texts = [node.get_content(metadata_mode=MetadataMode.EMBED) for node in all_nodes]
        for node, vector in zip(all_nodes, model.get_text_embedding_batch(texts), strict=True):
            node.embedding = vector
        store = open_store(settings)
        store.record_embedding(model.model_name, len(all_nodes[0].embedding or []))
        for document_id, nodes in nodes_by_document.items():
            store.replace_document(document_id, nodes)
            result.documents += 1
            result.chunks += len(nodes)
            if progress:
                progress(1)
    return result


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
    )


def run_ingest(
    settings: Settings,
    *,
    folder: Path | str | None = None,
    strategy: ChunkingStrategy | None = None,
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
    full_refresh: bool = False,
    run_id: str = "cli",
    on_plan: Callable[[IngestPlan], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> IngestSummary:
    """The whole pipeline in this process (the DAG runs the same steps as separate tasks)."""
    source = folder_source(settings, folder)
    plan = plan_ingest(settings, source, full_refresh=full_refresh)
    if on_plan:
        on_plan(plan)
    results = [
        ingest_batch(
            settings,
            source,
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
