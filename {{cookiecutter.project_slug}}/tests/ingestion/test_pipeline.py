"""The ingestion pipeline against the real embedding model and the real vector store."""

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from llama_index.core.schema import MetadataMode

{% if cookiecutter.embeddings == "local" %}from {{ cookiecutter.package_name }}.answering.live_index import LiveIndex
{% endif %}from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.index.embeddings import model_tokens
from {{ cookiecutter.package_name }}.index.passages import join_overlapping, passage
from {{ cookiecutter.package_name }}.index.store import open_store
from {{ cookiecutter.package_name }}.index.store_base import StoredDocument
from {{ cookiecutter.package_name }}.ingestion import planning
from {{ cookiecutter.package_name }}.ingestion.pipeline import (
    document_nodes,
    run_ingest,
    section_below_title,
)
from {{ cookiecutter.package_name }}.ingestion.sources import LocalFolderSource, SourceDocument
from {{ cookiecutter.package_name }}.ingestion.sources.config import folder_source_name

from ..conftest import StoreIsolation

SAMPLE_COUNT = 7


def stored(settings: Settings) -> dict[str, StoredDocument]:
    return open_store(settings).documents()


def test_first_run_ingests_every_document(settings: Settings, docs: Path) -> None:
    summary = run_ingest(settings, folder=docs)
    assert (summary.added, summary.changed, summary.deleted, summary.unchanged) == (
        SAMPLE_COUNT,
        0,
        0,
        0,
    )
    assert summary.chunks == open_store(settings).count() >= SAMPLE_COUNT  # one or more each
    assert all(doc.complete for doc in stored(settings).values())
    assert not summary.skipped and not summary.failed


def test_nothing_changed_means_nothing_embedded(settings: Settings, docs: Path) -> None:
    run_ingest(settings, folder=docs)
    before = stored(settings)
    summary = run_ingest(settings, folder=docs)
    assert (summary.added, summary.changed, summary.unchanged, summary.chunks) == (
        0,
        0,
        SAMPLE_COUNT,
        0,
    )
    assert stored(settings) == before


def test_a_change_replaces_that_document_and_a_removal_deletes_it(
    settings: Settings, docs: Path
) -> None:
    run_ingest(settings, folder=docs)
    count = open_store(settings).count()
    faq = docs / "faq.txt"
    faq.write_text(
        faq.read_text() + "\nCan I export ratings?\nYes, they are rows in the feedback database.\n"
    )
    (docs / "models.md").unlink()

    summary = run_ingest(settings, folder=docs)

    assert (summary.added, summary.changed, summary.deleted, summary.unchanged) == (
        0,
        1,
        1,
        SAMPLE_COUNT - 2,
    )
    after = stored(settings)
    assert "local:models.md" not in after and after["local:faq.txt"].complete
    assert open_store(settings).count() < count + summary.chunks  # old chunks of faq.txt are gone


def test_bad_files_are_skipped_with_reasons_and_the_rest_ingested(
    settings: Settings, docs: Path
) -> None:
    (docs / "broken.md").write_bytes(b"\xff\xfe\x00\x00garbage")
    (docs / "empty.rst").write_text("")
    summary = run_ingest(settings, folder=docs)
    assert {item["path"]: item["reason"] for item in summary.skipped} == {
        "broken.md": "binary content",
        "empty.rst": "empty file",
    }
    assert (
        summary.added == SAMPLE_COUNT
        and "skipped local:broken.md: binary content" in summary.as_text()
    )


# Run in a child process that is killed (SIGKILL: no exception handler, no cleanup) while the store
# holds two documents of the batch whole and a third one half-written.
KILLED_MID_WRITE = """
import os, signal, sys
from {{ cookiecutter.package_name }}.ingestion import planning
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.ingestion.pipeline import run_ingest
from {{ cookiecutter.package_name }}.index.store import open_store

store_type = type(open_store(Settings()))
write = store_type.replace_documents

def dies_in_the_third_document(self, documents):
    first, second, (third, nodes) = list(documents.items())[:3]
    write(self, dict([first, second, (third, nodes[: len(nodes) // 2])]))
    os.kill(os.getpid(), signal.SIGKILL)

store_type.replace_documents = dies_in_the_third_document
run_ingest(Settings(), folder=sys.argv[1])
"""


def test_a_run_killed_mid_write_is_finished_by_the_next_run(
    settings: Settings, docs: Path, tmp_path: Path, new_store: StoreIsolation
) -> None:
    clean = Settings(**new_store(tmp_path / "clean"))
    run_ingest(clean, folder=docs)

    killed = subprocess.run([sys.executable, "-c", KILLED_MID_WRITE, str(docs)], check=False)
    assert killed.returncode == -signal.SIGKILL
    assert any(not document.complete for document in stored(settings).values())

    summary = run_ingest(settings, folder=docs)
    assert summary.unchanged == 2 and summary.added + summary.changed == SAMPLE_COUNT - 2
    assert stored(settings) == stored(clean)
    assert open_store(settings).count() == open_store(clean).count()


def test_full_refresh_rebuilds_everything_beside_the_live_version(
    settings: Settings, docs: Path
) -> None:
    first = run_ingest(settings, folder=docs)
    blue = open_store(settings).version
    again = run_ingest(settings, folder=docs, full_refresh=True)
    assert again.changed == SAMPLE_COUNT and again.chunks == first.chunks
    assert (again.rebuild, again.released) == ("full refresh", "live")
    assert f"new index version {again.version} (full refresh): live" in again.as_text()
    live = open_store(settings)
    assert live.version == again.version != blue and live.count() == first.chunks
    assert open_store(settings.pinned(blue)).count() == first.chunks  # kept to roll back to


def test_another_chunking_rechunks_every_document(settings: Settings, docs: Path) -> None:
    """No full refresh needed: documents chunked another way count as changed, so the index never
    mixes two chunkings; the same chunking again is a no-op."""
    small = run_ingest(settings, folder=docs, strategy="tokens", chunk_size=64, chunk_overlap=8)
    large = run_ingest(settings, folder=docs, strategy="tokens", chunk_size=256, chunk_overlap=8)
    assert large.changed == SAMPLE_COUNT and large.deleted == 0
    assert (large.rebuild or "").startswith("pipeline tokens/64/8/") and large.released == "live"
    assert small.chunks > large.chunks == open_store(settings).count()
    again = run_ingest(settings, folder=docs, strategy="tokens", chunk_size=256, chunk_overlap=8)
    assert again.unchanged == SAMPLE_COUNT and again.chunks == 0


{%- if cookiecutter.embeddings == "local" %}


def test_another_embedding_backend_re_embeds_into_a_new_version_that_readers_follow(
    settings: Settings, docs: Path
) -> None:
    settings = settings.model_copy(update={"embedding_backend": "torch"})
    first = run_ingest(settings, folder=docs)
    int8 = settings.model_copy(update={"embedding_backend": "onnx-int8"})
    rebuilt = run_ingest(int8, folder=docs)
    assert (rebuilt.rebuild or "").endswith("/backend-onnx-int8") and rebuilt.released == "live"
    assert rebuilt.changed == first.added and rebuilt.chunks == first.chunks
    assert run_ingest(int8, folder=docs).chunks == 0  # the same backend again: nothing to embed
    # A reader configured for PyTorch embeds questions as the live version's vectors were made.
    reading = LiveIndex(settings, lambda store, embed: embed).current()
    assert reading.store.version == open_store(settings).version == rebuilt.version
    assert reading.embed.onnx_file is not None  # type: ignore[attr-defined]
{%- endif %}


def test_turning_redaction_on_rewrites_the_index(settings: Settings, docs: Path) -> None:
    run_ingest(settings, folder=docs)
    redacting = run_ingest(settings.model_copy(update={"redact": True}), folder=docs)
    assert redacting.changed == SAMPLE_COUNT


def test_a_new_converter_version_rereads_every_document(
    settings: Settings, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_ingest(settings, folder=docs)
    monkeypatch.setattr(planning, "FORMATS_VERSION", planning.FORMATS_VERSION + 1)
    assert run_ingest(settings, folder=docs).changed == SAMPLE_COUNT


def test_another_folder_is_added_beside_the_configured_source(
    settings: Settings, docs: Path, tmp_path: Path
) -> None:
    run_ingest(settings)
    other = tmp_path / "docs-elsewhere" / "docs"  # the same folder name as the configured source
    other.mkdir(parents=True)
    (other / "oncall.md").write_text("# On call\n\nPage the database team first.\n")
    added = run_ingest(settings, folder=other)
    assert (added.added, added.deleted) == (1, 0)
    name = folder_source_name(other)
    assert name.startswith("folder-docs-") and name != folder_source_name(docs)
    assert planning.indexed_sources(settings) == {"local": SAMPLE_COUNT, name: 1}

    again = run_ingest(settings)  # the configured sources only: the other folder stays
    assert again.deleted == 0 and planning.indexed_sources(settings)[name] == 1
    configured = run_ingest(settings, folder=docs)  # the configured folder is source "local"
    assert configured.unchanged == SAMPLE_COUNT

    assert planning.remove_sources(settings, [name]) == 1
    assert planning.indexed_sources(settings) == {"local": SAMPLE_COUNT}


@pytest.mark.parametrize(
    ("section", "expected"),
    [("Guide > Install", "Install"), ("Guide", ""), ("Other > Guide", "Other > Guide"), ("", "")],
)
def test_a_chunk_section_leaves_out_the_document_title(section: str, expected: str) -> None:
    assert section_below_title(section, "Guide") == expected


def test_redaction_keeps_addresses_and_secrets_out_of_the_index(
    settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "private"
    folder.mkdir()
    (folder / "oncall.md").write_text(
        "# On call\n\nPage jane.doe@example.com; the token is ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8.\n"
    )
    from {{ cookiecutter.package_name }}.answering.engine import QueryEngine

    run_ingest(settings.model_copy(update={"redact": True}), folder=folder)
    texts = [source.text for source in QueryEngine(settings).retrieve("Who is on call?")]
    assert texts and all("@example.com" not in t and "ghp_" not in t for t in texts)
    assert any("[REDACTED EMAIL]" in t for t in texts)


def test_every_chunk_fits_in_what_the_embedding_model_reads(
    settings: Settings, tmp_path: Path
) -> None:
    """Counted in the model's own tokens, title and section included, as they are embedded."""
    long_heading = "A section whose heading goes on " + "and on " * 30
    sentences = " ".join(
        f"Setting number {i} changes the behaviour of the scheduler." for i in range(200)
    )
    page = tmp_path / "pages" / "scheduler.mdx"
    page.parent.mkdir()
    page.write_text(
        "---\ntitle: Scheduler tuning reference for large deployments\n---\n"
        "import Tabs from '@theme/Tabs';\n\n"
        f"## {long_heading}\n\n{sentences}\n\n## Short\n\nsqlalchemy_pool_size=5\n"
    )
    (document,) = [
        d for d in LocalFolderSource(page.parent).scan() if isinstance(d, SourceDocument)
    ]
    for chunking in ("markdown", "sentence", "tokens", "code"):
        chosen = settings.with_chunking(chunking)
        nodes = document_nodes(chosen, document, "now", "test")
        tokenize, limit = model_tokens(chosen)
        embedded = [node.get_content(metadata_mode=MetadataMode.EMBED) for node in nodes]
        assert all(len(tokenize(text)) <= limit for text in embedded), chunking
        assert all(len(tokenize(node.text)) <= chosen.chunk_size for node in nodes), chunking
        assert all(
            n.metadata["title"] == "Scheduler tuning reference for large deployments" for n in nodes
        )
        assert not any("import Tabs" in text for text in embedded)
        assert "sqlalchemy_pool_size=5" in " ".join(node.text for node in nodes)
{%- if cookiecutter.embeddings == "local" %}
    assert limit == 254  # all-MiniLM-L6-v2 reads 256 word pieces, two of them [CLS] and [SEP]
{%- endif %}


def test_a_passage_is_the_chunk_between_its_neighbours_said_once() -> None:
    texts = ["alpha one.", "beta two.", "gamma three.", "delta four."]
    assert passage(texts, 0, 1) == "alpha one.\n\nbeta two."
    assert passage(texts, 2, 1) == "beta two.\n\ngamma three.\n\ndelta four."
    assert passage(texts, 2, 0) == "gamma three."
    shared = "the sentence that both chunks hold because the splitter overlaps them."
    assert join_overlapping(f"Start. {shared}", f"{shared} End.") == f"Start. {shared} End."


def test_a_match_is_read_with_the_chunks_around_it(settings: Settings, docs: Path) -> None:
    from {{ cookiecutter.package_name }}.answering.engine import QueryEngine

    steps = [
        ("Unpack", "Unpack the archive into /opt/widget and keep the folder name as it is."),
        ("Configure", "Set WIDGET_PORT in widget.conf to the port the service should listen on."),
        ("Start", "Run widgetctl start; the service answers health checks after ten seconds."),
    ]
    filler = " ".join(f"Background sentence {i} says nothing in particular." for i in range(15))
    (docs / "widget.md").write_text(
        "# Widget\n\n" + "".join(f"## {name}\n\n{text} {filler}\n\n" for name, text in steps)
    )
    run_ingest(settings, chunk_size=200, chunk_overlap=20)  # a chunk per step, whatever the model
    (source, *_) = QueryEngine(settings).retrieve("Which file sets the port WIDGET_PORT?")
    assert source.document_id == "local:widget.md" and source.section.startswith("Configure")
    best = source.snippet.split(" … ")[0]  # the matched chunks are shown best first
    assert "WIDGET_PORT" in best and "widgetctl" not in best
    assert all(text in source.text for _, text in steps[1:])  # and the chunk after it


def test_neighbouring_matches_of_a_document_make_one_source() -> None:
    from llama_index.core.schema import NodeWithScore, TextNode

    from {{ cookiecutter.package_name }}.index.passages import group_neighbours, group_text

    texts = [f"Part {i} of the guide." for i in range(12)]

    def hit(document: str, index: int) -> NodeWithScore:
        meta = {"document_id": document, "chunk_index": index, "passage": passage(texts, index, 1)}
        return NodeWithScore(node=TextNode(text=texts[index], metadata=meta), score=0.5)

    hits = [
        hit("local:a", 3),
        hit("local:b", 3),
        hit("local:a", 4),
        hit("local:a", 0),
        hit("local:a", 9),
    ]
    groups = group_neighbours(hits, window=1)
    assert [[h.node.metadata["chunk_index"] for h in g] for g in groups] == [[3, 4, 0], [3], [9]]
    assert group_text(groups[0]) == "\n\n".join(texts[:6])  # parts 0 to 5, each once
