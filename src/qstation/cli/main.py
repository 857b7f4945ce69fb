"""``qstation`` commands. Flags override ``QSTATION_*`` variables, which override defaults."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import click

from qstation import __version__
from qstation.cli.accounts import group, org, quota, user
from qstation.cli.backups import backup, restore
from qstation.cli.calendar import calendar
from qstation.cli.common import fail_cleanly, make_settings, store_options
from qstation.cli.jobs import job, jobs
from qstation.cli.remote import login, logout, machines, usage
from qstation.cli.security import audit, key
from qstation.cli.status import status
from qstation.logs import LOG_FORMATS, configure_logging
from qstation.security.files import restrict_umask


@click.group()
@click.version_option(package_name="qstation")
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Lowest level logged (default INFO).",
)
@click.option(
    "--log-format", type=click.Choice(LOG_FORMATS), help="text (default) or json, one a line."
)
def cli(log_level: str | None, log_format: str | None) -> None:
    """qstation: a self-hosted quantum job service speaking the H-Series machine API v1."""
    restrict_umask()  # the database, WAL files and key file are made mode 0600
    settings = make_settings()  # with the two flags above (make_settings adds them)
    configure_logging(settings.log_level, settings.log_format)


@cli.command()
@store_options
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8000).")
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    help="Embedded worker processes (default 1; 0 = API only).",
)
@click.option(
    "--tls-cert",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="PEM certificate (chain): serve HTTPS instead of HTTP. Needs --tls-key.",
)
@click.option(
    "--tls-key",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="PEM private key of --tls-cert.",
)
@fail_cleanly
def serve(**flags: Any) -> None:
    """Run the HTTP API and its embedded workers."""
    import uvicorn

    from qstation.api.app import create_app
    from qstation.service.services import open_services
    from qstation.worker.process import EmbeddedWorkers

    settings = make_settings(**flags)
    checked = open_services(settings)  # the catalogue, migrations, the key file: once, up front
    try:
        checked.keys  # noqa: B018
    finally:
        checked.close()
    logging.getLogger("qstation").info("serving with %s", settings.describe())
    scheme = "https" if settings.tls_cert else "http"
    click.echo(
        f"qstation {__version__}: the API and the portal on {scheme}://{settings.host}:"
        f"{settings.port}/ (the client's api_url, with its final /), store "
        f"{settings.store_name()}. Add users to this store with: qstation user add EMAIL "
        + " ".join(filter(None, ["--password-stdin", settings.store_flags()])),
        err=True,
    )
    workers = EmbeddedWorkers(settings)
    workers.start()
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "timeout_keep_alive": settings.keep_alive_seconds,
        "log_level": settings.log_level.lower(),
        "log_config": None,  # its lines go to the handler configure_logging set up
        "access_log": settings.access_log,
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": settings.trusted_proxies or None,
        "ssl_certfile": settings.tls_cert,
        "ssl_keyfile": settings.tls_key,
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
@click.option(
    "--embedded-by", type=int, hidden=True, help="Started by serve (its process ID): end with it."
)
@fail_cleanly
def worker(embedded_by: int | None, **flags: Any) -> None:
    """Run one worker process against the store."""
    from qstation.worker.process import run_worker

    run_worker(make_settings(**flags), embedded_by=embedded_by)


for command in (
    user,
    org,
    group,
    quota,
    calendar,
    key,
    audit,
    login,
    logout,
    jobs,
    job,
    machines,
    usage,
    status,
    backup,
    restore,
):
    cli.add_command(command)
