"""``qstation user``, ``org``, ``group`` and ``quota``: accounts and what they may spend."""

from __future__ import annotations

import sys
from typing import Any

import click

from qstation.cli.common import OPERATOR, PRIORITY, fail_cleanly, open_for, store_options
from qstation.model import DEFAULT_GROUP, DEFAULT_ORGANISATION, CreditKind, Role
from qstation.scheduling.policy import DEFAULT_PRIORITY


@click.group()
def user() -> None:
    """Manage user accounts."""


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
    "--priority", type=PRIORITY, default=DEFAULT_PRIORITY, show_default=True,
    help="The user's priority within their groups: 1 is the highest.",
)  # fmt: skip
@click.option(
    "--password-stdin", is_flag=True, required=True, help="Read the password from standard input."
)
@click.option("--admin", is_flag=True, help="An administrator of their organisation.")
@click.option(
    "--operator", is_flag=True, help="An operator: every organisation, the calendar, the audit log."
)
@store_options
@fail_cleanly
def user_add(
    email: str,
    group: str | None,
    organisation: str,
    priority: int,
    password_stdin: bool,
    admin: bool,
    operator: bool,
    **flags: Any,
) -> None:
    """Create a user; the password is read from standard input."""
    if admin and operator:
        raise click.UsageError("--admin and --operator exclude each other")
    role = Role.OPERATOR if operator else Role.ADMIN if admin else Role.MEMBER
    password = sys.stdin.readline().rstrip("\r\n")
    with open_for(**flags) as services:
        created = services.users.add(email, password, group, organisation, priority, role)
        services.audit.record("user.add", actor=OPERATOR, subject=created.email, detail=role)
    click.echo(
        f"added {created.email} (organisation {created.organisation}, group {created.group}, "
        f"priority {created.priority}, role {created.role}) to {services.settings.store_name()}"
    )


@user.command("list")
@store_options
@fail_cleanly
def user_list(**flags: Any) -> None:
    """List users: email, group, creation time, organisation, priority, role."""
    with open_for(**flags) as services:
        for account in services.users.list():
            created = account.created_at.isoformat(timespec="seconds")
            click.echo(
                f"{account.email}\t{account.group}\t{created}\t{account.organisation}"
                f"\t{account.priority}\t{account.role}"
            )


@user.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice([role.value for role in Role]))
@store_options
@fail_cleanly
def user_set_role(email: str, role: str, **flags: Any) -> None:
    """Make a user a member, an administrator of their organisation, or an operator."""
    with open_for(**flags) as services:
        services.users.set_role(email, Role(role))
        services.audit.record("user.set-role", actor=OPERATOR, subject=email, detail=role)
    click.echo(f"{email} is now {role}")


@user.command("set-priority")
@click.argument("email")
@click.argument("priority", type=PRIORITY)
@store_options
@fail_cleanly
def user_set_priority(email: str, priority: int, **flags: Any) -> None:
    """Set a user's priority (1 is the highest, 10 the lowest)."""
    with open_for(**flags) as services:
        services.users.set_priority(email, priority)
        services.audit.record(
            "user.set-priority", actor=OPERATOR, subject=email, detail=str(priority)
        )
    click.echo(f"{email} now has priority {priority}")


@user.command("remove")
@click.argument("email")
@store_options
@fail_cleanly
def user_remove(email: str, **flags: Any) -> None:
    """Remove a user: their sessions end at once, their jobs that have not run are canceled
    (running ones are stopped); the jobs themselves are kept, for accounting."""
    with open_for(**flags) as services:
        services.users.remove(email)
        services.audit.record("user.remove", actor=OPERATOR, subject=email)
    click.echo(f"removed {email}")


@user.command("revoke")
@click.argument("email")
@store_options
@fail_cleanly
def user_revoke(email: str, **flags: Any) -> None:
    """End every session of a user within seconds: refresh tokens and id-tokens stop working,
    so they must log in with their password again."""
    with open_for(**flags) as services:
        services.users.end_sessions(email)
        services.audit.record("user.revoke", actor=OPERATOR, subject=email)
    click.echo(f"revoked every token of {email}")


@user.command("set-password")
@click.argument("email")
@click.option(
    "--password-stdin", is_flag=True, required=True, help="Read the password from standard input."
)
@store_options
@fail_cleanly
def user_set_password(email: str, password_stdin: bool, **flags: Any) -> None:
    """Give a user a new password (read from standard input); their sessions end."""
    password = sys.stdin.readline().rstrip("\r\n")
    with open_for(**flags) as services:
        services.users.set_password(email, password)
        services.audit.record("user.set-password", actor=OPERATOR, subject=email)
    click.echo(f"set a new password for {email}")


@user.group("mfa")
def user_mfa() -> None:
    """Two-factor login with a TOTP authenticator app."""


@user_mfa.command("enable")
@click.argument("email")
@store_options
@fail_cleanly
def user_mfa_enable(email: str, **flags: Any) -> None:
    """Give a user a new TOTP secret and show it once, as an otpauth:// URI and a QR code for
    their authenticator app. From now on their logins ask for a code."""
    import segno

    with open_for(**flags) as services:
        uri = services.users.enable_mfa(email, services.keys)
        services.audit.record("user.mfa-enable", actor=OPERATOR, subject=email)
    click.echo(f"MFA is on for {email}. Scan this with an authenticator app, or enter the URI:")
    click.echo(uri)
    segno.make(uri, error="m").terminal(compact=True)


@user_mfa.command("disable")
@click.argument("email")
@store_options
@fail_cleanly
def user_mfa_disable(email: str, **flags: Any) -> None:
    """Turn two-factor login off for a user."""
    with open_for(**flags) as services:
        services.users.disable_mfa(email)
        services.audit.record("user.mfa-disable", actor=OPERATOR, subject=email)
    click.echo(f"MFA is off for {email}")


@click.group()
def org() -> None:
    """Manage organisations: fair-share dispatch balances their use of each target."""


@org.command("add")
@click.argument("name")
@store_options
@fail_cleanly
def org_add(name: str, **flags: Any) -> None:
    """Create an organisation, with its DEFAULT group."""
    with open_for(**flags) as services:
        services.organisations.add(name)
        services.audit.record("org.add", actor=OPERATOR, subject=name)
    click.echo(f"added organisation {name} (group {DEFAULT_GROUP})")


@org.command("list")
@store_options
@fail_cleanly
def org_list(**flags: Any) -> None:
    """List organisations."""
    with open_for(**flags) as services:
        for name in services.organisations.names():
            click.echo(name)


@click.group()
def group() -> None:
    """Manage the groups of organisations and their priorities."""


@group.command("add")
@click.argument("organisation")
@click.argument("name")
@click.option(
    "--priority", type=PRIORITY, default=DEFAULT_PRIORITY, show_default=True,
    help="The group's priority within its organisation: 1 is the highest.",
)  # fmt: skip
@store_options
@fail_cleanly
def group_add(organisation: str, name: str, priority: int, **flags: Any) -> None:
    """Create a group in an organisation."""
    with open_for(**flags) as services:
        services.organisations.add_group(organisation, name, priority)
        services.audit.record("group.add", actor=OPERATOR, subject=f"{organisation}/{name}")
    click.echo(f"added group {name} to {organisation} (priority {priority})")


@group.command("set-priority")
@click.argument("organisation")
@click.argument("name")
@click.argument("priority", type=PRIORITY)
@store_options
@fail_cleanly
def group_set_priority(organisation: str, name: str, priority: int, **flags: Any) -> None:
    """Set a group's priority (1 is the highest, 10 the lowest)."""
    with open_for(**flags) as services:
        services.organisations.set_group_priority(organisation, name, priority)
        services.audit.record(
            "group.set-priority", actor=OPERATOR, subject=f"{organisation}/{name}",
            detail=str(priority),
        )  # fmt: skip
    click.echo(f"group {name} of {organisation} now has priority {priority}")


@group.command("list")
@store_options
@fail_cleanly
def group_list(**flags: Any) -> None:
    """List groups: organisation, name, priority."""
    with open_for(**flags) as services:
        for listed in services.organisations.groups():
            click.echo(f"{listed.organisation}\t{listed.name}\t{listed.priority}")


@group.command("add-member")
@click.argument("organisation")
@click.argument("name")
@click.argument("email")
@store_options
@fail_cleanly
def group_add_member(organisation: str, name: str, email: str, **flags: Any) -> None:
    """Let a user of the organisation submit jobs under the group (every user is a member of
    their own group already)."""
    with open_for(**flags) as services:
        services.organisations.add_member(organisation, name, services.users.get(email))
        services.audit.record(
            "group.add-member", actor=OPERATOR, subject=f"{organisation}/{name}", detail=email
        )
    click.echo(f"{email} may submit under {name} of {organisation}")


@group.command("remove-member")
@click.argument("organisation")
@click.argument("name")
@click.argument("email")
@store_options
@fail_cleanly
def group_remove_member(organisation: str, name: str, email: str, **flags: Any) -> None:
    """Stop a user submitting under the group (not their own group)."""
    with open_for(**flags) as services:
        services.organisations.remove_member(organisation, name, services.users.get(email))
        services.audit.record(
            "group.remove-member", actor=OPERATOR, subject=f"{organisation}/{name}", detail=email
        )
    click.echo(f"{email} may no longer submit under {name} of {organisation}")


@group.command("members")
@click.argument("organisation")
@click.argument("name")
@store_options
@fail_cleanly
def group_members(organisation: str, name: str, **flags: Any) -> None:
    """List the emails of a group's members."""
    with open_for(**flags) as services:
        for email in services.organisations.members(organisation, name):
            click.echo(email)


@click.group()
def quota() -> None:
    """Manage monthly HQC credits: per organisation or group, hardware and emulators apart."""


_KIND = click.Choice([kind.value for kind in CreditKind])


@quota.command("set")
@click.argument("organisation")
@click.argument("kind", type=_KIND)
@click.argument("credits", type=click.FloatRange(min=0))
@click.option("--group", help="A group's quota instead of the whole organisation's.")
@store_options
@fail_cleanly
def quota_set(
    organisation: str, kind: str, credits: float, group: str | None, **flags: Any
) -> None:
    """Set the HQCs an organisation (or group) may spend on KIND per calendar month (UTC); a
    job that would go past it ends depleted."""
    with open_for(**flags) as services:
        services.organisations.set_quota(organisation, CreditKind(kind), credits, group)
        services.audit.record(
            "quota.set", actor=OPERATOR, subject=f"{organisation}/{group or '*'}",
            detail=f"{kind} {credits:g}",
        )  # fmt: skip
    holder = f"group {group} of {organisation}" if group else organisation
    click.echo(f"{holder} may spend {credits:g} {kind} HQCs a month")


@quota.command("remove")
@click.argument("organisation")
@click.argument("kind", type=_KIND)
@click.option("--group", help="A group's quota instead of the whole organisation's.")
@store_options
@fail_cleanly
def quota_remove(organisation: str, kind: str, group: str | None, **flags: Any) -> None:
    """Remove a quota: no limit on KIND for that organisation (or group)."""
    with open_for(**flags) as services:
        services.organisations.remove_quota(organisation, CreditKind(kind), group)
        services.audit.record(
            "quota.remove", actor=OPERATOR, subject=f"{organisation}/{group or '*'}", detail=kind
        )
    click.echo(f"removed the {kind} quota of {group or organisation}")


@quota.command("list")
@store_options
@fail_cleanly
def quota_list(**flags: Any) -> None:
    """List quotas: organisation, group (- for all), kind, monthly HQCs, spent this month."""
    with open_for(**flags) as services:
        for listed, spent in services.organisations.quotas():
            click.echo(
                f"{listed.organisation}\t{listed.group or '-'}\t{listed.kind}"
                f"\t{listed.credits:g}\t{spent:.2f}"
            )
