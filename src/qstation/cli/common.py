"""What every ``qstation`` command shares: the store options, settings, clean failures."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from qstation.errors import QStationError
from qstation.scheduling.policy import HIGHEST_PRIORITY, LOWEST_PRIORITY
from qstation.settings import Settings

if TYPE_CHECKING:
    from qstation.service.services import Services

PRIORITY = click.IntRange(HIGHEST_PRIORITY, LOWEST_PRIORITY)
OPERATOR = "operator"
"""The audit log's actor for what is done from the shell (the database's own users act there)."""


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
    """Settings from the environment, with the flags that were given on top: the command's
    and the logging flags given to ``qstation`` itself."""
    context = click.get_current_context(silent=True)
    root = {} if context is None else context.find_root().params
    logging_flags = {name: root.get(name) for name in ("log_level", "log_format")}
    given = {name: value for name, value in {**logging_flags, **flags}.items() if value is not None}
    try:
        return Settings(**given)
    except ValueError as error:
        raise click.UsageError(str(error)) from None


def fail_cleanly(command: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        try:
            return command(**kwargs)
        except QStationError as error:
            raise click.ClickException(error.text) from None

    return wrapper


@contextmanager
def open_for(**flags: Any) -> Iterator[Services]:
    """The services on the store the flags name, closed after the command."""
    from qstation.service.services import open_services

    services = open_services(make_settings(**flags))
    try:
        yield services
    finally:
        services.close()
