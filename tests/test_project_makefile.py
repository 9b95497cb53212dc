"""The generated Makefile's own logic, with a stand-in for `uv` that records what it is asked to run.

The real commands run in the generated suites and the workshop; here, what runs when.
"""

import os
import stat
from pathlib import Path

import pytest

from .conftest import bake, run

RECORDING_UV = """#!/bin/sh
echo "$*" >> "$UV_CALLS"
case "$*" in *"db migrate"*) touch "$AIRFLOW_HOME/airflow.db";; esac
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return bake(tmp_path / "bake")


def airflow_calls(project: Path, tmp_path: Path, **env: str) -> list[str]:
    """The Airflow commands that one `make airflow-db` runs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    uv = bin_dir / "uv"
    uv.write_text(RECORDING_UV)
    uv.chmod(uv.stat().st_mode | stat.S_IEXEC)
    calls = tmp_path / "calls.txt"
    calls.unlink(missing_ok=True)
    home = tmp_path / "airflow-home"
    home.mkdir(exist_ok=True)
    run(
        ["make", "airflow-db"],
        cwd=project,
        env={
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "UV_CALLS": str(calls),
            "AIRFLOW_HOME": str(home),
            **env,
        },
    )
    lines = calls.read_text().splitlines() if calls.exists() else []
    return [line for line in lines if line.startswith("run airflow")]


MIGRATE = ["run airflow db migrate", "run airflow pools import airflow/pools.json"]


def test_the_metadata_database_is_migrated_once_until_something_changes(
    project: Path, tmp_path: Path
) -> None:
    assert airflow_calls(project, tmp_path) == MIGRATE
    assert airflow_calls(project, tmp_path) == []  # no Airflow start-up on every `make ingest`
    (project / "airflow" / "pools.json").write_text('{"rag_embeddings": {"slots": 2}}')
    assert airflow_calls(project, tmp_path) == MIGRATE
    (tmp_path / "airflow-home" / "airflow.db").unlink()
    assert airflow_calls(project, tmp_path) == MIGRATE


def test_another_metadata_database_is_migrated_and_its_url_is_not_stored(
    project: Path, tmp_path: Path
) -> None:
    assert airflow_calls(project, tmp_path) == MIGRATE
    url = "postgresql+psycopg2://airflow:s3cret-password@db/airflow"
    assert airflow_calls(project, tmp_path, AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=url) == MIGRATE
    assert airflow_calls(project, tmp_path, AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=url) == []
    stamp = (tmp_path / "airflow-home" / ".db-ready").read_text()
    assert "s3cret" not in stamp and "postgresql" not in stamp
