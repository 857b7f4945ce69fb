"""Health for load balancers and orchestrators: ``/livez`` (the process answers) and
``/readyz`` (it can serve: the database answers and its schema is one this code runs on).
Neither needs a login; neither tells anything about jobs or users.

``/readyz`` also says how many workers are alive, but does not fail for none: an API process
without workers still takes submissions and serves results, and taking every API process out
of rotation because the workers are down would turn a slow queue into an outage. Alert on
``qstation_workers_alive`` instead (``docs/deployment.md``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from qstation.api.app_state import services_of
from qstation.errors import SchemaMismatch
from qstation.service.clock import utc_now
from qstation.store.migrations import LATEST, runs_on, schema_state, too_new

router = APIRouter(tags=["health"])


@router.get("/livez")
def live() -> dict[str, str]:
    return {"status": "alive"}


@router.get("/readyz")
async def ready(request: Request) -> dict[str, object]:
    """503 while the database is unreachable (code 5) or its schema is not this code's
    (code 7): a load balancer then sends requests to another API process."""
    database = services_of(request).store.database
    version, oldest_code = await run_in_threadpool(schema_state, database)
    workers = services_of(request).store.workers
    if not runs_on(version, oldest_code):
        if version > LATEST:
            raise too_new(version)
        raise SchemaMismatch(
            f"the database's schema is at version {version}, this code needs {LATEST}: "
            "restart with the matching qstation version"
        )
    alive = await run_in_threadpool(workers.count_alive, utc_now())
    return {"status": "ready", "schema": version, "workers_alive": alive}
