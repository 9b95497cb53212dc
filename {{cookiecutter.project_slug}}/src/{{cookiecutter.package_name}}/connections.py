"""Settings from Airflow connections, for the DAGs' tasks.

A deployment keeps credentials where Airflow keeps every other system's: in connections (the metadata
database, ``AIRFLOW_CONN_*`` variables or a secrets backend such as Vault). With
``RAG_STORE_CONN_ID``{% if cookiecutter.embeddings == "openai" %} (and ``RAG_EMBEDDINGS_CONN_ID``){% endif %} set, a task reads the {% if cookiecutter.vector_store == "pgvector" %}database{% elif cookiecutter.vector_store == "chroma" %}Chroma server{% else %}Weaviate server{% endif %}{% if cookiecutter.embeddings == "openai" %} (and the embeddings API){% endif %} from
that connection, in the fields the official provider's hook reads{% if cookiecutter.vector_store == "chroma" %} (Chroma has no provider: an HTTP connection){% endif %}. A connection only fills
in settings: the clients are then built from ``Settings`` as the web UI and the CLI build them, so all
three share one code path. The language model is not named here: no DAG task calls it.
"""

from collections.abc import Callable
from typing import Any
{%- if cookiecutter.vector_store != "chroma" or cookiecutter.embeddings == "openai" %}

from pydantic import SecretStr
{%- endif %}
{%- if cookiecutter.vector_store == "pgvector" %}
from sqlalchemy.engine import URL
{%- endif %}

from .config import Settings

ConnectionLookup = Callable[[str], Any]  # conn_id -> an Airflow Connection
{%- if cookiecutter.vector_store == "pgvector" %}
# libpq parameters that may come from a connection's extra, as the Postgres provider passes them.
LIBPQ_EXTRAS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "options")
{%- endif %}


def task_settings(lookup: ConnectionLookup | None = None) -> Settings:
    """The project's settings, with what the configured Airflow connections name on top."""
    return with_connections(Settings(), lookup or _airflow_connection)


def with_connections(settings: Settings, lookup: ConnectionLookup) -> Settings:
    updates: dict[str, Any] = {}
    if settings.store_conn_id:
        updates |= store_settings(lookup(settings.store_conn_id))
{%- if cookiecutter.embeddings == "openai" %}
    if settings.embeddings_conn_id:
        updates |= embeddings_settings(lookup(settings.embeddings_conn_id))
{%- endif %}
    return settings.model_copy(update=updates) if updates else settings
{%- if cookiecutter.vector_store == "pgvector" %}


def store_settings(connection: Any) -> dict[str, Any]:
    """A Postgres connection (conn type ``postgres``; its ``schema`` is the database)."""
    extra = connection.extra_dejson
    query = {key: str(extra[key]) for key in LIBPQ_EXTRAS if key in extra}
    host = connection.host or None
    if host and host.startswith("/"):  # a Unix socket's folder, which libpq takes as host
        query["host"], host = host, None
    url = URL.create(
        "postgresql",
        username=connection.login or None,
        password=connection.password or None,
        host=host,
        port=connection.port or None,
        database=connection.schema or None,
        query=query,
    )
    return {"database_url": SecretStr(url.render_as_string(hide_password=False))}
{%- elif cookiecutter.vector_store == "chroma" %}


def store_settings(connection: Any) -> dict[str, Any]:
    """An HTTP connection to a Chroma server: host and port; conn type or schema ``https`` for TLS."""
    if not connection.host:
        raise ValueError(f"Airflow connection {connection.conn_id!r} names no host")
    secure = "https" in (connection.conn_type, connection.schema)
    host = connection.host.split("://", 1)[-1].rstrip("/")
    port = f":{connection.port}" if connection.port else ""
    return {"chroma_url": f"{'https' if secure else 'http'}://{host}{port}"}
{%- else %}


def store_settings(connection: Any) -> dict[str, Any]:
    """A Weaviate connection as the Weaviate provider reads it: host (a URL, or a name with
    ``http_secure`` in extra), port, ``grpc_port`` in extra, and the API key as ``token`` or
    ``api_key`` in extra or as the password."""
    if not connection.host:
        raise ValueError(f"Airflow connection {connection.conn_id!r} names no host")
    extra = connection.extra_dejson
    if "://" in connection.host:
        url = connection.host.rstrip("/")
    else:
        secure = str(extra.get("http_secure", "false")).lower() == "true"
        port = f":{connection.port}" if connection.port else ""
        url = f"{'https' if secure else 'http'}://{connection.host}{port}"
    settings: dict[str, Any] = {"weaviate_url": url}
    if "grpc_port" in extra:
        settings["weaviate_grpc_port"] = int(extra["grpc_port"])
    if key := extra.get("token") or extra.get("api_key") or connection.password:
        settings["weaviate_api_key"] = SecretStr(str(key))
    return settings
{%- endif %}
{%- if cookiecutter.embeddings == "openai" %}


def embeddings_settings(connection: Any) -> dict[str, Any]:
    """An OpenAI connection as the OpenAI provider reads it: the API key as password, and an
    OpenAI-compatible server's URL as host or as ``base_url`` in ``openai_client_kwargs``."""
    extra = connection.extra_dejson
    base_url = connection.host or extra.get("openai_client_kwargs", {}).get("base_url")
    settings: dict[str, Any] = {"embedding_base_url": base_url or None}
    if connection.password:
        settings["openai_api_key"] = SecretStr(connection.password)
    return settings
{%- endif %}


def _airflow_connection(conn_id: str) -> Any:
    from airflow.sdk import Connection

    return Connection.get(conn_id)
