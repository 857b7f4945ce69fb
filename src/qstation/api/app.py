"""The application factory: the lifespan owns the store; routes call the service layer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from qstation import __version__
from qstation.api.errors import install_error_handlers
from qstation.api.routes import router
from qstation.devices.catalogue import DeviceCatalogue
from qstation.service.jobs import JobService
from qstation.service.tokens import TokenService
from qstation.service.users import UserService
from qstation.settings import Settings
from qstation.store import JobStore, open_store


@dataclass
class Services:
    store: JobStore
    catalogue: DeviceCatalogue
    users: UserService
    tokens: TokenService
    jobs: JobService


def build_services(settings: Settings) -> Services:
    store = open_store(settings.database_url())
    catalogue = DeviceCatalogue.load(settings.devices_file)
    return Services(
        store=store,
        catalogue=catalogue,
        users=UserService(store),
        tokens=TokenService(store, settings.id_token_seconds, settings.refresh_token_seconds),
        jobs=JobService(store, catalogue),
    )


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings)
        app.state.services = services
        try:
            yield
        finally:
            services.store.close()

    app = FastAPI(
        title="qstation machine API",
        version=__version__,
        description="The H-Series machine API v1, self-hosted.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(router)
    return app
