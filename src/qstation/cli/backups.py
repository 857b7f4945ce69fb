"""``qstation backup`` and ``qstation restore`` (:mod:`qstation.store.backup`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from qstation.cli.common import fail_cleanly, make_settings, store_options
from qstation.store.backup import backup as take_backup
from qstation.store.backup import restore as restore_backup


@click.command()
@click.argument("destination", type=click.Path(path_type=Path, dir_okay=False))
@store_options
@fail_cleanly
def backup(destination: Path, **flags: Any) -> None:
    """Copy the store to DESTINATION (a new file) while it serves: SQLite's online backup, or
    pg_dump's custom format for PostgreSQL. The key file is not included: back it up apart."""
    settings = make_settings(**flags)
    take_backup(settings.database_url(), destination)
    click.echo(f"backed up {settings.store_name()} to {destination}")


@click.command()
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--replace", is_flag=True, help="Overwrite the existing store.")
@store_options
@fail_cleanly
def restore(source: Path, replace: bool, **flags: Any) -> None:
    """Make the store a copy of the backup SOURCE, then bring its schema up to date. Stop the
    service and its workers first."""
    settings = make_settings(**flags)
    applied = restore_backup(settings.database_url(), source, replace)
    migrated = f"; migrated it through versions {applied}" if applied else ""
    click.echo(f"restored {settings.store_name()} from {source}{migrated}")
