"""The ingestion pipeline: plan what changed, ingest it in batches, prune what is gone, summarise.

Only documents whose content hash differs from the stored one are chunked and embedded (``planning``
decides which). Each document's chunks are replaced as a whole, and a document whose chunks are not all
stored counts as changed, so a re-run after a crash finishes the work and leaves no duplicates. The
Airflow DAG calls these steps one task each; ``run_ingest`` runs them in one process for the CLI.
"""

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from llama_index.core.schema import MetadataMode, NodeRelationship, RelatedNodeInfo, TextNode

from ..config import ChunkingStrategy, Settings
from ..index.embeddings import embedding_model, model_tokens
from ..index.passages import passage
from ..index.store import open_store
from ..security.redaction import redact
from .chunking import Measure, chunk_text
from .planning import (
    BatchResult,
    IngestPlan,
    IngestSummary,
    pipeline_of,
    plan_ingest,
    prune,
    summarise,
)
from .release import BeforeRelease, release
from .sources import SkippedFile, Source, SourceDocument, select_sources

log = logging.getLogger(__name__)

CHUNK_ID_NAMESPACE = uuid.UUID("6f1c1d3e-5b7a-4c1e-9a59-2f0c4b8e7d21")
EMBEDDED_METADATA = ("title", "section")  # the rest is lineage: stored, not embedded


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
    tokenize, limit = model_tokens(settings)
    pipeline = pipeline_of(settings)

    def header(section: str) -> str:
        """What is embedded before a chunk's text: its title and section."""
        empty = chunk_node(
            document,
            "",
            section_below_title(section, document.title),
            0,
            1,
            "",
            "",
            pipeline=pipeline,
        )
        return empty.get_content(metadata_mode=MetadataMode.EMBED)

    measure = Measure(tokenize, limit, header)
    chunks = chunk_text(
        text, settings.chunking, settings.chunk_size, settings.chunk_overlap, measure
    )
    texts = [chunk.text for chunk in chunks]
    return [
        chunk_node(
            document,
            chunk.text,
            section_below_title(chunk.section, document.title),
            index,
            len(chunks),
            ingested_at,
            run_id,
            pipeline=pipeline,
            passage=passage(texts, index, settings.passage_window),
        )
        for index, chunk in enumerate(chunks)
    ]


def run_ingest(
    settings: Settings,
    *,
    folder: Path | str | None = None,
    sources: list[str] | None = None,
    strategy: ChunkingStrategy | None = None,
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
    full_refresh: bool = False,
    trial: bool = False,
    tuned_model: str | None = None,
    run_id: str = "cli",
    on_plan: Callable[[IngestPlan], None] | None = None,
    progress: Callable[[int], None] | None = None,
    before_release: BeforeRelease | None = None,
) -> IngestSummary:
    """The whole pipeline in this process (the DAG runs the same steps as separate tasks), a new
    index version it builds released at the end (see ``release``). A ``trial`` version (an
    experiment's candidate, see ``plan_ingest``) is not released: the experiment decides."""
    settings = settings.with_chunking(strategy, chunk_size, chunk_overlap)
    chosen = select_sources(settings, sources, folder)
    plan = plan_ingest(
        settings, chosen, full_refresh=full_refresh, trial=trial, tuned_model=tuned_model
    )
    if on_plan:
        on_plan(plan)
    target = plan.target(settings)
    results = [
        ingest_batch(target, chosen, batch, run_id=run_id, progress=progress)
        for batch in plan.batches(settings.ingest_batch_size)
    ]
    summary = summarise(plan, results, prune(target, plan.deleted))
    return summary if trial or tuned_model else release(settings, summary, before_release)


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
    *,
    pipeline: str,
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
        "pipeline": pipeline,
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
