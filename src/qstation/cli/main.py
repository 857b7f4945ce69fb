"""``qstation`` commands. Flags override ``QSTATION_*`` variables, which override defaults."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from qstation.errors import QStationError
from qstation.model import DEFAULT_GROUP, DEFAULT_ORGANISATION, CreditKind
from qstation.scheduling.calendar import CalendarEvent, EventKind
from qstation.scheduling.policy import DEFAULT_PRIORITY, HIGHEST_PRIORITY, LOWEST_PRIORITY
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
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "timeout_keep_alive": settings.keep_alive_seconds,
        "log_level": "info",
        "access_log": settings.access_log,
    }
    try:
        if settings.api_processes == 1:
            uvicorn.run(create_app(settings), **options)
        else:  # each process builds its app from the settings handed down in the environment
            os.environ.update(settings.as_environment())
            uvicorn.run(
                "qstation.api.app:app_from_environment",
                factory=True,
                workers=settings.api_processes,
                **options,
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


_PRIORITY = click.IntRange(HIGHEST_PRIORITY, LOWEST_PRIORITY)


@user.command("add")
@click.argument("email")
@click.option(
    "--group", help="The user's default group, made in the organisation if new (default DEFAULT)."
)
@click.option(
    "--org", "organisation", default=DEFAULT_ORGANISATION, show_default=True,
    help="The user's organisation, which must exist.",
)  # fmt: skip
@click.option(
    "--priority", type=_PRIORITY, default=DEFAULT_PRIORITY, show_default=True,
    help="The user's priority within their groups: 1 is the highest.",
)  # fmt: skip
@click.option(
    "--password-stdin", is_flag=True, required=True, help="Read the password from standard input."
)
@store_options
@_fail_cleanly
def user_add(
    email: str,
    group: str | None,
    organisation: str,
    priority: int,
    password_stdin: bool,
    **flags: Any,
) -> None:
    """Create a user; the password is read from standard input."""
    password = sys.stdin.readline().rstrip("\r\n")
    with _services(**flags) as services:
        created = services.users.add(email, password, group, organisation, priority)
    click.echo(
        f"added {created.email} (organisation {created.organisation}, group {created.group}, "
        f"priority {created.priority})"
    )


@user.command("list")
@store_options
@_fail_cleanly
def user_list(**flags: Any) -> None:
    """List users: email, group, creation time, organisation, priority."""
    with _services(**flags) as services:
        for account in services.users.list():
            created = account.created_at.isoformat(timespec="seconds")
            click.echo(
                f"{account.email}\t{account.group}\t{created}\t{account.organisation}"
                f"\t{account.priority}"
            )


@user.command("set-priority")
@click.argument("email")
@click.argument("priority", type=_PRIORITY)
@store_options
@_fail_cleanly
def user_set_priority(email: str, priority: int, **flags: Any) -> None:
    """Set a user's priority (1 is the highest, 10 the lowest)."""
    with _services(**flags) as services:
        services.users.set_priority(email, priority)
    click.echo(f"{email} now has priority {priority}")


@cli.group()
def org() -> None:
    """Manage organisations: fair-share dispatch balances their use of each target."""


@org.command("add")
@click.argument("name")
@store_options
@_fail_cleanly
def org_add(name: str, **flags: Any) -> None:
    """Create an organisation, with its DEFAULT group."""
    with _services(**flags) as services:
        services.organisations.add(name)
    click.echo(f"added organisation {name} (group {DEFAULT_GROUP})")


@org.command("list")
@store_options
@_fail_cleanly
def org_list(**flags: Any) -> None:
    """List organisations."""
    with _services(**flags) as services:
        for name in services.organisations.names():
            click.echo(name)


@cli.group()
def group() -> None:
    """Manage the groups of organisations and their priorities."""


@group.command("add")
@click.argument("organisation")
@click.argument("name")
@click.option(
    "--priority", type=_PRIORITY, default=DEFAULT_PRIORITY, show_default=True,
    help="The group's priority within its organisation: 1 is the highest.",
)  # fmt: skip
@store_options
@_fail_cleanly
def group_add(organisation: str, name: str, priority: int, **flags: Any) -> None:
    """Create a group in an organisation."""
    with _services(**flags) as services:
        services.organisations.add_group(organisation, name, priority)
    click.echo(f"added group {name} to {organisation} (priority {priority})")


@group.command("set-priority")
@click.argument("organisation")
@click.argument("name")
@click.argument("priority", type=_PRIORITY)
@store_options
@_fail_cleanly
def group_set_priority(organisation: str, name: str, priority: int, **flags: Any) -> None:
    """Set a group's priority (1 is the highest, 10 the lowest)."""
    with _services(**flags) as services:
        services.organisations.set_group_priority(organisation, name, priority)
    click.echo(f"group {name} of {organisation} now has priority {priority}")


@cli.group()
def quota() -> None:
    """Manage monthly HQC credits: per organisation or group, hardware and emulators apart."""


_KIND = click.Choice([kind.value for kind in CreditKind])


@quota.command("set")
@click.argument("organisation")
@click.argument("kind", type=_KIND)
@click.argument("credits", type=click.FloatRange(min=0))
@click.option("--group", help="A group's quota instead of the whole organisation's.")
@store_options
@_fail_cleanly
def quota_set(
    organisation: str, kind: str, credits: float, group: str | None, **flags: Any
) -> None:
    """Set the HQCs an organisation (or group) may spend on KIND per calendar month (UTC); a
    job that would go past it ends depleted."""
    with _services(**flags) as services:
        services.organisations.set_quota(organisation, CreditKind(kind), credits, group)
    holder = f"group {group} of {organisation}" if group else organisation
    click.echo(f"{holder} may spend {credits:g} {kind} HQCs a month")


@quota.command("remove")
@click.argument("organisation")
@click.argument("kind", type=_KIND)
@click.option("--group", help="A group's quota instead of the whole organisation's.")
@store_options
@_fail_cleanly
def quota_remove(organisation: str, kind: str, group: str | None, **flags: Any) -> None:
    """Remove a quota: no limit on KIND for that organisation (or group)."""
    with _services(**flags) as services:
        services.organisations.remove_quota(organisation, CreditKind(kind), group)
    click.echo(f"removed the {kind} quota of {group or organisation}")


@quota.command("list")
@store_options
@_fail_cleanly
def quota_list(**flags: Any) -> None:
    """List quotas: organisation, group (- for all), kind, monthly HQCs, spent this month."""
    with _services(**flags) as services:
        for listed, spent in services.organisations.quotas():
            click.echo(
                f"{listed.organisation}\t{listed.group or '-'}\t{listed.kind}"
                f"\t{listed.credits:g}\t{spent:.2f}"
            )


@cli.group()
def calendar() -> None:
    """Manage the operational hours of hardware targets (times in UTC)."""


_MOMENT = click.DateTime(formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"])


@calendar.command("add")
@click.argument("machine")
@click.argument("kind", type=click.Choice([kind.value for kind in EventKind]))
@click.argument("start", type=_MOMENT)
@click.argument("end", type=_MOMENT)
@click.option("--org", "organisation", help="The organisation a reservation is for.")
@store_options
@_fail_cleanly
def calendar_add(
    machine: str,
    kind: str,
    start: datetime,
    end: datetime,
    organisation: str | None,
    **flags: Any,
) -> None:
    """Add a window: online (anyone's jobs run), reservation (only --org's) or maintenance.
    A hardware target with windows runs jobs only inside them."""
    with _services(**flags) as services:
        event = services.calendar.add(machine, EventKind(kind), start, end, organisation)
    click.echo(f"added event {event.id}: {_describe(event)}")


@calendar.command("list")
@store_options
@_fail_cleanly
def calendar_list(**flags: Any) -> None:
    """List every window: id, machine, kind, start, end, organisation."""
    with _services(**flags) as services:
        for event in services.calendar.events():
            click.echo(f"{event.id}\t{_describe(event)}")


@calendar.command("remove")
@click.argument("event_id", type=int)
@store_options
@_fail_cleanly
def calendar_remove(event_id: int, **flags: Any) -> None:
    """Remove a window by its id."""
    with _services(**flags) as services:
        services.calendar.remove(event_id)
    click.echo(f"removed event {event_id}")


def _describe(event: CalendarEvent) -> str:
    start, end = (moment.isoformat(timespec="minutes") for moment in (event.start, event.end))
    return f"{event.machine}\t{event.kind}\t{start}\t{end}\t{event.organisation or '-'}"


@group.command("list")
@store_options
@_fail_cleanly
def group_list(**flags: Any) -> None:
    """List groups: organisation, name, priority."""
    with _services(**flags) as services:
        for listed in services.organisations.groups():
            click.echo(f"{listed.organisation}\t{listed.name}\t{listed.priority}")


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
