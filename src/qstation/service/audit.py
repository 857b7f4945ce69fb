"""Recording what users and administrators do: logins, submissions, cancels, changes.

An audit row must never cost the action it records: a failure to write one is logged and the
action goes on (the database being down fails the action itself anyway).
"""

from __future__ import annotations

import logging

from qstation.errors import QStationError
from qstation.service.clock import Clock, utc_now
from qstation.store import JobStore
from qstation.store.audit import AuditEntry, AuditQuery

log = logging.getLogger(__name__)

OK, REFUSED, FAILED = "ok", "refused", "failed"


class AuditLog:
    def __init__(self, store: JobStore, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def record(
        self,
        action: str,
        outcome: str = OK,
        *,
        actor: str | None = None,
        subject: str | None = None,
        source: str | None = None,
        detail: str | None = None,
    ) -> None:
        entry = AuditEntry(self.clock(), action, outcome, actor, subject, source, detail)
        try:
            self.store.audit.record(entry)
        except QStationError as error:
            log.error("could not record %s in the audit log: %s", entry, error.text)

    def find(self, query: AuditQuery) -> list[AuditEntry]:
        return self.store.audit.find(query)
