"""The store contract against real Chroma: embedded (persistent client) and a server over HTTP."""

import uuid

import pytest
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.store import open_store
from {{ cookiecutter.package_name }}.store_base import DocumentStore, EmbeddingMismatchError


@pytest.fixture(params=["embedded", "server"])
def store(request: pytest.FixtureRequest, settings: Settings) -> DocumentStore:
    if request.param == "server":
        url = request.getfixturevalue("chroma_server")
        settings = settings.model_copy(
            update={"chroma_url": url, "collection": f"t-{uuid.uuid4().hex}"}
        )
    return open_store(settings)


def nodes(doc_id: str, content_hash: str, count: int, dims: int = 3) -> list[TextNode]:
    return [
        TextNode(
            id_=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{doc_id}{content_hash}{i}")),
            text=f"{doc_id} part {i}",
            embedding=[float(i + 1), 1.0, 0.5][:dims] + [0.0] * (dims - 3),
            metadata={
                "document_id": doc_id,
                "content_hash": content_hash,
                "chunk_count": count,
                "source": "local",
                "access": "public",
            },
            relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc_id)},
        )
        for i in range(count)
    ]


def test_replace_writes_each_document_once(store: DocumentStore) -> None:
    store.replace_document("local:a", nodes("local:a", "h1", 3))
    store.replace_document("local:a", nodes("local:a", "h1", 3))
    store.replace_document("local:b", nodes("local:b", "h9", 1))
    assert store.count() == 4
    docs = store.documents()
    assert {k: (v.content_hash, v.complete) for k, v in docs.items()} == {
        "local:a": ("h1", True),
        "local:b": ("h9", True),
    }


def test_a_changed_document_replaces_all_its_old_chunks(store: DocumentStore) -> None:
    store.replace_document("local:a", nodes("local:a", "old", 3))
    store.replace_document("local:a", nodes("local:a", "new", 2))
    assert store.count() == 2
    assert store.documents()["local:a"].content_hash == "new"


def test_a_partly_written_document_counts_as_incomplete(store: DocumentStore) -> None:
    store.replace_document("local:a", nodes("local:a", "h", 3)[:2])  # as if a run died mid-write
    assert store.documents()["local:a"].complete is False


def test_delete_and_clear(store: DocumentStore) -> None:
    store.replace_document("local:a", nodes("local:a", "h", 2))
    store.replace_document("local:b", nodes("local:b", "h", 2))
    store.delete_documents(["local:a", "local:missing"])
    assert set(store.documents()) == {"local:b"}
    store.clear()
    assert store.count() == 0


def test_another_embedding_model_is_refused_with_a_fix(store: DocumentStore) -> None:
    store.check_embedding("model-b", 1536)  # an empty store accepts any model ...
    store.record_embedding("model-a", 3)  # ... until one is recorded before writing
    store.replace_document("local:a", nodes("local:a", "h", 1))
    store.record_embedding("model-a", 3)
    store.check_embedding("model-a", 3)
    with pytest.raises(EmbeddingMismatchError, match="full refresh"):
        store.check_embedding("model-b", 1536)


def test_query_orders_by_similarity_and_filters_metadata(store: DocumentStore) -> None:
    from llama_index.core.vector_stores import MetadataFilter, MetadataFilters, VectorStoreQuery

    store.replace_document("local:a", nodes("local:a", "h", 3))
    result = store.vector_store.query(
        VectorStoreQuery(query_embedding=[3.0, 1.0, 0.5], similarity_top_k=3)
    )
    assert (result.nodes or [])[0].get_content() == "local:a part 2"
    filtered = store.vector_store.query(
        VectorStoreQuery(
            query_embedding=[3.0, 1.0, 0.5],
            similarity_top_k=3,
            filters=MetadataFilters(filters=[MetadataFilter(key="access", value="internal")]),
        )
    )
    assert not filtered.nodes


def test_an_unreachable_server_names_its_address(settings: Settings) -> None:
    with pytest.raises(ConnectionError, match=r"127\.0\.0\.1:9"):
        open_store(settings.model_copy(update={"chroma_url": "http://127.0.0.1:9"}))
