"""What every DAG of this project shares: a start date, one run at a time, retries that back off,
an alert when a task fails for good, the index as an Asset, and where embedding tasks run (their pool,
Celery queue and Kubernetes pod size).

Airflow imports this whenever it parses the DAG files, so it imports nothing heavy.
"""

import json
import logging
import os
import urllib.request
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset

log = logging.getLogger(__name__)

# Downstream DAGs can run whenever the index changes: schedule=[INDEX_ASSET].
INDEX_ASSET = Asset(
    name="{{ cookiecutter.package_name }}_index",
    uri="x-rag://{{ cookiecutter.project_slug }}/index",
)
# Caps concurrent embedding tasks (API rate limits, or CPU and memory for a local model);
# airflow/pools.json defines it (`make airflow` and `make ingest` import it; on a deployment,
# `airflow pools import airflow/pools.json`).
EMBEDDINGS_POOL = "rag_embeddings"
# Embedding takes more memory and CPU than the other tasks (a local model). With the CeleryExecutor
# these tasks go to this queue, which workers sized for them serve (deploy/docker-compose.yaml runs
# one such worker); others stay on Airflow's default queue. Read when Airflow parses the DAGs.
EMBEDDINGS_QUEUE = os.environ.get("RAG_EMBEDDINGS_QUEUE", "default")
# With the KubernetesExecutor every task is a pod of its own: the embedding tasks' pods get this much
# memory (request and limit, such as "4Gi"; deploy/helm/values.yaml sets it), the others the chart's.
EMBEDDINGS_POD_MEMORY_ENV = "RAG_EMBEDDINGS_POD_MEMORY"
ALERT_WEBHOOK_ENV = "RAG_ALERT_WEBHOOK_URL"


def notify_failure(context: Any) -> None:
    """Log a task that failed after its retries and post it to a chat webhook, if one is set.

    ``RAG_ALERT_WEBHOOK_URL`` takes a Slack incoming webhook or anything that accepts Slack's
    ``{"text": ...}`` (Mattermost, Rocket.Chat, Teams workflows). For e-mail, add Airflow's
    ``SmtpNotifier`` to ``on_failure_callback`` beside this function.
    """
    ti = context["ti"]
    text = (
        f":red_circle: {ti.dag_id}.{ti.task_id} failed (run {context['run_id']}, "
        f"try {ti.try_number}): {context.get('exception')}\nLog: {ti.log_url}"
    )
    log.error("%s", text)
    webhook = os.environ.get(ALERT_WEBHOOK_ENV)
    if not webhook:
        return
    request = urllib.request.Request(
        webhook,
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10):
            pass
    except OSError as error:  # an alert that cannot be sent must not hide the task's own error
        log.warning("could not post the failure alert: %s", error)


def embeddings_executor_config() -> dict[str, Any]:
    """The embedding tasks' pod override for the KubernetesExecutor; nothing where it is not set."""
    memory = os.environ.get(EMBEDDINGS_POD_MEMORY_ENV, "").strip()
    if not memory:
        return {}
    from kubernetes.client import models as k8s  # the official image has it; only parsed here

    resources = k8s.V1ResourceRequirements(requests={"memory": memory}, limits={"memory": memory})
    # "base" is the container the KubernetesExecutor runs the task in; the override merges into it.
    pod = k8s.V1Pod(
        spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="base", resources=resources)])
    )
    return {"pod_override": pod}


def embedding_task() -> dict[str, Any]:
    """Where a task that loads the embedding model runs: the embeddings pool, the queue of the
    workers sized for it, and the pod memory for it (``@task(**embedding_task())``)."""
    return {
        "pool": EMBEDDINGS_POOL,
        "queue": EMBEDDINGS_QUEUE,
        "executor_config": embeddings_executor_config(),
    }


DAG_DEFAULTS: dict[str, Any] = {
    "start_date": pendulum.datetime(2026, 1, 1, tz="UTC"),
    "catchup": False,
    "max_active_runs": 1,
    # Runnable as soon as Airflow sees them: a fresh Airflow pauses new DAGs unless told otherwise.
    "is_paused_upon_creation": False,
    "default_args": {
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "on_failure_callback": notify_failure,
    },
}
