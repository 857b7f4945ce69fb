"""The stored login: one server's URL, email and tokens, in a file only its user may read.

``qstation login`` writes it; the CLI reads it. The refresh token rotates on every use (a spent
one presented again revokes the whole login), so each refresh happens under an exclusive lock
on the file and writes the new pair back before the lock is released: two commands run at once
never spend the same token. The id-token is kept too, and used until shortly before it expires,
so most commands make no login request at all.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import platformdirs

from qstation.security.files import write_private_file

EXPIRY_MARGIN_SECONDS = 60.0
"""An id-token this close to its end is renewed first."""


def credentials_path() -> Path:
    """``login.json`` in the user's config directory (``QSTATION_CONFIG_DIR`` overrides)."""
    directory = os.environ.get("QSTATION_CONFIG_DIR") or platformdirs.user_config_dir(
        "qstation", appauthor=False
    )
    return Path(directory) / "login.json"


@dataclass
class Login:
    url: str
    email: str
    refresh_token: str
    id_token: str = ""
    id_token_expires: float = 0.0
    """Epoch seconds (the token's own ``exp``)."""


def load(path: Path | None = None) -> Login | None:
    path = path or credentials_path()
    try:
        return Login(**json.loads(path.read_text()))
    except FileNotFoundError:
        return None


def save(login: Login, path: Path | None = None) -> Path:
    """Write the login (mode 0600, in a 0700 directory), replacing any other."""
    path = path or credentials_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = json.dumps(asdict(login), indent=1).encode()
    temporary = path.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    write_private_file(temporary, text)
    temporary.replace(path)
    return path


def forget(path: Path | None = None) -> bool:
    """Remove the stored login; whether there was one."""
    path = path or credentials_path()
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed


@contextmanager
def locked(path: Path | None = None) -> Iterator[None]:
    """Hold the stored login's lock (a file beside it) while refreshing it."""
    path = path or credentials_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
