"""A PostgreSQL cluster of the test's own: ``initdb`` in a temporary directory, its own port,
started, crashed and restarted at will — never the shared server on 5432.

Its data directory sits on a small tmpfs of its own, so a test can fill the disk under it.
PostgreSQL refuses to run as root, so the cluster belongs to the ``postgres`` system user.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.acceptance.service import free_port

POSTGRES_USER = "postgres"


def _binaries() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").iterdir(), key=lambda p: int(p.name))
    return versions[-1] / "bin"


class ThrowawayPostgres:
    def __init__(self, listen: list[str], trusted_network: str, disk_bytes: int) -> None:
        """``listen``: addresses besides 127.0.0.1; ``trusted_network``: CIDR of the test's
        hosts, let in without a password."""
        self.root = Path(tempfile.mkdtemp(prefix="qstation-chaos-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.listen = ["127.0.0.1", *listen]
        self.trusted_network = trusted_network
        self.disk_bytes = disk_bytes
        self.mounted = False

    def url(self, host: str = "127.0.0.1") -> str:
        """The store's URL from ``host``; a dead peer is noticed within seconds, not minutes."""
        return (
            f"postgresql://postgres@{host}:{self.port}/qstation"
            "?connect_timeout=3&tcp_user_timeout=5000&keepalives_idle=5"
        )

    def create(self) -> None:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={self.disk_bytes}", "tmpfs", str(self.root)],
            check=True,
        )
        self.mounted = True
        shutil.chown(self.root, POSTGRES_USER, POSTGRES_USER)
        self._as_postgres(
            "initdb", "--auth=trust", "--username=postgres", "--wal-segsize=1", "-D",
            str(self.data),
        )  # fmt: skip
        settings = {
            "port": str(self.port),
            "listen_addresses": "'" + ",".join(self.listen) + "'",
            "unix_socket_directories": f"'{self.root}'",
            "max_connections": "300",
            "max_wal_size": "'48MB'",
            "min_wal_size": "'16MB'",
            "shared_buffers": "'64MB'",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {self.trusted_network} trust\n")
        self.start()
        self._as_postgres("createdb", "-h", str(self.root), "-p", str(self.port), "qstation")

    def start(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "start")

    def crash(self) -> None:
        """Stop at once, as a power cut would: the next start runs crash recovery."""
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def is_running(self) -> bool:
        status = subprocess.run(
            ["runuser", "-u", POSTGRES_USER, "--", str(_binaries() / "pg_ctl"), "-D",
             str(self.data), "status"],
            capture_output=True, check=False,
        )  # fmt: skip
        return status.returncode == 0

    def destroy(self) -> None:
        if self.is_running():
            self.crash()
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.root)], check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def _as_postgres(self, tool: str, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", POSTGRES_USER, "--", str(_binaries() / tool), *args],
            check=True,
            capture_output=True,
        )
