"""The host name a Celery worker of the scale-out test reports for its task instances: two workers share
one machine there (Airflow's ``[core] hostname_callable``)."""

import os
import socket


def from_environment() -> str:
    return os.environ.get("RAG_TEST_WORKER_NAME") or socket.getfqdn()
