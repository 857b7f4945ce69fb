"""Login tokens: short-lived signed id-tokens and rotating, revocable refresh tokens.

The id-token is an HS256 JWT whose ``exp`` the client reads. Its key derives from the key file
and the current key *generation* (``kid``), kept in the database so that every API process on
one database accepts every other's tokens and ``qstation key rotate`` ends them all. The server
bounds a token's age by its own ``id_token_seconds`` whatever the token claims.

Refresh tokens are random, stored only as SHA-256 digests, and replaced by a new one on every
use; the tokens one password login leads to form a *family*, and a spent token presented again
revokes its family (it was copied: whoever holds the successor loses it too).

Every request presents an id-token, so checking one must not cost a database read each time: a
token's signature is checked once and remembered (until it expires), and its user and the key
generation are read at most every :data:`CACHE_SECONDS`, so revocation, removal and rotation
take effect within that time.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta

import jwt

from qstation.errors import AuthenticationFailed, InvalidRefreshToken
from qstation.model import User
from qstation.security.keys import ServiceKeys
from qstation.service.clock import Clock, epoch_seconds, utc_now
from qstation.store import JobStore

KEY_GENERATION = "id-token-key-generation"
_ALGORITHM = "HS256"
CACHE_SECONDS = 2.0
"""How long an API process trusts its last read of a token's user and of the key generation."""
_REMEMBERED_TOKENS = 10_000
_FUTURE_LEEWAY_SECONDS = 60.0
"""An ``iat`` this far ahead of the server's clock is accepted (clocks of a fleet differ)."""


def rotate_key(store: JobStore) -> int:
    """Advance the key generation: every id-token issued before stops working (within
    :data:`CACHE_SECONDS` in every API process). Needs no key file: the generation is all that
    changes. Returns the new generation."""
    return store.accounts.advance_counter(KEY_GENERATION)


@dataclass(frozen=True)
class TokenPair:
    id_token: str
    refresh_token: str

    def wire(self) -> dict[str, str]:
        return {"id-token": self.id_token, "refresh-token": self.refresh_token}


@dataclass(frozen=True)
class _Verified:
    subject: str
    issued_at: float
    generation: int


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenService:
    def __init__(
        self,
        store: JobStore,
        keys: ServiceKeys,
        id_token_seconds: int,
        refresh_token_seconds: int,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.keys = keys
        self.id_token_seconds = id_token_seconds
        self.refresh_token_lifetime = timedelta(seconds=refresh_token_seconds)
        self.clock = clock
        self._verified: OrderedDict[str, _Verified] = OrderedDict()
        self._users: dict[str, tuple[float, User | None]] = {}
        self._generation: tuple[float, int] | None = None

    def issue(self, user: User, family_id: str | None = None) -> TokenPair:
        """A new pair; a password login starts a new refresh-token family."""
        now = self.clock()
        issued_at = round(epoch_seconds(now), 3)
        generation = self.current_generation()
        claims = {
            "sub": user.id,
            "email": user.email,
            "iat": issued_at,
            "exp": int(issued_at + self.id_token_seconds),
        }
        refresh_token = secrets.token_urlsafe(32)
        self.store.accounts.add_refresh_token(
            _digest(refresh_token),
            user.id,
            now + self.refresh_token_lifetime,
            family_id or secrets.token_hex(16),
        )
        id_token = jwt.encode(
            claims,
            self.keys.signing_key(generation),
            algorithm=_ALGORITHM,
            headers={"kid": str(generation)},
        )
        return TokenPair(id_token, refresh_token)

    def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the presented token is spent, a new pair of the same family is issued."""
        spent = self.store.accounts.consume_refresh_token(_digest(refresh_token), self.clock())
        if spent is None or spent.reused:
            raise InvalidRefreshToken("Invalid Refresh Token")
        user = self.store.accounts.get_user(spent.user_id)
        if user is None:
            raise InvalidRefreshToken("Invalid Refresh Token")
        return self.issue(user, spent.family_id)

    def user_of(self, id_token: str) -> User:
        """The user an id-token names, if it is ours, of the current key, not too old, issued
        after the user's sessions were last ended, and the user still exists."""
        verified = self._verify(id_token)
        now = self.clock()
        age = epoch_seconds(now) - verified.issued_at
        if age >= self.id_token_seconds:
            raise AuthenticationFailed("the id-token has expired; log in again")
        if age < -_FUTURE_LEEWAY_SECONDS:
            raise AuthenticationFailed("the id-token is not valid")
        if verified.generation != self.current_generation():
            raise AuthenticationFailed("the id-token's key was rotated; log in again")
        user = self._user(verified.subject)
        if user is None:
            raise AuthenticationFailed("the id-token's user no longer exists")
        ended = user.tokens_valid_after
        if ended is not None and verified.issued_at < epoch_seconds(ended):
            raise AuthenticationFailed("the id-token was revoked; log in again")
        return user

    def _user(self, user_id: str) -> User | None:
        now = time.monotonic()
        cached = self._users.get(user_id)
        if cached is None or now - cached[0] > CACHE_SECONDS:
            cached = (now, self.store.accounts.get_user(user_id))
            self._users[user_id] = cached
        return cached[1]

    def current_generation(self) -> int:
        """The key generation (read at most every :data:`CACHE_SECONDS`)."""
        now = time.monotonic()
        if self._generation is None or now - self._generation[0] > CACHE_SECONDS:
            value = self.store.accounts.get_or_create_secret(KEY_GENERATION, lambda: "1")
            self._generation = (now, int(value))
        return self._generation[1]

    def _verify(self, id_token: str) -> _Verified:
        """The claims of a token signed by one of our keys; a token checked before is
        remembered."""
        remembered = self._verified.get(id_token)
        if remembered is not None:
            return remembered
        try:
            generation = int(jwt.get_unverified_header(id_token).get("kid", ""))
            claims = jwt.decode(
                id_token,
                self.keys.signing_key(generation),
                algorithms=[_ALGORITHM],
                options={"require": ["exp", "iat", "sub"], "verify_iat": False},
                leeway=0,
            )
            verified = _Verified(str(claims["sub"]), float(claims["iat"]), generation)
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed("the id-token has expired; log in again") from None
        except (jwt.InvalidTokenError, ValueError, TypeError):
            raise AuthenticationFailed("the id-token is not valid") from None
        self._verified[id_token] = verified
        if len(self._verified) > _REMEMBERED_TOKENS:
            self._verified.popitem(last=False)
        return verified
