"""Durable job store on SQLite or PostgreSQL: open it with :func:`open_store`."""

from qstation.store.job_store import JobStore, open_store

__all__ = ["JobStore", "open_store"]
