"""The container's entrypoint, run for real on this machine: it migrates, execs gunicorn with the
container's own gunicorn.conf.py, and the site answers /healthz against real PostgreSQL and
Redis. Only the image's installation of the shared package is replaced, by PYTHONPATH."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, make_url, text

from devstack.template import ROOT
from tests.web import servers

pytestmark = pytest.mark.web

ENTRYPOINT = ROOT / "container" / "entrypoint.sh"
STARTUP_LIMIT_SECONDS = 60


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _container_env(tmp_path: Path, **values: str) -> dict[str, str]:
    """What the task definition gives the container, pointed at this machine's servers."""
    venv_bin = str(Path(sys.executable).parent)
    return {
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        # The image pip-installs layers/; a checkout puts it on the path instead.
        "PYTHONPATH": str(ROOT / "layers"),
        "SECRET_KEY": "entrypoint-test-" + "k" * 32,
        "API_URL": "https://api.invalid/dev",
        "SESSION_SIGNING_KEY_ID": "arn:aws:kms:us-east-1:123456789012:key/session",
        "AWS_REGION": "us-east-1",
        "SESSION_COOKIE_SECURE": "false",
        "LOG_LEVEL": "INFO",
        **values,
    }


# What the load balancer adds to every request it forwards.
ALB_TRACE_ID = "Root=1-67891233-abcdef012345678912345678;Parent=463ac35c9f6413ad;Sampled=1"


def _get(url: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, headers={"X-Amzn-Trace-Id": ALB_TRACE_ID})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (local http)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _wait_for_health(process: subprocess.Popen[bytes], url: str) -> tuple[int, dict[str, Any]]:
    """Poll until the server answers, it exits, or the bounded start-up time has passed."""
    deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the entrypoint exited with {process.returncode} before serving")
        try:
            return _get(url)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"nothing answered {url} within {STARTUP_LIMIT_SECONDS} s")


@pytest.fixture
def empty_database(database_url: str) -> Iterator[str]:
    """A database of its own on the test server, with no schema yet."""
    name = f"entrypoint_{os.getpid()}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def started(
    tmp_path: Path, empty_database: str, cache_url: str
) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    port = _free_port()
    log = tmp_path / "container.log"
    env = _container_env(
        tmp_path,
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="2",
        RUN_MIGRATIONS="1",
        DATABASE_URL=empty_database,
        REDIS_URL=cache_url,
        # What the task definition injects from the master secret, for the migrations only.
        DB_MIGRATION_USER="gatepass",
        DB_MIGRATION_PASSWORD="master-password-for-migrations",
    )
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(ENTRYPOINT)],
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process, port, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_entrypoint_migrates_and_gunicorn_serves_health(
    started: tuple[subprocess.Popen[bytes], int, Path], empty_database: str
) -> None:
    # Given the container's entrypoint, started as ECS starts it (no arguments) on an empty
    # database with RUN_MIGRATIONS=1
    process, port, log = started

    # When the load balancer asks for the health endpoint
    status, body = _wait_for_health(process, f"http://127.0.0.1:{port}/healthz")

    # Then the site answers that its database and cache are reachable
    assert status == 200
    assert body == {"status": "ok", "database": "ok", "cache": "ok"}
    # and the entrypoint's own process is now gunicorn (exec), so ECS's SIGTERM reaches it
    command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
    assert any(b"gunicorn" in part for part in command_line)
    assert b"gunicorn.conf.py" in command_line
    # and the server never holds the master user's credentials, only the migrations did
    environment = Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
    assert not [v for v in environment if v.startswith(b"DB_MIGRATION_")]
    assert not [v for v in environment if b"master-password-for-migrations" in v]

    # When ECS stops the task
    process.send_signal(signal.SIGTERM)
    returncode = process.wait(timeout=30)

    # Then gunicorn drains and exits cleanly, having logged the request to stdout as JSON
    assert returncode == 0
    output = log.read_text()
    access = [json.loads(line) for line in output.splitlines() if line.startswith('{"remote"')]
    assert {"method": "GET", "path": "/healthz", "status": 200}.items() <= access[-1].items()
    # with the load balancer's trace id, which ties it to the ALB's log and X-Ray
    assert access[-1]["trace"] == ALB_TRACE_ID
    # and the read model's schema was migrated before the server started
    engine = create_engine(empty_database)
    try:
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        engine.dispose()
    assert {"events", "tickets"} <= tables
    head = ScriptDirectory.from_config(servers.alembic_config(empty_database)).get_current_head()
    assert revision == head


def test_entrypoint_builds_the_redis_url_from_the_injected_token(tmp_path: Path) -> None:
    # Given the cache endpoint as variables and its AUTH token as ECS injects it from the secret
    env = _container_env(
        tmp_path,
        REDIS_HOST="master.gatepass.cache.amazonaws.com",
        REDIS_PORT="6379",
        REDIS_AUTH_TOKEN="Tok3n/with+odd@chars",
    )

    # When the entrypoint runs a one-off command instead of the server
    result = subprocess.run(
        [str(ENTRYPOINT), "python", "-c", "import os; print(os.environ['REDIS_URL'])"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )

    # Then the command sees a TLS URL carrying the token, quoted so the URL stays parseable
    assert result.stdout.strip() == (
        "rediss://:Tok3n%2Fwith%2Bodd%40chars@master.gatepass.cache.amazonaws.com:6379/0"
    )
