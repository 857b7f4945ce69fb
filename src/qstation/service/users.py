"""User accounts: creation, listing, removal, password checks."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from qstation.errors import AuthenticationFailed, BadRequest
from qstation.model import User
from qstation.service.clock import Clock, utc_now
from qstation.store import JobStore

DEFAULT_GROUP = "DEFAULT"
_hasher = PasswordHasher()  # argon2id with the library's maintained defaults (salted, slow)


class UserService:
    def __init__(self, store: JobStore, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def add(self, email: str, password: str, group: str | None = None) -> User:
        email = email.strip()
        if "@" not in email or any(c.isspace() for c in email):
            raise BadRequest(f"{email!r} is not an email address")
        if not password:
            raise BadRequest("the password must not be empty")
        user = User(
            id=secrets.token_hex(16),
            email=email,
            password_hash=_hasher.hash(password),
            group=group or DEFAULT_GROUP,
            created_at=self.clock(),
        )
        return self.store.create_user(user)

    def list(self) -> list[User]:
        return self.store.list_users()

    def remove(self, email: str) -> None:
        self.store.remove_user(email)

    def authenticate(self, email: str, password: str) -> User:
        """The user with these credentials; one error for every kind of mismatch."""
        user = self.store.get_user_by_email(email)
        if user is None:
            _hasher.hash(password)  # same work either way, so timing does not reveal accounts
            raise AuthenticationFailed("Invalid username or password")
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            raise AuthenticationFailed("Invalid username or password") from None
        return user
