"""``qstation`` commands. Flags override ``QSTATION_*`` variables, which override defaults."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from qstation.errors import QStationError
from qstation.settings import Settings

if TYPE_CHECKING:
    from qstation.service.services import Services


def store_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--data-dir``, ``--database`` and ``--devices``: which store and catalogue to act on."""

    @click.option(
        "--data-dir",
        type=click.Path(path_type=Path),
        help="Directory of the embedded SQLite store.",
    )
    @click.option(
        "--database",
        help="Database URL, e.g. postgresql://user@host/db (default: SQLite in --data-dir).",
    )
    @click.option(
        "--devices",
        "devices_file",
        type=click.Path(path_type=Path, exists=True, dir_okay=False),
        help="JSON device catalogue replacing the packaged one.",
    )
    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        return command(**kwargs)

    return wrapper


def make_settings(**flags: Any) -> Settings:
    """Settings from the environment, with the flags that were given on top."""
    given = {name: value for name, value in flags.items() if value is not None}
    try:
        return Settings(**given)
    except ValueError as error:
        raise click.UsageError(str(error)) from None


def _fail_cleanly(command: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        try:
            return command(**kwargs)
        except QStationError as error:
            raise click.ClickException(error.text) from None

    return wrapper


@click.group()
@click.version_option(package_name="qstation")
@click.option("--log-level", default="INFO", show_default=True, help="Logging level.")
def cli(log_level: str) -> None:
    """qstation: a self-hosted quantum job service speaking the H-Series machine API v1."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@cli.command()
@store_options
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8000).")
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    help="Embedded worker processes (default 1; 0 = API only).",
)
@_fail_cleanly
def serve(**flags: Any) -> None:
    """Run the HTTP API and its embedded workers."""
    import uvicorn

    from qstation.api.app import create_app
    from qstation.service.services import open_services
    from qstation.worker.process import EmbeddedWorkers

    settings = make_settings(**flags)
    open_services(settings).close()  # check the catalogue and migrate once before workers start
    logging.getLogger("qstation").info("serving with %s", settings.describe())
    workers = EmbeddedWorkers(settings)
    workers.start()
    try:
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            timeout_keep_alive=settings.keep_alive_seconds,
            log_level="info",
        )
    finally:
        workers.stop()


@cli.command()
@store_options
@click.option("--embedded", is_flag=True, hidden=True, help="Started by serve: exit with it.")
@_fail_cleanly
def worker(embedded: bool, **flags: Any) -> None:
    """Run one worker process against the store."""
    from qstation.worker.process import run_worker

    run_worker(make_settings(**flags), embedded=embedded)


@cli.group()
def user() -> None:
    """Manage user accounts."""


@contextmanager
def _services(**flags: Any) -> Iterator[Services]:
    from qstation.service.services import open_services

    services = open_services(make_settings(**flags))
    try:
        yield services
    finally:
        services.close()


@user.command("add")
@click.argument("email")
@click.option("--group", help="The user's default group (default DEFAULT).")
@click.option(
    "--password-stdin", is_flag=True, required=True, help="Read the password from standard input."
)
@store_options
@_fail_cleanly
def user_add(email: str, group: str | None, password_stdin: bool, **flags: Any) -> None:
    """Create a user; the password is read from standard input."""
    password = sys.stdin.readline().rstrip("\r\n")
    with _services(**flags) as services:
        created = services.users.add(email, password, group)
    click.echo(f"added {created.email} (group {created.group})")


@user.command("list")
@store_options
@_fail_cleanly
def user_list(**flags: Any) -> None:
    """List users: email, group, creation time."""
    with _services(**flags) as services:
        for account in services.users.list():
            created = account.created_at.isoformat(timespec="seconds")
            click.echo(f"{account.email}\t{account.group}\t{created}")


@user.command("remove")
@click.argument("email")
@store_options
@_fail_cleanly
def user_remove(email: str, **flags: Any) -> None:
    """Remove a user and revoke their tokens; their jobs are kept."""
    with _services(**flags) as services:
        services.users.remove(email)
    click.echo(f"removed {email}")


@user.command("revoke")
@click.argument("email")
@store_options
@_fail_cleanly
def user_revoke(email: str, **flags: Any) -> None:
    """Revoke a user's refresh tokens: every session must log in with the password again."""
    with _services(**flags) as services:
        services.tokens.revoke(services.users.get(email))
    click.echo(f"revoked the refresh tokens of {email}")
