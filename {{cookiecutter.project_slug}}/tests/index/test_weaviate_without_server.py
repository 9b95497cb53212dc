"""The Weaviate layers that need no server: filters as the client sends them, the collection's schema,
checked writes and deletes, counts as the client returns them, and connecting to a half-up server.

The store contract in ``test_store.py`` runs the same store against a real Weaviate wherever one exists.
"""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode
from llama_index.vector_stores.weaviate import WeaviateVectorStore
from weaviate.classes.config import DataType, Tokenization
from weaviate.classes.query import Filter
from weaviate.collections.classes.batch import BatchObjectReturn, DeleteManyReturn, ErrorObject
from weaviate.collections.filters import _FilterToGRPC
from weaviate.proto.v1 import base_pb2

from {{ cookiecutter.package_name }}.answering.engine import access_filters
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.index import store as weaviate_store
from {{ cookiecutter.package_name }}.index.store import (
    SCHEMA,
    WeaviateWriteError,
    data_object,
    delete_all,
    ensure_collection,
    live_collection,
    open_store,
    switch_alias,
    write_objects,
)
from {{ cookiecutter.package_name }}.index.store_base import stored_documents
from {{ cookiecutter.package_name }}.ingestion.pipeline import chunk_node
from {{ cookiecutter.package_name }}.ingestion.sources import SourceDocument

from ..conftest import free_port


def grpc_filter(filters: Any) -> base_pb2.Filters:
    """What the client sends the server for a filter LlamaIndex built."""
    # No client, no server: the store only builds the query's parameters.
    store = WeaviateVectorStore.model_construct(index_name="Docs", url=None, text_key="text")
    store._is_self_created_weaviate_client = False  # read when it is garbage-collected
    parameters = store.get_query_parameters(
        VectorStoreQuery(
            query_embedding=[0.1, 0.2],
            query_str="question",
            similarity_top_k=4,
            filters=filters,
            mode=VectorStoreQueryMode.HYBRID,
        ),
        property_types={spec.name: spec.data_type for spec in SCHEMA},
    )
    return _FilterToGRPC.convert(parameters["filters"])


def test_the_engines_access_filter_is_one_weaviate_translates() -> None:
    public = grpc_filter(access_filters(["public"]))
    assert (public.target.property, public.operator, public.value_text) == (
        "access",
        base_pb2.Filters.OPERATOR_EQUAL,
        "public",
    )
    both = grpc_filter(access_filters(["public", "internal"]))
    assert both.operator == base_pb2.Filters.OPERATOR_OR
    assert sorted(f.value_text for f in both.filters) == ["internal", "public"]
    assert {f.target.property for f in both.filters} == {"access"}


def test_no_access_labels_is_refused_rather_than_unfiltered() -> None:
    with pytest.raises(ValueError, match="access label"):
        access_filters([])


def schema() -> dict[str, dict[str, Any]]:
    return {spec.name: spec.create()._to_dict() for spec in SCHEMA}


def test_ids_and_labels_match_whole_values_and_counts_are_integers() -> None:
    properties = schema()
    for name in ("document_id", "ref_doc_id", "doc_id", "source", "access", "content_hash", "uri"):
        assert properties[name]["dataType"] == ["text"], name
        assert properties[name]["tokenization"] == "field", name
    for name in ("chunk_index", "chunk_count", "interaction_id"):
        assert properties[name]["dataType"] == ["int"], name
    assert properties["ingested_at"]["dataType"] == ["text"]  # never guessed to be a date
    assert properties["text"]["tokenization"] == "word"
    assert properties["text"]["indexSearchable"] is True
    assert properties["_node_content"]["indexSearchable"] is False  # JSON, not prose


def sample_document(doc_id: str = "local:guide/index.md") -> SourceDocument:
    return SourceDocument(
        id=doc_id,
        source="local",
        uri="guide/index.md",
        title="Guide",
        text="Some text.",
        # A value that looks like a UUID: auto-schema would have typed the property as uuid.
        raw_hash="6f1c1d3e-5b7a-4c1e-9a59-2f0c4b8e7d21",
        access="public",
    )


def chunk(**extra: str | int) -> Any:
    node = chunk_node(
        sample_document(),
        "Some text.",
        "Intro",
        0,
        1,
        "2026-01-01T00:00:00+00:00",
        "run",
        pipeline="p",
        **extra,
    )
    node.embedding = [0.1, 0.2, 0.3]
    return node


def test_every_property_a_chunk_carries_is_declared() -> None:
    document, verified_answer = chunk(), chunk(interaction_id=7, sources_json="[]")
    for node in (document, verified_answer):
        item = data_object(node)
        assert set(item.properties) <= set(schema())
        assert item.vector == {"default": [0.1, 0.2, 0.3]}
        assert item.properties["document_id"] == "local:guide/index.md"


def test_an_undeclared_property_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(ValueError, match="does not declare: colour"):
        data_object(chunk(colour="red"))


class FakeCollections:
    """Stands in for ``client.collections``: records what would be created or added."""

    def __init__(self, existing: list[Any] | None = None) -> None:
        self.existing = existing
        self.created: dict[str, Any] = {}
        self.added: list[str] = []

    def exists(self, name: str) -> bool:
        return self.existing is not None

    def create(self, name: str, **config: Any) -> None:
        self.created = {"name": name, **config}

    def use(self, name: str) -> Any:
        properties = self.existing or []
        return SimpleNamespace(
            config=SimpleNamespace(
                get=lambda: SimpleNamespace(properties=properties),
                add_property=lambda prop: self.added.append(prop.name),
            )
        )


def test_a_new_collection_gets_the_whole_schema_and_no_vectorizer() -> None:
    collections = FakeCollections()
    assert ensure_collection(collections, "Docs") == []  # type: ignore[arg-type]
    created = collections.created
    assert [p.name for p in created["properties"]] == [spec.name for spec in SCHEMA]
    vectors = created["vector_config"]
    assert vectors.name == "default"
    assert vectors._to_dict()["vectorizer"] == {"none": {}}
    assert vectors._to_dict()["vectorIndexConfig"]["distance"] == "cosine"


def test_an_auto_schema_collection_is_reported_and_missing_properties_are_added() -> None:
    # What auto-schema made of the first chunks: word-tokenized ids, a number for the count.
    auto = [
        SimpleNamespace(
            name="document_id", data_type=DataType.TEXT, tokenization=Tokenization.WORD
        ),
        SimpleNamespace(name="chunk_count", data_type=DataType.NUMBER, tokenization=None),
    ]
    collections = FakeCollections(existing=auto)
    problems = ensure_collection(collections, "Docs")  # type: ignore[arg-type]
    assert problems == [
        "document_id is text (word), not text (field)",
        "chunk_count is number, not int",
    ]
    assert "sources_json" in collections.added and "document_id" not in collections.added


def test_counts_read_back_as_floats_still_fold_into_documents() -> None:
    rows: list[dict[str, object]] = [
        {"document_id": "local:a", "content_hash": "h", "source": "local", "chunk_count": 2.0},
        {"document_id": "local:a", "content_hash": "h", "source": "local", "chunk_count": 2.0},
        {"document_id": "local:b", "content_hash": "h", "source": "local", "chunk_count": "3"},
    ]
    documents = stored_documents(rows)
    assert documents["local:a"].complete
    assert not documents["local:b"].complete


class FakeData:
    """Stands in for ``collection.data`` with the results the real client returns."""

    def __init__(
        self, matching: int = 0, limit: int = 10_000, refuse: set[int] | None = None
    ) -> None:
        self.matching, self.limit, self.refuse = matching, limit, refuse or set()
        self.inserted: list[int] = []
        self.delete_requests = 0

    def insert_many(self, objects: Any) -> BatchObjectReturn:
        result = BatchObjectReturn()
        for index, item in enumerate(objects):
            if len(self.inserted) + index in self.refuse:
                result.errors[index] = ErrorObject(
                    message="invalid text property 'chunk_count'", object_=item
                )
        self.inserted += range(len(self.inserted), len(self.inserted) + len(objects))
        result.has_errors = bool(result.errors)
        return result

    def delete_many(self, where: Any) -> DeleteManyReturn[None]:
        self.delete_requests += 1
        deleted = min(self.matching, self.limit)  # the server's QUERY_MAXIMUM_RESULTS per request
        matched, self.matching = self.matching, self.matching - deleted
        return DeleteManyReturn(
            failed=0, matches=min(matched, self.limit), objects=None, successful=deleted
        )


def test_a_delete_repeats_until_nothing_matches() -> None:
    data = FakeData(matching=25_000)
    assert delete_all(data, where=None) == 25_000
    assert data.delete_requests == 4  # 10,000 + 10,000 + 5,000, then one that finds nothing


def test_a_delete_the_server_partly_refuses_raises() -> None:
    class Failing(FakeData):
        def delete_many(self, where: Any) -> DeleteManyReturn[None]:
            return DeleteManyReturn(failed=2, matches=5, objects=None, successful=3)

    with pytest.raises(WeaviateWriteError, match="failed to delete 2 of 5"):
        delete_all(Failing(), where=None)


def test_a_refused_chunk_raises_with_the_servers_reason() -> None:
    objects = [data_object(chunk()) for _ in range(3)]
    data = FakeData(refuse={1})
    with pytest.raises(WeaviateWriteError, match="refused 1 of 3 chunks: invalid text property"):
        write_objects(data, objects)


def test_writes_go_in_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weaviate_store, "WRITE_PAGE", 2)
    data = FakeData()
    write_objects(data, [data_object(chunk()) for _ in range(5)])
    assert data.inserted == [0, 1, 2, 3, 4]


def test_the_delete_filter_names_whole_document_ids() -> None:
    # With document_id tokenized as a field (above), the server matches these values whole: deleting
    # local:a leaves local:guide/a, and deleting a site's root page leaves its other pages.
    ids = ["local:a", "local:index.md", "web:https://example.com/"]
    sent = _FilterToGRPC.convert(Filter.by_property("document_id").contains_any(ids))
    assert sent.target.property == "document_id"
    assert sent.operator == base_pb2.Filters.OPERATOR_CONTAINS_ANY
    assert list(sent.value_text_array.values) == ids


class HalfUpWeaviate(BaseHTTPRequestHandler):
    """Weaviate's REST side answering as a server does, with nothing on its gRPC port."""

    def do_GET(self) -> None:
        if self.path == "/v1/meta":
            body = json.dumps({"version": "1.32.4", "modules": {}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def half_up_weaviate() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), HalfUpWeaviate)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_an_unreachable_grpc_port_is_retried_then_named(
    half_up_weaviate: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("time.sleep", lambda _: None)
    settings = Settings(
        weaviate_url=half_up_weaviate, weaviate_grpc_port=free_port(), _env_file=None
    )
    with pytest.raises(
        ConnectionError,
        match=r"Weaviate at http://127\.0\.0\.1:\d+ is not reachable after 3 attempts",
    ):
        open_store(settings)


class Aliases:
    """The client's ``alias`` as the server answers (see weaviate/aliases/executor.py): ``get``
    returns None for a missing alias, ``update`` False."""

    def __init__(self, client: "VersionsClient") -> None:
        self._client = client

    def get(self, *, alias_name: str) -> SimpleNamespace | None:
        target = self._client.aliases.get(alias_name)
        return SimpleNamespace(alias=alias_name, collection=target) if target else None

    def create(self, *, alias_name: str, target_collection: str) -> None:
        # The server refuses an alias that has a collection's name, and one that exists.
        assert alias_name not in self._client.names and alias_name not in self._client.aliases
        self._client.aliases[alias_name] = target_collection

    def update(self, *, alias_name: str, new_target_collection: str) -> bool:
        if alias_name not in self._client.aliases:
            return False
        self._client.aliases[alias_name] = new_target_collection
        return True


class Collections:
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def exists(self, name: str) -> bool:
        return name in self.names

    def delete(self, name: str) -> None:
        self.names.discard(name)


class VersionsClient:
    """A client's aliases and collections, as far as versions use them."""

    def __init__(self, names: set[str], aliases: dict[str, str]) -> None:
        self.names, self.aliases = names, aliases
        self.alias = Aliases(self)
        self.collections = Collections(names)


def test_the_live_version_is_what_the_alias_names() -> None:
    client = VersionsClient({"Docs__v1", "Docs__v2"}, {"Docs": "Docs__v2"})
    assert live_collection(client, "Docs") == "Docs__v2"
    switch_alias(client, "Docs", "Docs__v1")
    assert client.aliases == {"Docs": "Docs__v1"}
    with pytest.raises(LookupError, match="no live index version"):
        live_collection(VersionsClient(set(), {}), "Docs")


def test_a_collection_from_before_versions_is_live_until_the_first_promotion() -> None:
    client = VersionsClient({"Docs", "Docs__v1"}, {})
    assert live_collection(client, "Docs") == "Docs"
    switch_alias(client, "Docs", "Docs__v1")
    assert (client.names, client.aliases) == ({"Docs__v1"}, {"Docs": "Docs__v1"})
    assert live_collection(client, "Docs") == "Docs__v1"


class StuckAliases(Aliases):
    def update(self, *, alias_name: str, new_target_collection: str) -> bool:
        return False  # as the client reports a 404: the alias was deleted meanwhile


def test_an_alias_the_server_did_not_move_raises() -> None:
    client = VersionsClient({"Docs__v1"}, {"Docs": "Docs__v1"})
    client.alias = StuckAliases(client)
    with pytest.raises(WeaviateWriteError, match="did not point alias Docs at Docs__v2"):
        switch_alias(client, "Docs", "Docs__v2")
