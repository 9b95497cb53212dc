"""The keyword index beside Chroma's collection (``RAG_HYBRID_SEARCH``): kept in step by ingestion,
crash-safe, filled for an index that predates it, and fused with the vectors at query time."""

import uuid
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

from {{ cookiecutter.package_name }}.answering.engine import QueryEngine
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.index import store
from {{ cookiecutter.package_name }}.index.keywords import KeywordIndex, terms
from {{ cookiecutter.package_name }}.index.store import open_store
from {{ cookiecutter.package_name }}.ingestion.pipeline import run_ingest

PAGER = "# Pager codes\n\nCode ZQ4471 means the ingestion pool is full: raise its slots.\n"


def chunk(node_id: str, document_id: str, text: str, access: str = "public") -> TextNode:
    meta = {"document_id": document_id, "access": access, "title": document_id, "section": ""}
    return TextNode(id_=node_id, text=text, metadata=meta)


def test_the_index_finds_words_by_stem_within_access_and_never_twice(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "keywords.db")
    index.replace(
        {
            "a": [chunk("a1", "a", "Restarting the scheduler clears stuck tasks.")],
            "b": [chunk("b1", "b", "The scheduler restarts itself.", access="internal")],
        }
    )
    assert [i for i, _ in index.search("restart scheduler", ["public"], 10)] == ["a1"]
    assert {i for i, _ in index.search("restart scheduler", ["public", "internal"], 10)} == {
        "a1",
        "b1",
    }
    index.replace({"a": [chunk("a2", "a", "Restart it.")]})  # a new version of a
    index.replace({"a": [chunk("a2", "a", "Restart it.")]})  # written again after a crash
    assert index.count() == 2 and index.search("restart", ["public"], 10)[0][0] == "a2"
    index.delete(["a", "b"])
    assert index.count() == 0 and index.search("restart", ["public", "internal"], 10) == []


def test_questions_cannot_speak_the_query_language(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "keywords.db")
    index.replace({"a": [chunk("a1", "a", "Set RAG_TOP_K to 8.")]})
    for question in ['"RAG_TOP_K" AND -x*', "NEAR(a b)", "title: ^x", "' OR 1=1 --", "?!"]:
        index.search(question, ["public"], 5)  # no syntax error, whatever they hold
    assert terms('Set "RAG_TOP_K" now') == ['"set"', '"rag_top_k"', '"now"']


def test_hybrid_search_finds_an_exact_code_and_follows_the_index(
    settings: Settings, docs: Path
) -> None:
    (docs / "pager.md").write_text(PAGER)
    run_ingest(settings, folder=docs)
    hybrid = settings.model_copy(update={"hybrid_search": True})
    question = "What does ZQ4471 mean?"
    store = open_store(hybrid)
    (keywords,) = store.keyword_retrievers(["public"], 20)
    assert keywords.retrieve(question)[0].node.metadata["document_id"] == "local:pager.md"
    sources = QueryEngine(hybrid).retrieve(question)
    assert sources[0].document_id == "local:pager.md"

    (docs / "pager.md").unlink()
    run_ingest(settings, folder=docs)
    left = {hit.node.metadata["document_id"] for hit in keywords.retrieve(question)}
    assert "local:pager.md" not in left  # removed from the keyword index too
    assert store.keywords.count() == store.count()


def test_an_index_from_before_the_keywords_is_filled_on_first_use(
    settings: Settings, docs: Path
) -> None:
    run_ingest(settings, folder=docs)
    store = open_store(settings)
    store.keywords.fill([])  # as an index built by an earlier release: empty, no revision
    store.keywords.revision = None
    hybrid = settings.model_copy(update={"hybrid_search": True})
    (keywords,) = open_store(hybrid).keyword_retrievers(["public"], 20)
    assert keywords.retrieve("chunking strategy")
    assert store.keywords.count() == store.count() > 0


def test_keyword_rows_without_vectors_are_left_out(settings: Settings, docs: Path) -> None:
    """A run that died after writing a document's keywords but before its vectors."""
    run_ingest(settings, folder=docs)
    store = open_store(settings.model_copy(update={"hybrid_search": True}))
    store.keywords.replace({"local:ghost.md": [chunk("ghost-1", "local:ghost.md", PAGER)]})
    (keywords,) = store.keyword_retrievers(["public"], 20)
    assert all(hit.node.node_id != "ghost-1" for hit in keywords.retrieve("ZQ4471 pager"))


def test_a_reader_on_another_machine_follows_the_writers_changes(
    chroma_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deployment: workers write to the Chroma server, the UI reads it from another machine, each
    with a keyword index of its own. The reader's follows every write, added, changed or deleted."""
    monkeypatch.setattr(store, "REVISION_CHECK_S", 0.0)  # check at every question
    shared: dict[str, Any] = {
        "chroma_url": chroma_server,
        "collection": f"kw{uuid.uuid4().hex[:8]}",
    }
    writer = open_store(Settings(_env_file=None, data_dir=tmp_path / "worker", **shared))
    reader = open_store(
        Settings(_env_file=None, data_dir=tmp_path / "ui", hybrid_search=True, **shared)
    )

    (keywords,) = reader.keyword_retrievers(["public"], 10)  # made once, as the UI makes it

    def found(question: str) -> list[str]:
        return [hit.node.node_id for hit in keywords.retrieve(question)]

    def write(document_id: str, node_id: str, text: str) -> None:
        node = chunk(node_id, document_id, text)
        node.embedding = [1.0, 0.0, 0.0]
        # As ingestion makes them: the store deletes a document's chunks by their source document.
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=document_id)
        writer.replace_documents({document_id: [node]})

    write("a", "a1", "Code ZQ4471 means the pool is full.")
    assert found("ZQ4471") == ["a1"]
    write("a", "a2", "Code QX9 means the queue is full.")  # a changed document
    write("b", "b1", "Restart the scheduler.")  # and a new one
    assert found("ZQ4471") == [] and found("QX9") == ["a2"] and found("scheduler") == ["b1"]
    reads: list[object] = []
    read_nodes = type(reader.vector_store).get_nodes

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(args)
        return read_nodes(*args, **kwargs)

    monkeypatch.setattr(type(reader.vector_store), "get_nodes", counted)
    assert found("scheduler") == ["b1"] and set(found("QX9 scheduler")) == {"a2", "b1"}
    assert not reads  # chunks already read at this revision are not read again
    write("b", "b1", "Restart the triggerer.")  # the same chunk id, other text (re-chunked)
    (hit,) = keywords.retrieve("triggerer")
    assert hit.node.get_content() == "Restart the triggerer."
    writer.delete_documents(["a"])
    assert found("QX9") == [] and found("triggerer") == ["b1"]
    # The writer's own index stayed current through its writes, without being filled again.
    assert writer.keywords.revision == reader.keywords.revision
    assert writer.keywords.count() == reader.keywords.count() == 1
