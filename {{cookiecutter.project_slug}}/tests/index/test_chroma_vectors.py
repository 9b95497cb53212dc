"""Filtered vector queries on a real (embedded) Chroma: searched unfiltered first, same results."""

from pathlib import Path
from typing import Any

import chromadb
import pytest
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from llama_index.vector_stores.chroma import ChromaVectorStore

from {{ cookiecutter.package_name }}.answering.engine import access_filters
from {{ cookiecutter.package_name }}.index.chroma_vectors import ChromaVectors, admits

PUBLIC = access_filters(["public"])


def test_equalities_under_and_and_or_are_evaluated_and_anything_else_is_not() -> None:
    either = access_filters(["public", "internal"])
    assert admits(either, {"access": "internal"}) is True
    assert admits(either, {"access": "secret"}) is False
    assert admits(PUBLIC, {}) is False
    both = MetadataFilters(
        filters=[PUBLIC, MetadataFilter(key="source", value="docs")], condition=FilterCondition.AND
    )
    assert admits(both, {"access": "public", "source": "docs"}) is True
    assert admits(both, {"access": "public", "source": "wiki"}) is False
    newer = MetadataFilter(key="year", value=2020, operator=FilterOperator.GT)
    assert admits(MetadataFilters(filters=[newer]), {"year": 2024}) is None


class Counted:
    """The real collection, counting the queries that carried a ``where`` filter."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection
        self.filtered = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.collection, name)

    def query(self, **kwargs: Any) -> Any:
        self.filtered += "where" in kwargs
        return self.collection.query(**kwargs)


@pytest.fixture
def collection(tmp_path: Path) -> Counted:
    client = chromadb.PersistentClient(str(tmp_path / "chroma"))
    chroma = client.create_collection("docs", metadata={"hnsw:space": "cosine"})
    ChromaVectorStore(chroma_collection=chroma).add(
        [
            TextNode(
                id_=f"{access}-{i}",
                text=f"{access} {i}",
                embedding=vector,
                metadata={"access": access},
            )
            for i, (access, vector) in enumerate(
                [
                    ("public", [1.0, 0.0, 0.0]),
                    ("public", [0.9, 0.1, 0.0]),
                    ("internal", [0.0, 1.0, 0.0]),
                    ("public", [0.0, 0.9, 0.1]),
                    ("public", [0.0, 0.0, 1.0]),
                ]
            )
        ]
    )
    return Counted(chroma)


def ids(store: ChromaVectorStore, vector: list[float], filters: MetadataFilters) -> list[str]:
    found = store.query(
        VectorStoreQuery(query_embedding=vector, similarity_top_k=2, filters=filters)
    )
    return list(found.ids or [])


def test_when_every_nearest_chunk_passes_the_filter_no_filtered_search_runs(
    collection: Counted,
) -> None:
    fast, plain = (
        ChromaVectors(chroma_collection=collection),
        ChromaVectorStore(chroma_collection=collection),
    )
    assert ids(fast, [1.0, 0.0, 0.0], PUBLIC) == ["public-0", "public-1"]
    assert collection.filtered == 0
    assert ids(plain, [1.0, 0.0, 0.0], PUBLIC) == ["public-0", "public-1"]
    assert collection.filtered == 1


def test_when_a_nearest_chunk_is_filtered_out_the_filtered_search_answers(
    collection: Counted,
) -> None:
    fast, plain = (
        ChromaVectors(chroma_collection=collection),
        ChromaVectorStore(chroma_collection=collection),
    )
    found = ids(fast, [0.0, 1.0, 0.0], PUBLIC)
    assert found == ["public-3", "public-1"]
    assert "internal-2" not in found
    assert found == ids(plain, [0.0, 1.0, 0.0], PUBLIC)
    assert ids(fast, [0.0, 1.0, 0.0], access_filters(["public", "internal"]))[0] == "internal-2"


def test_nodes_are_reused_while_their_chunk_is_unchanged_and_rebuilt_when_it_changes(
    collection: Counted,
) -> None:
    fast, plain = (
        ChromaVectors(chroma_collection=collection),
        ChromaVectorStore(chroma_collection=collection),
    )
    query = VectorStoreQuery(query_embedding=[1.0, 0.0, 0.0], similarity_top_k=2)
    first, again = fast.query(query), fast.query(query)
    assert first.nodes and again.nodes
    assert again.nodes[0] is first.nodes[0]  # built once
    expected = plain.query(query)
    assert [(n.node_id, n.get_content(), n.metadata) for n in first.nodes] == [
        (n.node_id, n.get_content(), n.metadata) for n in expected.nodes or []
    ]
    assert first.similarities == expected.similarities
    assert fast.get_nodes(["public-0"])[0] is first.nodes[0]  # the keyword path shares them
    # Re-chunked under the same id (another chunking of the same document): the new text is read.
    plain.delete_nodes(["public-0"])
    node = TextNode(id_="public-0", text="rechunked", metadata={"access": "public"})
    plain.add([node.model_copy(update={"embedding": [1.0, 0.0, 0.0]})])
    changed = fast.query(query).nodes or []
    assert changed[0].node_id == "public-0" and changed[0].get_content() == "rechunked"
    assert fast.get_nodes(["public-0"])[0].get_content() == "rechunked"


class DeletedMeanwhile(Counted):
    """The collection as another process's delete leaves a query: the vector search still found the
    first chunk, but by the time its text and metadata were read, they were gone."""

    def query(self, **kwargs: Any) -> Any:
        found = super().query(**kwargs)
        found["documents"][0][0] = None
        found["metadatas"][0][0] = None
        return found


def test_a_chunk_deleted_while_the_query_ran_is_left_out(collection: Counted) -> None:
    fast = ChromaVectors(chroma_collection=DeletedMeanwhile(collection.collection))
    found = fast.query(VectorStoreQuery(query_embedding=[1.0, 0.0, 0.0], similarity_top_k=2))
    assert found.ids == ["public-1"]
    assert [node.node_id for node in found.nodes or []] == ["public-1"]
    assert found.similarities is not None and len(found.similarities) == 1
