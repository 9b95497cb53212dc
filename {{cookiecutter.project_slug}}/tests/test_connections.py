"""Settings from Airflow connections, read as the official providers' hooks read them (pure logic; a
DAG run through a connection is in test_dag.py)."""

from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.connections import (
{%- if cookiecutter.embeddings == "openai" %}
    embeddings_settings,
{%- endif %}
    store_settings,
    with_connections,
)


@pytest.fixture(autouse=True)
def _airflow_home(airflow_home: Path) -> None:
    """Airflow is imported only after conftest's airflow_home has set its home."""


def airflow_connection(**fields: Any) -> Any:
    from airflow.sdk import Connection

    return Connection(**fields)


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)
{%- if cookiecutter.vector_store == "pgvector" %}


def test_a_postgres_connection_names_the_database_with_its_password_intact() -> None:
    from sqlalchemy.engine import make_url

    connection = airflow_connection(
        conn_id="rag_store",
        conn_type="postgres",
        host="db.internal",
        port=6432,
        login="rag",
        password="p@ss:/w#rd",
        schema="docs",
        extra='{"sslmode": "require", "cursor": "dictcursor"}',
    )
    url = make_url(store_settings(connection)["database_url"].get_secret_value())
    assert (url.host, url.port, url.username, url.password, url.database) == (
        "db.internal",
        6432,
        "rag",
        "p@ss:/w#rd",
        "docs",
    )
    assert dict(url.query) == {"sslmode": "require"}  # libpq's parameters only


def test_a_socket_folder_as_host_reaches_libpq_as_host() -> None:
    from sqlalchemy.engine import make_url

    connection = airflow_connection(
        conn_id="c", conn_type="postgres", host="/run/postgresql", schema="rag"
    )
    url = make_url(store_settings(connection)["database_url"].get_secret_value())
    assert (url.host, url.database, dict(url.query)) == (None, "rag", {"host": "/run/postgresql"})
{%- elif cookiecutter.vector_store == "chroma" %}


@pytest.mark.parametrize(
    ("fields", "url"),
    [
        ({"conn_type": "http", "host": "chroma", "port": 8000}, "http://chroma:8000"),
        (
            {"conn_type": "http", "host": "chroma.example.com", "schema": "https"},
            "https://chroma.example.com",
        ),
        (
            {"conn_type": "https", "host": "https://chroma.example.com/", "port": 443},
            "https://chroma.example.com:443",
        ),
    ],
)
def test_an_http_connection_names_the_chroma_server(fields: dict[str, object], url: str) -> None:
    assert store_settings(airflow_connection(conn_id="rag_store", **fields)) == {"chroma_url": url}


def test_a_connection_without_a_host_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'rag_store' names no host"):
        store_settings(airflow_connection(conn_id="rag_store", conn_type="http"))
{%- else %}


def test_a_weaviate_connection_as_the_provider_reads_it() -> None:
    connection = airflow_connection(
        conn_id="rag_store",
        conn_type="weaviate",
        host="weaviate.internal",
        port=8081,
        extra='{"http_secure": "true", "grpc_port": "50052", "token": "wv-key"}',
    )
    values = store_settings(connection)
    assert values["weaviate_url"] == "https://weaviate.internal:8081"
    assert values["weaviate_grpc_port"] == 50052
    assert values["weaviate_api_key"].get_secret_value() == "wv-key"


def test_a_weaviate_cloud_connection_keeps_its_url_and_takes_the_password_as_key() -> None:
    connection = airflow_connection(
        conn_id="rag_store",
        conn_type="weaviate",
        host="https://abc.weaviate.cloud",
        password="cloud-key",
    )
    values = store_settings(connection)
    assert values["weaviate_url"] == "https://abc.weaviate.cloud"
    assert values["weaviate_api_key"].get_secret_value() == "cloud-key"
    assert "weaviate_grpc_port" not in values
{%- endif %}
{%- if cookiecutter.embeddings == "openai" %}


def test_an_openai_connection_gives_the_key_and_the_server() -> None:
    connection = airflow_connection(
        conn_id="rag_embeddings",
        conn_type="openai",
        password="sk-test",
        extra='{"openai_client_kwargs": {"base_url": "http://127.0.0.1:9000/v1"}}',
    )
    values = embeddings_settings(connection)
    assert values["openai_api_key"].get_secret_value() == "sk-test"
    assert values["embedding_base_url"] == "http://127.0.0.1:9000/v1"
{%- endif %}


def test_without_connection_ids_the_settings_stay_as_they_are() -> None:
    def no_lookup(conn_id: str) -> Any:
        raise AssertionError(f"looked up {conn_id}")

    configured = settings()
    assert with_connections(configured, no_lookup) is configured


def test_the_store_connection_overrides_the_store_settings_only() -> None:
    connection = airflow_connection(
        conn_id="rag_store",
{%- if cookiecutter.vector_store == "pgvector" %}
        conn_type="postgres",
        host="db.internal",
        schema="docs",
{%- elif cookiecutter.vector_store == "chroma" %}
        conn_type="http",
        host="chroma.internal",
        port=8000,
{%- else %}
        conn_type="weaviate",
        host="weaviate.internal",
        port=8080,
{%- endif %}
    )
    configured = settings(store_conn_id="rag_store", top_k=7)
    updated = with_connections(configured, {"rag_store": connection}.__getitem__)
{%- if cookiecutter.vector_store == "pgvector" %}
    assert "db.internal" in updated.database_url.get_secret_value()
{%- elif cookiecutter.vector_store == "chroma" %}
    assert updated.chroma_url == "http://chroma.internal:8000"
{%- else %}
    assert updated.weaviate_url == "http://weaviate.internal:8080"
{%- endif %}
    assert updated.top_k == 7 and configured.store_conn_id == updated.store_conn_id
