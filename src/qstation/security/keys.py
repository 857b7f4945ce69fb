"""The service's keys: one random master key in a file of mode 0600, every other key derived.

Why a file and not the database: a copy of the database (a backup, a dump, a file another local
account could once read) must not let anyone sign id-tokens or read MFA secrets. The database
keeps only what is not secret: the current signing-key *generation*, which ``qstation key
rotate`` advances, and a fingerprint of the master key, so an API process started with a
different key file refuses to start instead of issuing tokens the others reject. Every host of
a fleet that runs the API needs the same key file (copy it once, like a TLS key).

Derivation is HMAC-SHA256(master, purpose): the id-token key of generation *g* and the key that
encrypts MFA secrets (AES-256-GCM) are independent, and rotating one changes nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from qstation.errors import ConfigurationError
from qstation.security.files import FILE_MODE, write_private_file

log = logging.getLogger(__name__)

_MASTER_BYTES = 32
_NONCE_BYTES = 12


class ServiceKeys:
    def __init__(self, master: bytes) -> None:
        if len(master) != _MASTER_BYTES:
            raise ConfigurationError(f"the key file must hold {_MASTER_BYTES} bytes as hex")
        self._master = master

    @classmethod
    def load_or_create(cls, path: Path) -> ServiceKeys:
        """The keys in ``path``, made (mode 0600) on the first start. A key file others may
        read is made private again, with a warning."""
        if write_private_file(path, secrets.token_hex(_MASTER_BYTES).encode() + b"\n"):
            log.info("made a new key file %s", path)
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("key file %s had mode %o; made it %o", path, mode, FILE_MODE)
            path.chmod(FILE_MODE)
        try:
            master = bytes.fromhex(path.read_text().strip())
        except ValueError:
            raise ConfigurationError(f"the key file {path} does not hold a hex key") from None
        return cls(master)

    def derive(self, purpose: str) -> bytes:
        return hmac.new(self._master, purpose.encode(), hashlib.sha256).digest()

    def fingerprint(self) -> str:
        """Names the master key without revealing it: stored in the database to catch a host
        started with another key file."""
        return self.derive("fingerprint").hex()[:32]

    def signing_key(self, generation: int) -> bytes:
        return self.derive(f"id-token signing key {generation}")

    def encrypt(self, plaintext: str, purpose: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = AESGCM(self.derive(purpose)).encrypt(nonce, plaintext.encode(), purpose.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, purpose: str) -> str:
        raw = base64.urlsafe_b64decode(token.encode())
        try:
            opened = AESGCM(self.derive(purpose)).decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], purpose.encode()
            )
        except InvalidTag:
            raise ConfigurationError(
                "a secret in the database was sealed with another key file"
            ) from None
        return opened.decode()
