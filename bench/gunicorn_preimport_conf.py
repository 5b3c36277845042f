"""``container/gunicorn.conf.py`` unchanged, plus the web app's modules imported in gunicorn's
master (not the app: ``create_app()`` still runs in each worker, with its own pools).

gunicorn replaces a worker after ``max_requests`` (1000) requests; the new worker, forked from
the master, imports Flask, SQLAlchemy, boto3 and the app again (about half a second of CPU)
unless the master already has them. The web-reads suite serves the cached reads under this
configuration too, to show how much of their cost is that re-import rather than the reads."""

from __future__ import annotations

import runpy
from pathlib import Path

globals().update(
    {
        name: value
        for name, value in runpy.run_path(
            str(Path(__file__).resolve().parent.parent / "container" / "gunicorn.conf.py")
        ).items()
        if not name.startswith("__")
    }
)

import webapp  # noqa: E402
from webapp.views import api, catalog, health, organizer, signin, tickets  # noqa: E402

PREIMPORTED = (webapp, api, catalog, health, organizer, signin, tickets)
