"""What every DAG of this project shares: a start date, one run at a time, retries that back off.

Airflow imports this whenever it parses the DAG files, so it imports nothing heavy.
"""

from datetime import timedelta
from typing import Any

import pendulum

DAG_DEFAULTS: dict[str, Any] = {
    "start_date": pendulum.datetime(2026, 1, 1, tz="UTC"),
    "catchup": False,
    "max_active_runs": 1,
    "default_args": {
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
    },
}
