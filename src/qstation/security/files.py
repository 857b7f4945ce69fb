"""Files only the service's own account may read, whatever the umask it was started with.

The data directory holds the SQLite database (password hashes, programs, results) and the key
file; under the common umask 022 they would be readable by every local account.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_UMASK = 0o077
DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def restrict_umask() -> None:
    """Files this process (and its children) create are private from the start."""
    os.umask(PRIVATE_UMASK)


def private_directory(path: Path) -> Path:
    """``path`` as a directory only its owner may enter, made if missing."""
    path.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    path.chmod(DIRECTORY_MODE)
    return path


def private_sqlite_files(database: Path) -> None:
    """The database file and the WAL files beside it, mode 0600 (an older installation may
    have made them under umask 022)."""
    for suffix in SQLITE_COMPANIONS:
        with contextlib.suppress(FileNotFoundError):
            Path(f"{database}{suffix}").chmod(FILE_MODE)


def write_private_file(path: Path, content: bytes) -> bool:
    """Create ``path`` with mode 0600 holding ``content``; False if it exists already (another
    process made it first: the caller reads that one)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    return True
