"""User accounts: creation, listing, removal, passwords and MFA, as an administrator does them."""

from __future__ import annotations

import contextlib
import secrets

from qstation.errors import BadRequest, JobAlreadyFinished, UserNotFound
from qstation.model import DEFAULT_GROUP, DEFAULT_ORGANISATION, JobQuery, JobStatus, Role, User
from qstation.scheduling.policy import DEFAULT_PRIORITY
from qstation.security import totp
from qstation.security.keys import ServiceKeys
from qstation.security.passwords import check_policy, hash_password
from qstation.service.clock import Clock, utc_now
from qstation.service.organisations import OrganisationService, checked_priority
from qstation.service.validation import EMAIL_LENGTH, GROUP_LENGTH, check_plain_text
from qstation.store import JobStore

MFA_PURPOSE = "mfa secret"
"""What the key file's MFA key is derived for (see :mod:`qstation.security.keys`)."""
_NOT_ENDED = JobQuery(statuses=frozenset({JobStatus.QUEUED, JobStatus.RUNNING}), limit=500)


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
        role: Role = Role.MEMBER,
    ) -> User:
        """A new user of an existing organisation. Their default ``group`` is made in it when
        it is new (creating users is an administrator's act)."""
        email = normalise_email(email)
        if "@" not in email or any(c.isspace() for c in email):
            raise BadRequest(f"{email!r} is not an email address")
        check_policy(password, email)
        group_name = check_plain_text(group or DEFAULT_GROUP, "the group name", GROUP_LENGTH)
        organisations = OrganisationService(self.store, self.clock)
        organisations.require(organisation)
        if self.store.organisations.get_group(organisation, group_name) is None:
            organisations.add_group(organisation, group_name)
        user = User(
            id=secrets.token_hex(16),
            email=email,
            password_hash=hash_password(password),
            group=group_name,
            created_at=self.clock(),
            organisation=organisation,
            priority=checked_priority(priority),
            role=role,
        )
        return self.store.accounts.create_user(user)

    def set_role(self, email: str, role: Role) -> None:
        self.store.accounts.set_role(normalise_email(email), role)

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
        """Remove the user: their sessions end, their jobs that have not started are canceled
        and running ones asked to stop; the jobs themselves stay, for accounting."""
        user = self.get(email)
        self.store.accounts.end_sessions(user.id, self.clock())
        while batch := self.store.jobs.find(user.id, _NOT_ENDED):  # cancelled jobs leave it
            for job in batch:
                with contextlib.suppress(JobAlreadyFinished):
                    self.store.jobs.cancel(job.id, user.id, self.clock())
        self.store.accounts.remove_user(user.email)

    def set_password(self, email: str, password: str) -> None:
        """A new password; every session of the user ends."""
        user = self.get(email)
        check_policy(password, user.email)
        self.store.accounts.set_password(user.id, hash_password(password), self.clock())

    def end_sessions(self, email: str) -> None:
        """Revoke the user's refresh tokens and id-tokens: every session must log in again."""
        self.store.accounts.end_sessions(self.get(email).id, self.clock())

    def enable_mfa(self, email: str, keys: ServiceKeys) -> str:
        """Give the user a new TOTP secret (replacing any other); returns the ``otpauth://``
        URI to show them once, as text and QR code."""
        user = self.get(email)
        secret = totp.new_secret()
        self.store.accounts.set_mfa_secret(user.id, keys.encrypt(secret, MFA_PURPOSE))
        return totp.provisioning_uri(secret, user.email)

    def disable_mfa(self, email: str) -> None:
        self.store.accounts.set_mfa_secret(self.get(email).id, None)


def normalise_email(email: str) -> str:
    """Emails name accounts case-insensitively: ``You@X.com`` and ``you@x.com`` are one user."""
    return check_plain_text(email.strip(), "the email address", EMAIL_LENGTH).lower()
