"""User accounts: creation, listing, removal, password checks."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from qstation.errors import AuthenticationFailed, BadRequest, UserNotFound
from qstation.model import DEFAULT_GROUP, DEFAULT_ORGANISATION, User
from qstation.scheduling.policy import DEFAULT_PRIORITY
from qstation.service.clock import Clock, utc_now
from qstation.service.organisations import OrganisationService, checked_priority
from qstation.service.validation import EMAIL_LENGTH, GROUP_LENGTH, check_plain_text
from qstation.store import JobStore

_hasher = PasswordHasher()  # argon2id with the library's maintained defaults (salted, slow)


class UserService:
    def __init__(self, store: JobStore, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def add(
        self,
        email: str,
        password: str,
        group: str | None = None,
        organisation: str = DEFAULT_ORGANISATION,
        priority: int = DEFAULT_PRIORITY,
    ) -> User:
        """A new user of an existing organisation. Their default ``group`` is made in it when
        it is new (creating users is an administrator's act)."""
        email = normalise_email(email)
        if "@" not in email or any(c.isspace() for c in email):
            raise BadRequest(f"{email!r} is not an email address")
        if not password:
            raise BadRequest("the password must not be empty")
        group_name = check_plain_text(group or DEFAULT_GROUP, "the group name", GROUP_LENGTH)
        organisations = OrganisationService(self.store, self.clock)
        organisations.require(organisation)
        if self.store.organisations.get_group(organisation, group_name) is None:
            organisations.add_group(organisation, group_name)
        user = User(
            id=secrets.token_hex(16),
            email=email,
            password_hash=_hasher.hash(password),
            group=group_name,
            created_at=self.clock(),
            organisation=organisation,
            priority=checked_priority(priority),
        )
        return self.store.accounts.create_user(user)

    def set_priority(self, email: str, priority: int) -> None:
        self.store.accounts.set_user_priority(normalise_email(email), checked_priority(priority))

    def list(self) -> list[User]:
        return self.store.accounts.list_users()

    def get(self, email: str) -> User:
        user = self.store.accounts.get_user_by_email(normalise_email(email))
        if user is None:
            raise UserNotFound(f"No user with email {email}.")
        return user

    def remove(self, email: str) -> None:
        self.store.accounts.remove_user(normalise_email(email))

    def authenticate(self, email: str, password: str) -> User:
        """The user with these credentials; one error for every kind of mismatch."""
        try:
            user = self.store.accounts.get_user_by_email(normalise_email(email))
        except BadRequest:
            user = None
        if user is None:
            _hasher.hash(password)  # same work either way, so timing does not reveal accounts
            raise AuthenticationFailed("Invalid username or password")
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            raise AuthenticationFailed("Invalid username or password") from None
        return user


def normalise_email(email: str) -> str:
    """Emails name accounts case-insensitively: ``You@X.com`` and ``you@x.com`` are one user."""
    return check_plain_text(email.strip(), "the email address", EMAIL_LENGTH).lower()
