"""The application factory: the lifespan owns the store; routes call the service layer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from qstation import __version__
from qstation.api.errors import install_error_handlers
from qstation.api.routes import router
from qstation.service.services import open_services
from qstation.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = open_services(settings)
        app.state.services = services
        try:
            yield
        finally:
            services.close()

    app = FastAPI(
        title="qstation machine API",
        version=__version__,
        description="The H-Series machine API v1, self-hosted.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(router)
    return app
