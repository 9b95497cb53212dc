"""Health endpoints for a load balancer, Docker or Kubernetes, outside the UI's login.

``/healthz``: the process serves requests (liveness). ``/readyz``: it can answer questions, because
the index and the feedback database respond (readiness). Neither says more than which part failed;
the reason goes to the log.
"""

import logging
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from ..security.redaction import describe

log = logging.getLogger(__name__)

Check = Callable[[], object]  # raises when the part it checks does not respond


def add_health_routes(api: FastAPI, checks: dict[str, Check]) -> None:
    @api.get("/healthz", include_in_schema=False)
    def alive() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/readyz", include_in_schema=False)
    def ready() -> JSONResponse:
        failing = [name for name, check in checks.items() if not _responds(name, check)]
        if failing:
            return JSONResponse({"status": "unavailable", "failing": failing}, status_code=503)
        return JSONResponse({"status": "ready"})


def _responds(name: str, check: Check) -> bool:
    try:
        check()
    except Exception as error:  # any failure means not ready; the details are for the log only
        log.warning("readiness check %s failed: %s", name, describe(error))
        return False
    return True
