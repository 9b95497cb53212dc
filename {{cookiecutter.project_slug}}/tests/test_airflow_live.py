"""Airflow as `make airflow` runs it: scheduler, DAG processor, triggerer and API server as processes of
their own, a run triggered through the REST API, its mapped batches scheduled in the project's pool."""

import json
import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from {{ cookiecutter.package_name }}.config import Settings
{%- if cookiecutter.embeddings == "local" %}
from {{ cookiecutter.package_name }}.evaluation.records import EvalRecords
{%- endif %}
from {{ cookiecutter.package_name }}.index.store import open_store

from .conftest import PROJECT, free_port, wait_for_http
from .ingestion.test_pipeline import SAMPLE_COUNT
from .processes import start_group, stop_groups

pytestmark = pytest.mark.slow
RUN_TIMEOUT_S = 600


class Airflow:
    """A running `make airflow`, reached through its REST API with a token of its admin user."""

    def __init__(self, url: str, home: Path, settings: Settings) -> None:
        self.url, self.home, self.settings = url, home, settings
        password = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
        token = httpx.post(
            f"{url}/auth/token", json={"username": "admin", "password": password["admin"]}
        )
        token.raise_for_status()
        self.http = httpx.Client(
            base_url=f"{url}/api/v2",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            timeout=30,
        )

    def get(self, path: str) -> Any:
        response = self.http.get(path)
        response.raise_for_status()
        return response.json()

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        """Trigger a run; return its id. SQLite, the metadata database of `airflow standalone`, can
        be locked for a moment by the scheduler's own writes: a 5xx is tried again."""
        for _ in range(5):
            response = self.http.post(
                f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf}
            )
            if response.status_code < 500:
                break
            time.sleep(3)
        response.raise_for_status()
        return str(response.json()["dag_run_id"])

    def wait_for(self, path: str, done: Any, timeout_s: float = RUN_TIMEOUT_S) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            response = self.http.get(path)
            if response.status_code == 200 and done(body := response.json()):
                return body
            time.sleep(2)
        raise AssertionError(f"{path} did not reach the expected state in {timeout_s} s")


@pytest.fixture
def airflow(
{%- if cookiecutter.vector_store == "chroma" %}
    project_chroma: Settings,
{%- else %}
    settings: Settings,
{%- endif %}
    tmp_path: Path,
) -> Iterator[Airflow]:
    home = tmp_path / "airflow"
    port = free_port()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        # Free ports for the log servers too: a second Airflow on this machine must not collide.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__API_AUTH__JWT_SECRET": "test-secret-" + "x" * 32,
    }
    make_airflow = ["make", "airflow", f"AIRFLOW_PORT={port}"]
    process = start_group(make_airflow, tmp_path / "airflow.log", env, cwd=PROJECT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/api/v2/monitor/health", timeout_s=300)
{%- if cookiecutter.vector_store == "chroma" %}
        yield Airflow(url, home, project_chroma)
{%- else %}
        yield Airflow(url, home, settings)
{%- endif %}
    finally:
        stop_groups([process], grace_s=60)


def finished_runs(body: dict[str, Any]) -> bool:
    runs = body["dag_runs"]
    return bool(runs) and all(run["state"] in {"success", "failed"} for run in runs)


def test_make_airflow_runs_the_ingestion_as_a_scheduler_would(airflow: Airflow) -> None:
    # The pool exists, so the mapped tasks get scheduled; the DAG is runnable as it comes.
    assert airflow.get("/pools/rag_embeddings")["slots"] >= 1
    dag = airflow.wait_for("/dags/ingest_docs", lambda body: True, timeout_s=180)
    assert dag["is_paused"] is False

    # The scheduler starts the daily run at once; let it finish, then trigger a full refresh, so that
    # the triggered run embeds every document again.
    airflow.wait_for("/dags/ingest_docs/dagRuns", finished_runs)
    run_id = airflow.trigger("ingest_docs", {"full_refresh": True})
    run = airflow.wait_for(
        f"/dags/ingest_docs/dagRuns/{run_id}", lambda body: body["state"] in {"success", "failed"}
    )
    tasks = airflow.get(f"/dags/ingest_docs/dagRuns/{run_id}/taskInstances")["task_instances"]
    states = {(t["task_id"], t["map_index"]): t["state"] for t in tasks}
    assert run["state"] == "success", states
    assert states[("ingest_batch", 0)] == "success"  # a mapped batch, scheduled in the pool
    assert states[("announce", -1)] == "success"  # the index changed: an Asset event
    # Rebuilt as a new index version beside the first, which release made live.
    assert states[("release", -1)] == "success"
    live = open_store(airflow.settings)
    assert live.version == f"{airflow.settings.collection}__v2"
    assert len(live.documents()) == SAMPLE_COUNT

    # The index changed, so its Asset triggers the evaluation of what was just ingested. (Waited
    # for, its task cannot outlive the test and start the store's server again after teardown.)
    announced = datetime.fromisoformat(
        next(t["end_date"] for t in tasks if t["task_id"] == "announce")
    )

    def evaluated(body: dict[str, Any]) -> bool:
        runs = body["dag_runs"]
        queued = [datetime.fromisoformat(r["queued_at"]) for r in runs if r["queued_at"]]
        return finished_runs(body) and any(moment >= announced for moment in queued)

    evaluations = airflow.wait_for("/dags/evaluate_retrieval/dagRuns", evaluated)
    assert {r["state"] for r in evaluations["dag_runs"]} == {"success"}
    # On the first try: an evaluation that read the index while the full refresh rebuilt it must
    # follow the rebuilt index, not fail and pass on a retry.
    tries = {
        (run["dag_run_id"], task["task_id"]): task["try_number"]
        for run in evaluations["dag_runs"]
        for task in airflow.get(
            f"/dags/evaluate_retrieval/dagRuns/{run['dag_run_id']}/taskInstances"
        )["task_instances"]
    }
    assert tries and set(tries.values()) == {1}, tries

    assert error_lines(airflow, "ingest_docs", run_id) == []  # a clean run logs no errors


def error_lines(airflow: Airflow, dag_id: str, run_id: str) -> list[str]:
    """The error-level lines of a run's task logs."""
    logs = airflow.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
    return [
        f"{path.relative_to(logs)}: {line[:300]}"
        for path in logs.rglob("*.log")
        for line in path.read_text().splitlines()
        if '"level":"error"' in line.replace(" ", "")
    ]
{%- if cookiecutter.embeddings == "local" %}


@pytest.fixture
def enough_pairs(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's question set as the accepted evaluation cases: pairs enough for an experiment
    on the sample documents."""
    monkeypatch.setenv("RAG_EVAL_QUESTIONS", str(PROJECT / "eval" / "questions.jsonl"))
    monkeypatch.setenv("RAG_FINETUNE_MIN_PAIRS", "5")


def finished_run_tasks(airflow: Airflow, dag_id: str, run_id: str) -> dict[str, Any]:
    """A run's task states, pools and tries, once the run has finished successfully."""
    run = airflow.wait_for(
        f"/dags/{dag_id}/dagRuns/{run_id}", lambda body: body["state"] in {"success", "failed"}
    )
    tasks = airflow.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
    states = {
        t["task_id"]: (t["state"], t["pool"], t["try_number"]) for t in tasks["task_instances"]
    }
    assert run["state"] == "success", states
    return states


def test_make_airflow_runs_the_experiments(enough_pairs: None, airflow: Airflow) -> None:
    """Fine-tuning, then another embedding backend: the steps hand the experiment on through XCom,
    train, embed and score in the embeddings pool, leave the live version answering, and log no
    errors (a model's progress bars land in a task's log as error lines)."""
    airflow.wait_for("/dags/ingest_docs/dagRuns", finished_runs)  # the scheduled run: an index
    store = open_store(airflow.settings)
    live, chunks = store.live_version(), store.count()
    heavy = ("success", "rag_embeddings", 1)
    light = ("success", "default_pool", 1)

    run_id = airflow.trigger("finetune_embeddings", {"negative_control": True})
    assert finished_run_tasks(airflow, "finetune_embeddings", run_id) == {
        "prepare": light,
        "train": heavy,
        "build": heavy,
        "score": heavy,
        "decide": light,
    }
    (finetune,) = EvalRecords(airflow.settings.feedback_url).experiments()
    assert finetune.decision == "refused", finetune.as_text()
    assert finetune.lineage["data"]["negative_control"] is True
    assert error_lines(airflow, "finetune_embeddings", run_id) == []

    changes = {"embedding_backend": "onnx-int8"}
    run_id = airflow.trigger("reembed_experiment", {"changes": changes, "margin": 0.02})
    assert finished_run_tasks(airflow, "reembed_experiment", run_id) == {"experiment": heavy}
    (reembed,) = [
        e for e in EvalRecords(airflow.settings.feedback_url).experiments() if e.id != finetune.id
    ]
    assert (reembed.kind, reembed.lineage["changes"]) == ("reembed", changes)
    assert reembed.decision in {"kept", "refused"} and reembed.candidate != live
    assert set(reembed.figures) == {"baseline", "candidate", "questions"}, reembed.as_text()
    assert (store.live_version(), store.count()) == (live, chunks)
    assert error_lines(airflow, "reembed_experiment", run_id) == []
{%- endif %}
