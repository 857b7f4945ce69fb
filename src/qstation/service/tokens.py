"""Login tokens: short-lived signed id-tokens and rotating, revocable refresh tokens.

The id-token is an HS256 JWT whose ``exp`` the client reads; the signing key lives in the store,
so every API process sharing a database accepts every other's tokens. Refresh tokens are random,
stored only as SHA-256 digests, and replaced by a new one on every use.

Every request presents an id-token, so checking one must not cost a database read each time:
a token's signature is checked once and remembered (until it expires), and its user is read at
most every :data:`USER_CACHE_SECONDS`, so a removed user's tokens stop working within that time.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from qstation.errors import AuthenticationFailed, InvalidRefreshToken
from qstation.model import User
from qstation.service.clock import Clock, utc_now
from qstation.store import JobStore

_SIGNING_KEY_NAME = "id-token-signing-key"
_ALGORITHM = "HS256"
USER_CACHE_SECONDS = 2.0
"""How long an API process trusts its last read of a token's user."""
_REMEMBERED_TOKENS = 10_000


@dataclass(frozen=True)
class TokenPair:
    id_token: str
    refresh_token: str

    def wire(self) -> dict[str, str]:
        return {"id-token": self.id_token, "refresh-token": self.refresh_token}


def _epoch_seconds(moment: datetime) -> int:
    """Seconds since the epoch for a naive UTC datetime (``.timestamp()`` would assume local)."""
    return int(moment.replace(tzinfo=UTC).timestamp())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenService:
    def __init__(
        self,
        store: JobStore,
        id_token_seconds: int,
        refresh_token_seconds: int,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.id_token_lifetime = timedelta(seconds=id_token_seconds)
        self.refresh_token_lifetime = timedelta(seconds=refresh_token_seconds)
        self.clock = clock
        self._key = store.accounts.get_or_create_secret(
            _SIGNING_KEY_NAME, lambda: secrets.token_hex(32)
        )
        self._verified: OrderedDict[str, tuple[str, int]] = OrderedDict()  # token -> (sub, exp)
        self._users: dict[str, tuple[float, User | None]] = {}

    def issue(self, user: User) -> TokenPair:
        now = self.clock()
        claims = {
            "sub": user.id,
            "email": user.email,
            "iat": _epoch_seconds(now),
            "exp": _epoch_seconds(now + self.id_token_lifetime),
        }
        refresh_token = secrets.token_urlsafe(32)
        self.store.accounts.add_refresh_token(
            _digest(refresh_token), user.id, now + self.refresh_token_lifetime
        )
        return TokenPair(jwt.encode(claims, self._key, algorithm=_ALGORITHM), refresh_token)

    def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the presented token is spent, a new pair is issued."""
        user_id = self.store.accounts.consume_refresh_token(_digest(refresh_token), self.clock())
        user = self.store.accounts.get_user(user_id) if user_id else None
        if user is None:
            raise InvalidRefreshToken("Invalid Refresh Token")
        return self.issue(user)

    def user_of(self, id_token: str) -> User:
        """The user an id-token names, if it is ours, unexpired and the user still exists."""
        subject = self._subject(id_token)
        now = time.monotonic()
        cached = self._users.get(subject)
        if cached is None or now - cached[0] > USER_CACHE_SECONDS:
            cached = (now, self.store.accounts.get_user(subject))
            self._users[subject] = cached
        user = cached[1]
        if user is None:
            raise AuthenticationFailed("the id-token's user no longer exists")
        return user

    def _subject(self, id_token: str) -> str:
        """The user ID of a valid, unexpired id-token; a token checked before is remembered."""
        remembered = self._verified.get(id_token)
        if remembered is not None:
            subject, expires = remembered
            if _epoch_seconds(self.clock()) < expires:
                return subject
            raise AuthenticationFailed("the id-token has expired; log in again")
        try:
            claims = jwt.decode(
                id_token,
                self._key,
                algorithms=[_ALGORITHM],
                options={"require": ["exp", "sub"], "verify_iat": False},
                leeway=0,
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed("the id-token has expired; log in again") from None
        except jwt.InvalidTokenError:
            raise AuthenticationFailed("the id-token is not valid") from None
        self._verified[id_token] = (str(claims["sub"]), int(claims["exp"]))
        if len(self._verified) > _REMEMBERED_TOKENS:
            self._verified.popitem(last=False)
        return str(claims["sub"])

    def revoke(self, user: User) -> None:
        """Spend every refresh token of ``user``: they must log in with a password again."""
        self.store.accounts.revoke_refresh_tokens(user.id, self.clock())
