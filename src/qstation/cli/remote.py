"""Commands that talk to a qstation server over HTTP as its user: ``login``, ``logout``,
``machines``, ``usage`` (the job commands are in :mod:`qstation.cli.jobs`)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import click

from qstation.cli.output import echo_json, table
from qstation.client import credentials
from qstation.client.session import ClientError, ServiceSession
from qstation.client.session import login as password_login

MFA_REQUIRED = 73
CALENDAR_DAYS = 28


def url_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--url``: the server (default ``QSTATION_URL``, else the stored login's)."""
    return click.option(
        "--url", envvar="QSTATION_URL", help="The server (default: the stored login's)."
    )(command)


def json_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(command)


def client_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """A refused request or an unreachable server: its message, exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ClientError as error:
            raise click.ClickException(str(error)) from None

    return wrapper


@click.command()
@click.option(
    "--url", envvar="QSTATION_URL", required=True, help="The server, e.g. http://host:8000"
)
@click.option("--email", help="Your account's email (asked when not given).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@client_errors
def login(url: str, email: str | None, password_stdin: bool) -> None:
    """Log in to a server and keep the login (mode 0600, in your config directory) for the job
    commands. The server asks for an authenticator code if you enabled MFA."""
    email = email or click.prompt("Email")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True)
    try:
        stored = password_login(url, email, password)
    except ClientError as error:
        if error.code != MFA_REQUIRED:
            raise
        stored = password_login(url, email, password, click.prompt("Authenticator code"))
    path = credentials.save(stored)
    click.echo(f"logged in to {stored.url} as {stored.email}; the login is kept in {path}")


@click.command()
def logout() -> None:
    """Forget the stored login."""
    click.echo("logged out" if credentials.forget() else "no stored login")


@click.command()
@url_option
@json_option
@client_errors
def machines(url: str | None, as_json: bool) -> None:
    """Each machine's state and size, and the calendar for the next four weeks."""
    with ServiceSession(url) as session:
        listed = session.call("GET", "/v1/machine/")
        today = date.today()
        windows = session.call(
            "GET", "/beta/reservation", mode="user", start=today.isoformat(),
            end=(today + timedelta(days=CALENDAR_DAYS)).isoformat(),
        )  # fmt: skip
        states = {
            m["name"]: session.call("GET", f"/v1/machine/{m['name']}")["state"] for m in listed
        }
    if as_json:
        echo_json({"machines": [{**m, "state": states[m["name"]]} for m in listed],
                   "calendar": windows})  # fmt: skip
        return
    table(
        ["machine", "kind", "state", "qubits", "most shots"],
        [[m["name"], m.get("system_type", ""), states[m["name"]], m.get("n_qubits"),
          m.get("max_n_shots")] for m in listed],
    )  # fmt: skip
    if windows:
        click.echo()
        table(
            ["machine", "from", "until", "what"],
            [[w.get("machine"), w.get("start-date"), w.get("end-date"), w.get("event-type")]
             for w in windows],
        )  # fmt: skip


@click.command()
@url_option
@json_option
@client_errors
def usage(url: str | None, as_json: bool) -> None:
    """HQCs your organisation and groups used this month, against their quotas."""
    with ServiceSession(url) as session:
        found = session.call("GET", "/v1/usage")
    if as_json:
        echo_json(found)
        return
    rows = []
    for entry in found["month"]:
        holder = entry["organisation"] + (f" / {entry['group']}" if entry["group"] else "")
        quota = "no limit" if entry["quota"] is None else f"{entry['quota']:.2f}"
        band = {"warning": click.style("nearly used up", fg="yellow"),
                "exhausted": click.style("used up", fg="red")}.get(entry["band"], "")  # fmt: skip
        rows.append([holder, entry["kind"], f"{entry['spent']:.2f}", quota, band])
    table(["who", "devices", "used (HQC)", "quota (HQC)", ""], rows)
