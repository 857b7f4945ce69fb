"""The user portal: server-rendered pages on the services the API uses.

``web`` holds what every page shares (templates, the signed-in user, CSRF checks); the pages
are ``signin``, ``jobs``, ``job_page``, ``machines``, ``usage`` and ``admin``; ``results``
turns a job's results into a histogram, CSV and a handle snippet. Assets (CSS, a little
JavaScript that only enhances) live in ``static/``: no build step, nothing fetched from the
network.
"""

from __future__ import annotations

from fastapi import APIRouter

from qstation.portal import admin, job_page, jobs, machines, signin, usage

PAGES = (signin, jobs, job_page, machines, usage, admin)
"""The modules of pages, each with its own ``router``."""

router = APIRouter(include_in_schema=False)
for _module in PAGES:
    router.include_router(_module.router)

__all__ = ["PAGES", "router"]
