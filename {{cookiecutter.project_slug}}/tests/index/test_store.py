{%- if cookiecutter.vector_store == "chroma" -%}
"""The store contract against real Chroma: the project's own server (the default), embedded (persistent
client), and a server elsewhere over HTTP."""
{%- elif cookiecutter.vector_store == "weaviate" -%}
"""The store contract against a real Weaviate server."""
{%- else -%}
"""The store contract against a real PostgreSQL server with pgvector."""
{%- endif %}
{% if cookiecutter.vector_store == "chroma" %}
import os
import shutil
import subprocess
import sys
import time
import urllib.request
{%- endif %}
import uuid
{%- if cookiecutter.vector_store == "chroma" %}
from contextlib import suppress
{%- endif %}
from typing import Any

import pytest
from llama_index.core.schema import NodeRelationship, NodeWithScore, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores import MetadataFilter, MetadataFilters, VectorStoreQuery
{%- if cookiecutter.vector_store != "chroma" %}
from llama_index.core.vector_stores.types import VectorStoreQueryMode
{%- endif %}
{%- if cookiecutter.vector_store == "pgvector" %}
from pydantic import SecretStr
{%- endif %}

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.index.store import open_store
from {{ cookiecutter.package_name }}.index.store_base import DocumentStore, EmbeddingMismatchError, cosine
from {{ cookiecutter.package_name }}.index.versions import (
    finish_build,
    promote,
    rollback,
    start_build,
    version_name,
)

StoreWithVersions = Any  # the backend's store: the contract, its versions, and its settings
{%- if cookiecutter.vector_store == "chroma" %}


@pytest.fixture(params=["project-server", "embedded", "server"])
def store(request: pytest.FixtureRequest, settings: Settings) -> DocumentStore:
    if request.param == "project-server":
        settings = request.getfixturevalue("project_chroma")
    elif request.param == "server":
        url = request.getfixturevalue("chroma_server")
        settings = settings.model_copy(
            update={"chroma_url": url, "collection": f"t-{uuid.uuid4().hex}"}
        )
    return open_store(settings)
{%- elif cookiecutter.vector_store == "pgvector" %}


@pytest.fixture
def store(settings: Settings) -> DocumentStore:
    return open_store(settings.model_copy(update={"embedding_dimensions": 3}))
{%- else %}


@pytest.fixture
def store(settings: Settings) -> DocumentStore:
    return open_store(settings)
{%- endif %}


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
    store.replace_documents({"local:a": nodes("local:a", "h1", 3)})
    store.replace_documents(
        {"local:a": nodes("local:a", "h1", 3), "local:b": nodes("local:b", "h9", 1)}
    )
    assert store.count() == 4
    docs = store.documents()
    assert {k: (v.content_hash, v.complete) for k, v in docs.items()} == {
        "local:a": ("h1", True),
        "local:b": ("h9", True),
    }


def test_a_changed_document_replaces_all_its_old_chunks(store: DocumentStore) -> None:
    store.replace_documents({"local:a": nodes("local:a", "old", 3)})
    store.replace_documents({"local:a": nodes("local:a", "new", 2)})
    assert store.count() == 2
    assert store.documents()["local:a"].content_hash == "new"


def test_a_partly_written_document_counts_as_incomplete(store: DocumentStore) -> None:
    partial = {"local:a": nodes("local:a", "h", 3)[:2]}  # as if a run died mid-write
    store.replace_documents(partial)
    assert store.documents()["local:a"].complete is False


def test_delete(store: DocumentStore) -> None:
    store.ping()  # an empty index answers too
    store.replace_documents({"local:a": nodes("local:a", "h", 2)})
    store.replace_documents({"local:b": nodes("local:b", "h", 2)})
    store.delete_documents(["local:a", "local:missing"])
    assert set(store.documents()) == {"local:b"}


def test_a_new_version_is_built_beside_the_live_one(store: StoreWithVersions) -> None:
    settings = store._settings
    store.replace_documents({"local:a": nodes("local:a", "h", 2)})
    blue = store.version
    assert store.live_version() == blue
    green = start_build(store, settings.collection, "pipeline-2")
    writer = open_store(settings.pinned(green))
    writer.replace_documents({"local:b": nodes("local:b", "h", 1)})
    # Readers still answer from the live version while the new one is built.
    reader = open_store(settings)
    assert (reader.version, set(reader.documents())) == (blue, {"local:a"})
    assert [v.state for v in store.versions()] == ["ready", "building"]

    assert finish_build(store, green, keep=2) == []
    reader = open_store(settings)
    assert (reader.version, set(reader.documents())) == (green, {"local:b"})
    assert rollback(store) == blue and open_store(settings).version == blue
    assert promote(store) == green and open_store(settings).version == green
    with pytest.raises(ValueError, match="live index version"):
        store.drop_version(green)


def test_versions_beyond_keep_are_dropped_with_all_they_hold(store: StoreWithVersions) -> None:
    settings = store._settings
    first = store.version
    store.replace_documents({"local:a": nodes("local:a", "h", 2)})
    for _ in range(2):
        new = start_build(store, settings.collection, "p")
        open_store(settings.pinned(new)).replace_documents({"local:a": nodes("local:a", "h", 1)})
        finish_build(store, new, keep=2)
    assert [v.name for v in store.versions()] == [
        version_name(settings.collection, 2),
        version_name(settings.collection, 3),
    ]
    with pytest.raises(ValueError, match=f"no index version '{first}'"):
        open_store(settings.pinned(first))
{%- if cookiecutter.vector_store == "chroma" %}
    assert not (settings.data_dir / f"keywords-{first}.db").exists()
{%- endif %}


def test_deleting_a_document_leaves_those_whose_ids_share_words(store: DocumentStore) -> None:
    # Ids share words, stopwords ("a") and prefixes: a delete must match whole ids only.
    ids = ["local:a", "local:index.md", "local:guide/index.md", "web:https://example.com/"]
    ids += ["web:https://example.com/guide/"]
    store.replace_documents({doc_id: nodes(doc_id, "h", 2) for doc_id in ids})
    store.delete_documents(["local:a", "local:index.md", "web:https://example.com/"])
    assert set(store.documents()) == {"local:guide/index.md", "web:https://example.com/guide/"}
    assert store.count() == 4


def test_another_embedding_model_is_refused_with_a_fix(store: DocumentStore) -> None:
    store.check_embedding("model-b", 3)  # an empty store accepts any model of its size ...
    store.record_embedding("model-a", 3)  # ... until one is recorded before writing
    store.replace_documents({"local:a": nodes("local:a", "h", 1)})
    store.record_embedding("model-a", 3)
    store.check_embedding("model-a", 3)
    with pytest.raises(EmbeddingMismatchError, match="new index version"):
        store.check_embedding("model-b", 1536)


def test_query_orders_by_similarity_and_filters_metadata(store: DocumentStore) -> None:
    store.replace_documents({"local:a": nodes("local:a", "h", 3)})
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


def test_similarity_is_the_cosine_whatever_scale_the_backend_reports(store: DocumentStore) -> None:
    written = nodes("local:a", "h", 3)
    store.replace_documents({"local:a": written})
    question = [3.0, 1.0, 0.5]
    result = store.vector_store.query(
        VectorStoreQuery(query_embedding=question, similarity_top_k=3)
    )
    vectors = {node.node_id: node.embedding or [] for node in written}
    for node, score in zip(result.nodes or [], result.similarities or [], strict=True):
        hit = NodeWithScore(node=node, score=score)
        assert store.similarity(hit, question) == pytest.approx(
            cosine(question, vectors[node.node_id]), abs=1e-3
        )


def test_document_ids_with_quotes_and_unicode_are_data_not_code(store: DocumentStore) -> None:
    odd = 'local:it\'s a "test"; DROP TABLE x; -- é.md'
    store.replace_documents({odd: nodes(odd, "h", 2)})
    store.replace_documents({"local:b": nodes("local:b", "h", 1)})
    assert store.documents()[odd].complete
    store.delete_documents([odd])
    assert set(store.documents()) == {"local:b"}


{%- if cookiecutter.vector_store == "chroma" %}


def test_an_unreachable_server_names_its_address(settings: Settings) -> None:
    with pytest.raises(ConnectionError, match=r"127\.0\.0\.1:9"):
        open_store(settings.model_copy(update={"chroma_url": "http://127.0.0.1:9"}))


def test_the_project_server_is_started_once_and_shared(project_chroma: Settings) -> None:
    from {{ cookiecutter.package_name }}.index.chroma_server import running_server, stop_server

    first = open_store(project_chroma)
    state = running_server(project_chroma.data_dir)
    assert state is not None
    open_store(project_chroma)  # a second client finds the running server
    assert running_server(project_chroma.data_dir) == state
    first.replace_documents({"local:a": nodes("local:a", "h", 2)})
    assert stop_server(project_chroma.data_dir)
    assert running_server(project_chroma.data_dir) is None
    assert open_store(project_chroma).count() == 2  # started again, on the same files


def wait_until_stopped(pid: int, url: str, timeout_s: float = 60) -> None:
    """The watcher ``pid`` has exited and nothing answers at ``url`` any more."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with suppress(ChildProcessError):  # reap it: this process may have started it
            os.waitpid(pid, os.WNOHANG)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2)
            except OSError:
                return
        time.sleep(0.5)
    raise AssertionError(f"the Chroma server at {url} still runs after {timeout_s} s")


def test_the_project_server_stops_when_its_folder_is_deleted(project_chroma: Settings) -> None:
    """A test's temporary folder, a project removed: the server does not outlive its files."""
    from {{ cookiecutter.package_name }}.index.chroma_server import running_server

    open_store(project_chroma).replace_documents({"local:a": nodes("local:a", "h", 1)})
    state = running_server(project_chroma.data_dir)
    assert state is not None
    shutil.rmtree(project_chroma.data_dir)
    wait_until_stopped(state.pid, state.url)


def test_the_project_server_stops_once_no_process_uses_it(project_chroma: Settings) -> None:
    """Short commands leave no server behind; a process that still uses it keeps it."""
    from {{ cookiecutter.package_name }}.index.chroma_server import running_server

    idle = project_chroma.model_copy(update={"chroma_server_idle_minutes": 0.02})  # 1.2 s
    count = (
        "from {{ cookiecutter.package_name }}.config import Settings; "
        "from {{ cookiecutter.package_name }}.index.store import open_store; "
        "print(open_store(Settings()).count())"
    )
    store = open_store(idle)  # this process starts the server
    state = running_server(idle.data_dir)
    assert state is not None
    # A short command uses it and ends; the server stays while this process lives.
    env = {**os.environ, "RAG_CHROMA_SERVER_IDLE_MINUTES": "0.02"}
    command = [sys.executable, "-c", count]
    assert subprocess.run(command, env=env, capture_output=True, text=True).stdout == "0\n"
    time.sleep(5)
    assert running_server(idle.data_dir) == state and store.count() == 0
    (idle.data_dir / "chroma-clients" / str(os.getpid())).unlink()  # as if this process had ended
    wait_until_stopped(state.pid, state.url)
    assert running_server(idle.data_dir) is None
    assert open_store(idle).count() == 0  # the next use starts it again


def test_the_project_server_logs_no_line_per_request(
    project_chroma: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log that grows with every question fills the disk of a busy deployment."""
    from {{ cookiecutter.package_name }}.index.chroma_server import LOG_FILE

    monkeypatch.delenv("RUST_LOG", raising=False)
    store = open_store(project_chroma)
    store.replace_documents({"local:a": nodes("local:a", "h", 2)})
    log = project_chroma.data_dir / LOG_FILE
    size = log.stat().st_size
    for _ in range(10):
        assert set(store.documents()) == {"local:a"}
    assert log.stat().st_size == size
{%- elif cookiecutter.vector_store == "pgvector" %}


def test_an_unreachable_server_names_its_address(settings: Settings) -> None:
    down = SecretStr("postgresql://rag:s3cret@127.0.0.1:9/rag")
    with pytest.raises(ConnectionError, match=r"PostgreSQL at .*127\.0\.0\.1:9") as raised:
        open_store(settings.model_copy(update={"database_url": down}))
    assert "s3cret" not in str(raised.value)


def test_the_configured_size_must_match_the_model(settings: Settings) -> None:
    store = open_store(settings)  # sized by RAG_EMBEDDING_DIMENSIONS
    with pytest.raises(EmbeddingMismatchError, match="RAG_EMBEDDING_DIMENSIONS=3"):
        store.record_embedding("model-a", 3)


def test_switching_hybrid_on_for_an_existing_table_asks_for_a_full_refresh(
    settings: Settings,
) -> None:
    open_store(settings.model_copy(update={"embedding_dimensions": 3}))
    with_hybrid = settings.model_copy(update={"embedding_dimensions": 3, "hybrid_search": True})
    hybrid = open_store(with_hybrid)
    with pytest.raises(RuntimeError, match="full refresh"):
        hybrid.vector_store  # noqa: B018 - the query path refuses
    # What the full refresh does: it must be able to open the store first, and builds a new table.
    rebuilt = start_build(hybrid, settings.collection, "p")
    assert open_store(with_hybrid.pinned(rebuilt)).vector_store is not None
{%- else %}


def test_an_unreachable_server_names_its_address() -> None:
    # Needs no Weaviate: it checks what happens when there is none.
    down = Settings(weaviate_url="http://127.0.0.1:9", weaviate_grpc_port=10, _env_file=None)
    with pytest.raises(ConnectionError, match=r"Weaviate at http://127\.0\.0\.1:9"):
        open_store(down)
{%- endif %}
{%- if cookiecutter.vector_store != "chroma" %}


def test_hybrid_search_also_finds_exact_words(settings: Settings) -> None:
    hybrid_settings = {% if cookiecutter.vector_store == "pgvector" %}{"embedding_dimensions": 3, "hybrid_search": True}{% else %}{"hybrid_search": True}{% endif %}
    store = open_store(settings.model_copy(update=hybrid_settings))
    assert store.query_modes != (VectorStoreQueryMode.DEFAULT,)
    store.replace_documents({"local:a": nodes("local:a", "h", 3)})
    keyword = nodes("local:kw", "h", 1)
    keyword[0].text = "pg_hba.conf controls client authentication"
    keyword[0].embedding = [0.0, 0.0, 1.0]  # far from the question's vector
    store.replace_documents({"local:kw": keyword})
    query = VectorStoreQuery(
        query_embedding=[3.0, 1.0, 0.5],
        query_str="pg_hba.conf",
        similarity_top_k=2,
        sparse_top_k=2,
    )
    dense = store.vector_store.query(query)
    assert keyword[0].text not in [n.get_content() for n in dense.nodes or []]
    found = []
    for mode in store.query_modes:  # the lists that the engine fuses
        query.mode = mode
        found += [n.get_content() for n in store.vector_store.query(query).nodes or []]
    assert keyword[0].text in found
{%- endif %}
