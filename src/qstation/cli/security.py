"""``qstation key`` and ``qstation audit``: the signing key and the record of who did what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from qstation.cli.common import OPERATOR, fail_cleanly, open_for, store_options
from qstation.service.tokens import rotate_key
from qstation.store.audit import AuditQuery


@click.group()
def key() -> None:
    """Manage the id-token signing key (derived from the key file)."""


@key.command("rotate")
@store_options
@fail_cleanly
def key_rotate(**flags: Any) -> None:
    """Move to a new signing key: every id-token issued so far stops working within seconds
    (clients log in again with their refresh tokens, which stay valid)."""
    with open_for(**flags) as services:
        generation = rotate_key(services.store)
        services.audit.record("key.rotate", actor=OPERATOR, subject=f"generation {generation}")
    click.echo(f"id-tokens are now signed with key generation {generation}")


_MOMENT = click.DateTime(formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"])


@click.command()
@click.option("--actor", help="Only what this user (email) or 'operator' did.")
@click.option("--action", help="Only this action, or every action under a prefix like 'job.'.")
@click.option("--since", type=_MOMENT, help="From this moment (UTC).")
@click.option("--until", type=_MOMENT, help="Before this moment (UTC).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@store_options
@fail_cleanly
def audit(
    actor: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    **flags: Any,
) -> None:
    """Show the audit log, newest first: time, actor, action, subject, source, outcome, detail."""
    query = AuditQuery(actor, action, since, until, limit)
    with open_for(**flags) as services:
        for entry in services.audit.find(query):
            fields = (
                entry.at.isoformat(timespec="seconds"), entry.actor, entry.action, entry.subject,
                entry.source, entry.outcome, entry.detail,
            )  # fmt: skip
            click.echo("\t".join("-" if value is None else str(value) for value in fields))
