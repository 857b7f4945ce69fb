"""The service layer wired to one store: what the API's lifespan and the CLI both open."""

from __future__ import annotations

from dataclasses import dataclass

from qstation.devices.catalogue import DeviceCatalogue
from qstation.service.calendar import CalendarService
from qstation.service.jobs import JobService
from qstation.service.organisations import OrganisationService
from qstation.service.tokens import TokenService
from qstation.service.users import UserService
from qstation.settings import Settings
from qstation.store import JobStore, open_store


@dataclass
class Services:
    settings: Settings
    store: JobStore
    catalogue: DeviceCatalogue
    users: UserService
    organisations: OrganisationService
    tokens: TokenService
    jobs: JobService
    calendar: CalendarService

    def close(self) -> None:
        self.store.close()


def open_services(settings: Settings) -> Services:
    """Open (and migrate) the store and build every service on it."""
    catalogue = DeviceCatalogue.load(settings.devices_file)  # fail on a bad file before opening
    store = open_store(settings.database_url(), settings.database_pool_size)
    try:
        return Services(
            settings=settings,
            store=store,
            catalogue=catalogue,
            users=UserService(store),
            organisations=OrganisationService(store),
            tokens=TokenService(store, settings.id_token_seconds, settings.refresh_token_seconds),
            jobs=JobService(store, catalogue, fair_share_window=settings.fair_share_window),
            calendar=CalendarService(store, catalogue),
        )
    except BaseException:
        store.close()
        raise
