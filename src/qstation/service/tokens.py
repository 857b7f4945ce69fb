"""Login tokens: short-lived signed id-tokens and rotating, revocable refresh tokens.

The id-token is an HS256 JWT whose ``exp`` the client reads; the signing key lives in the store,
so every API process sharing a database accepts every other's tokens. Refresh tokens are random,
stored only as SHA-256 digests, and replaced by a new one on every use.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from qstation.errors import AuthenticationFailed, InvalidRefreshToken
from qstation.model import User
from qstation.service.clock import Clock, utc_now
from qstation.store import JobStore

_SIGNING_KEY_NAME = "id-token-signing-key"
_ALGORITHM = "HS256"


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
        user = self.store.accounts.get_user(str(claims["sub"]))
        if user is None:
            raise AuthenticationFailed("the id-token's user no longer exists")
        return user

    def revoke(self, user: User) -> None:
        """Spend every refresh token of ``user``: they must log in with a password again."""
        self.store.accounts.revoke_refresh_tokens(user.id, self.clock())
