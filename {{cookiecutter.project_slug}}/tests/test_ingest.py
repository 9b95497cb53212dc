"""The ingestion pipeline against the real embedding model and the real vector store."""

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import planning
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.ingest import run_ingest, section_below_title
from {{ cookiecutter.package_name }}.sources.config import folder_source_name
from {{ cookiecutter.package_name }}.store import open_store
from {{ cookiecutter.package_name }}.store_base import StoredDocument

from .conftest import StoreIsolation

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
from {{ cookiecutter.package_name }} import planning
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.ingest import run_ingest
from {{ cookiecutter.package_name }}.store import open_store

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


def test_full_refresh_rebuilds_everything(settings: Settings, docs: Path) -> None:
    first = run_ingest(settings, folder=docs)
    again = run_ingest(settings, folder=docs, full_refresh=True)
    assert again.added == SAMPLE_COUNT and again.chunks == first.chunks
    assert open_store(settings).count() == first.chunks


def test_another_chunking_rechunks_every_document(settings: Settings, docs: Path) -> None:
    """No full refresh needed: documents chunked another way count as changed, so the index never
    mixes two chunkings; the same chunking again is a no-op."""
    small = run_ingest(settings, folder=docs, strategy="tokens", chunk_size=64, chunk_overlap=8)
    large = run_ingest(settings, folder=docs, strategy="tokens", chunk_size=256, chunk_overlap=8)
    assert large.changed == SAMPLE_COUNT and large.deleted == 0
    assert small.chunks > large.chunks == open_store(settings).count()
    again = run_ingest(settings, folder=docs, strategy="tokens", chunk_size=256, chunk_overlap=8)
    assert again.unchanged == SAMPLE_COUNT and again.chunks == 0


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
    from {{ cookiecutter.package_name }}.engine import QueryEngine

    run_ingest(settings.model_copy(update={"redact": True}), folder=folder)
    texts = [source.text for source in QueryEngine(settings).retrieve("Who is on call?")]
    assert texts and all("@example.com" not in t and "ghp_" not in t for t in texts)
    assert any("[REDACTED EMAIL]" in t for t in texts)
