"""The application factory: the lifespan owns the store; routes call the service layer."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from qstation import __version__
from qstation.api.admin import router as admin_router
from qstation.api.app_state import store_call
from qstation.api.body_limit import BodyLimit
from qstation.api.docs_pages import install_docs_pages
from qstation.api.errors import install_error_handlers
from qstation.api.health import router as health_router
from qstation.api.job_waits import JobWaits, Progress, ReadProgress
from qstation.api.metrics import router as metrics_router
from qstation.api.routes import router
from qstation.logs import configure_logging
from qstation.portal import router as portal_router
from qstation.portal.web import STATIC_DIRECTORY
from qstation.processes import die_with_parent
from qstation.service.services import Services, open_services
from qstation.settings import Settings


def app_from_environment() -> FastAPI:
    """The app of one of several API processes that ``serve`` starts: its settings come from
    the ``QSTATION_*`` environment ``serve`` hands down, and it dies with ``serve``."""
    die_with_parent()
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)


_SWITCH_INTERVAL_SECONDS = 0.0001
"""How long a thread may hold the GIL while another waits (Python's default: 5 ms). The
committer thread holds the database's write lock; waiting 5 ms for the event loop to yield
the GIL stalled every submission behind it (batches of 3 took 9 ms instead of 3)."""


def progress_reader(services: Services) -> ReadProgress:
    """Reads for the long polls, run as every store call from the event loop is."""

    async def read_progress(job_ids: Sequence[str]) -> dict[str, Progress]:
        return await store_call(services, services.store.jobs.progress, job_ids)

    return read_progress


def create_app(settings: Settings) -> FastAPI:
    sys.setswitchinterval(_SWITCH_INTERVAL_SECONDS)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = open_services(settings)
        try:
            services.tokens  # noqa: B018 - read the key file now: a bad one stops the start
        except BaseException:
            services.close()
            raise
        app.state.services = services
        app.state.job_waits = JobWaits(progress_reader(services))
        try:
            yield
        finally:
            services.close()

    app = FastAPI(
        title="qstation machine API",
        version=__version__,
        description="The H-Series machine API v1, self-hosted.",
        lifespan=lifespan,
        docs_url=None,  # served from the package by install_docs_pages
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.include_router(router)
    app.include_router(admin_router)
    app.include_router(health_router)
    app.include_router(metrics_router)
    install_docs_pages(app)
    app.mount("/static/portal", StaticFiles(directory=STATIC_DIRECTORY), name="portal-assets")
    app.include_router(portal_router)
    return app
