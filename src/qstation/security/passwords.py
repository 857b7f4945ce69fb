"""Passwords: argon2id hashes, a policy in the spirit of NIST SP 800-63B, bounded checks.

Policy (SP 800-63B §3.1.1.2): at least :data:`MIN_LENGTH` characters, at most
:data:`MAX_LENGTH`, any characters (no composition rules), and not a well-known password, nor
one made of the account's own email. Each argon2 check takes 64 MiB and tens of milliseconds, so
at most :data:`CONCURRENT_CHECKS` run at once in a process; the rest wait their turn, up to
:data:`CHECK_WAIT_SECONDS`, and are then told to retry (503), which bounds the memory a flood of
logins can take.
"""

from __future__ import annotations

import threading
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from qstation.errors import BadRequest, ServiceBusy

MIN_LENGTH = 12
MAX_LENGTH = 256
CONCURRENT_CHECKS = 2
CHECK_WAIT_SECONDS = 10.0

_hasher = PasswordHasher()  # argon2id with the library's maintained defaults (salted, slow)
_checks = threading.BoundedSemaphore(CONCURRENT_CHECKS)


def _common_passwords() -> frozenset[str]:
    text = resources.files("qstation.security").joinpath("common-passwords.txt").read_text()
    lines = (line.strip().lower() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


COMMON_PASSWORDS = _common_passwords()


def check_policy(password: str, email: str) -> None:
    """Raise BadRequest naming what is wrong with ``password`` for the account ``email``."""
    if len(password) < MIN_LENGTH:
        raise BadRequest(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise BadRequest(f"the password must have at most {MAX_LENGTH} characters")
    folded = password.strip().lower()
    local_part = email.split("@", 1)[0].lower()
    if folded in COMMON_PASSWORDS or len(set(folded)) < 4 or _is_sequence(folded):
        raise BadRequest("the password is too common or too simple; choose a longer passphrase")
    if folded in (email.lower(), local_part) or (len(local_part) >= 4 and local_part in folded):
        raise BadRequest("the password must not contain the account's name")


_SEQUENCES = ("0123456789" * 3, "9876543210" * 3, "abcdefghijklmnopqrstuvwxyz", "qwertyuiop" * 2)


def _is_sequence(folded: str) -> bool:
    return any(folded in sequence for sequence in _SEQUENCES)


def hash_password(password: str) -> str:
    with _bounded():
        return _hasher.hash(_secret_bytes(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash, the same work is done and False returned, so
    the time taken does not tell whether an account exists."""
    with _bounded():
        if password_hash is None:
            _hasher.hash(_secret_bytes(password))
            return False
        try:
            return _hasher.verify(password_hash, _secret_bytes(password))
        except (VerificationError, InvalidHashError):
            return False


def _secret_bytes(password: str) -> bytes:
    """UTF-8, keeping lone surrogates (JSON can carry them) instead of failing on them."""
    return password.encode("utf-8", errors="surrogatepass")


class _bounded:
    def __enter__(self) -> None:
        if not _checks.acquire(timeout=CHECK_WAIT_SECONDS):
            raise ServiceBusy("too many logins at once; try again in a few seconds")

    def __exit__(self, *exc: object) -> None:
        _checks.release()
