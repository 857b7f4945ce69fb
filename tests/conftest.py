"""Fixtures shared by every test layer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from qstation.store import JobStore, open_store

POSTGRES_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432"


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """An empty PostgreSQL database of its own on the local server, dropped afterwards."""
    name = f"qstation_test_{uuid.uuid4().hex}"
    server = create_engine(f"{POSTGRES_SERVER_URL}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield f"{POSTGRES_SERVER_URL}/{name}"
        finally:
            with server.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        server.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of its own, once per backend the store supports."""
    if request.param == "sqlite":
        # A directory that does not exist yet: opening the store must create it.
        yield f"sqlite:///{tmp_path / 'data' / 'qstation.db'}"
        return
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[JobStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()
