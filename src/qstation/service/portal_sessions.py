"""Portal sign-in sessions and the CSRF tokens bound to them.

The browser holds ``<generation>.<session id>.<signature>`` in an ``HttpOnly``, ``SameSite``
cookie. The signature (HMAC with a key derived from the key file and the id-token key
generation) turns away forged cookies before any database read; the database keeps only the
session id's SHA-256, so a copy of it opens no session. A session ends when it expires
(``QSTATION_PORTAL_SESSION_SECONDS``), on sign-out, when its user's sessions are ended (new
password, revocation, removal), and when ``qstation key rotate`` advances the generation.

Every form carries a CSRF token: the HMAC of the session id under another derived key, so a
page of another site, which cannot read the cookie, cannot produce it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from qstation.model import User
from qstation.security.keys import ServiceKeys
from qstation.service.clock import Clock, utc_now
from qstation.service.tokens import TokenService
from qstation.store import JobStore


@dataclass(frozen=True)
class PortalSession:
    user: User
    cookie: str
    csrf_token: str


class PortalSessions:
    def __init__(
        self,
        store: JobStore,
        keys: ServiceKeys,
        tokens: TokenService,
        lifetime_seconds: int,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.keys = keys
        self.tokens = tokens
        self.lifetime = timedelta(seconds=lifetime_seconds)
        self.clock = clock

    def open(self, user: User) -> str:
        """A new session of ``user``; returns the cookie's value."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        self.store.sessions.create(_digest(session_id), user.id, now, now + self.lifetime)
        generation = self.tokens.current_generation()
        return f"{generation}.{session_id}.{self._sign(generation, session_id)}"

    def find(self, cookie: str | None) -> PortalSession | None:
        """The live session a cookie names, or None."""
        parts = (cookie or "").split(".")
        if len(parts) != 3 or not (parts[0].isascii() and parts[0].isdecimal()):
            return None
        generation, session_id, signature = int(parts[0]), parts[1], parts[2]
        expected = self._sign(generation, session_id)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return None
        if generation != self.tokens.current_generation():
            return None
        found = self.store.sessions.user_of(_digest(session_id), self.clock())
        if found is None:
            return None
        user, created_at = found
        if user.tokens_valid_after is not None and created_at < user.tokens_valid_after:
            return None
        return PortalSession(user, cookie or "", self._csrf(session_id))

    def close(self, cookie: str | None) -> None:
        """Sign out: the session ends on the server, whatever the browser keeps."""
        if self.find(cookie) is not None:
            session_id = (cookie or "").split(".")[1]
            self.store.sessions.end(_digest(session_id), self.clock())

    def _sign(self, generation: int, session_id: str) -> str:
        key = self.keys.derive(f"portal session {generation}")
        return hmac.new(key, session_id.encode(), hashlib.sha256).hexdigest()

    def _csrf(self, session_id: str) -> str:
        key = self.keys.derive("portal csrf")
        return hmac.new(key, session_id.encode(), hashlib.sha256).hexdigest()


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()
