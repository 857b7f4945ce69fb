"""The service layer wired to one store: what the API's lifespan and the CLI both open."""

from __future__ import annotations

from functools import cached_property

from qstation.devices.catalogue import DeviceCatalogue
from qstation.errors import ConfigurationError
from qstation.security.files import private_directory, private_sqlite_files
from qstation.security.keys import ServiceKeys
from qstation.service.administration import Administration
from qstation.service.audit import AuditLog
from qstation.service.calendar import CalendarService
from qstation.service.jobs import JobService
from qstation.service.logins import LoginService
from qstation.service.organisations import OrganisationService
from qstation.service.portal_sessions import PortalSessions
from qstation.service.tokens import TokenService
from qstation.service.usage import UsageService
from qstation.service.users import UserService
from qstation.settings import Settings
from qstation.store import JobStore, open_store

KEY_FINGERPRINT = "key-file-fingerprint"


class Services:
    """Every service on one store. The key file is read only by what needs it (tokens, logins,
    MFA), so administrative commands on a host without it still work."""

    def __init__(self, settings: Settings, store: JobStore, catalogue: DeviceCatalogue) -> None:
        self.settings = settings
        self.store = store
        self.catalogue = catalogue
        self.audit = AuditLog(store)
        self.users = UserService(store)
        self.organisations = OrganisationService(store)
        self.jobs = JobService(
            store,
            catalogue,
            fair_share_window=settings.fair_share_window,
            settings=settings,
            audit=self.audit,
        )
        self.calendar = CalendarService(store, catalogue)
        self.usage = UsageService(store, self.organisations, settings.fair_share_window)
        self.administration = Administration(
            self.users, self.organisations, self.calendar, self.audit
        )

    @cached_property
    def keys(self) -> ServiceKeys:
        return open_keys(self.settings, self.store)

    @cached_property
    def tokens(self) -> TokenService:
        settings = self.settings
        return TokenService(
            self.store, self.keys, settings.id_token_seconds, settings.refresh_token_seconds
        )

    @cached_property
    def logins(self) -> LoginService:
        return LoginService(self.store, self.keys, self.tokens, self.audit)

    @cached_property
    def portal_sessions(self) -> PortalSessions:
        lifetime = self.settings.portal_session_seconds
        return PortalSessions(self.store, self.keys, self.tokens, lifetime)

    def close(self) -> None:
        self.store.close()


def open_keys(settings: Settings, store: JobStore) -> ServiceKeys:
    """The key file's keys, checked against the fingerprint the database was set up with (the
    first process to read a key file records its fingerprint)."""
    path = settings.key_path()
    if settings.key_file is None:
        private_directory(settings.data_dir)
    keys = ServiceKeys.load_or_create(path)
    recorded = store.accounts.get_or_create_secret(KEY_FINGERPRINT, keys.fingerprint)
    if recorded != keys.fingerprint():
        raise ConfigurationError(
            f"the key file {path} is not the one this database was set up with; copy the key "
            "file of the first host that ran the API (QSTATION_KEY_FILE) to this one"
        )
    return keys


def open_services(settings: Settings) -> Services:
    """Open (and migrate) the store and build every service on it."""
    catalogue = DeviceCatalogue.load(settings.devices_file)  # fail on a bad file before opening
    if settings.database is None:  # the embedded store: its directory is ours alone
        private_directory(settings.data_dir)
    store = open_store(settings.database_url(), settings.database_pool_size)
    if settings.database is None:  # files an older installation made under umask 022
        private_sqlite_files(settings.data_dir / "qstation.db")
    try:
        return Services(settings, store, catalogue)
    except BaseException:
        store.close()
        raise
