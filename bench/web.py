"""Web reads: the catalog page and ``/api/events`` under gunicorn (``container/gunicorn.conf.py``)
with embedded PostgreSQL and Redis, cached and uncached, against a hello-world app under the
same gunicorn configuration (the ceiling). Load comes from wrk on loopback, or from a small
threaded Python client when wrk is not installed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import PYTHONPATH, ROOT, summary

CONTAINER = ROOT / "container"
GUNICORN_CONF = CONTAINER / "gunicorn.conf.py"
ENDPOINTS = {"catalog": "/", "api_events": "/api/events"}


def seed_read_model(database_url: str, redis_url: str, events: int) -> None:
    """``events`` upcoming events, written the way the projector writes them."""
    import redis

    from gatepass import ids
    from gatepass.dal.layout import event_key
    from gatepass.readmodel.cache import RedisInvalidator
    from gatepass.readmodel.database import Database
    from gatepass.readmodel.projection import Change, apply_change

    database = Database(database_url)
    invalidator = RedisInvalidator(redis.Redis.from_url(redis_url))
    now = datetime.now(UTC).replace(microsecond=0)
    venues = ("Pier 9 Warehouse, Lisbon", "Tech Hub Auditorium, Berlin", "Botanic Garden, Leeds")
    try:
        for number in range(events):
            event_id = ids.new_id()
            starts = now + timedelta(days=1 + number % 90, hours=number % 12)
            stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
            item = {
                **event_key(event_id),
                "entity": "event",
                "event_id": event_id,
                "title": f"Night {number}: jazz, talks and street food",
                "description": "An evening of music and conversation. " * 4,
                "venue": venues[number % len(venues)],
                "starts_at": starts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "starts_at_local": starts.isoformat(),
                "capacity": 100 + number,
                "sold": number % 100,
                "checked_in": 0,
                "organizer": f"organizer{number % 7}@example.com",
                "image_status": "none",
                # Events carry their published verifying key (a public key: any 32 bytes do here).
                "verifying_key": "A" * 43,
                "created_at": stamp,
                "updated_at": stamp,
                "version": 1,
            }
            apply_change(database, invalidator, Change("INSERT", new_image=item, old_image={}))
    finally:
        database.close()


@contextmanager
def databases() -> Iterator[tuple[str, str]]:
    from devstack.databases import Databases
    from devstack.web import migrate
    from gatepass.readmodel.database import normalize_url

    stores = Databases()
    stores.start()
    try:
        assert stores.database_url
        assert stores.redis_url
        url = normalize_url(stores.database_url)
        migrate(url)
        yield url, stores.redis_url
    finally:
        stores.stop()


@contextmanager
def gunicorn(app: str, env: dict[str, str]) -> Iterator[str]:
    from devstack.servers import free_port

    port = free_port()
    full_env = {**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(port)}
    full_env["PYTHONPATH"] = PYTHONPATH
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), app],
        cwd=str(CONTAINER),
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                # Only ever the gunicorn this function started on loopback.
                with urllib.request.urlopen(url + "/", timeout=5) as answer:  # noqa: S310
                    answer.read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn {app} did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _seconds(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not found:
        raise ValueError(text)
    value, unit = float(found.group(1)), found.group(2)
    return value * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def load_wrk(url: str, seconds: float, connections: int) -> dict[str, Any]:
    done = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "--timeout",
            "10s",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    text = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    p50 = _seconds(re.search(r"\s50%\s+(\S+)", text).group(1))  # type: ignore[union-attr]
    p99 = _seconds(re.search(r"\s99%\s+(\S+)", text).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: (.*)", text)
    requests = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    return {
        "requests_per_second": rps,
        "p50_seconds": p50,
        "p99_seconds": p99,
        "requests": requests,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
        "generator": "wrk",
    }


def load_python(url: str, seconds: float, connections: int) -> dict[str, Any]:
    """Keep-alive clients on threads: slower than wrk, so its ceiling is lower too."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    path = parts.path or "/"
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        mine: list[float] = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            conn.request("GET", path)
            answer = conn.getresponse()
            answer.read()
            mine.append(time.perf_counter() - started)
            if answer.status >= 400:
                with lock:
                    failures[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    workers = [threading.Thread(target=client) for _ in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    ordered = sorted(latencies)
    return {
        "requests_per_second": len(ordered) / elapsed,
        "p50_seconds": ordered[len(ordered) // 2],
        "p99_seconds": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "requests": len(ordered),
        "non_2xx": failures[0],
        "socket_errors": "",
        "generator": "python",
    }


def load(url: str, seconds: float, connections: int) -> dict[str, Any]:
    if shutil.which("wrk"):
        return load_wrk(url, seconds, connections)
    return load_python(url, seconds, connections)


@contextmanager
def cache_busting(redis_url: str) -> Iterator[None]:
    """Bump and announce the catalog's cache generation continuously, as the projector does on a
    stream of writes, so that (nearly) every read misses the cache and goes to PostgreSQL."""
    import redis

    from gatepass.readmodel.cache import CATALOG_GENERATION, RedisInvalidator

    client = redis.Redis.from_url(redis_url)
    invalidator = RedisInvalidator(client)
    stop = threading.Event()

    def bump() -> None:
        while not stop.is_set():
            invalidator.invalidate([CATALOG_GENERATION])
            time.sleep(0.0005)

    worker = threading.Thread(target=bump, daemon=True)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join()
        client.close()


@contextmanager
def sales(
    database_url: str, redis_url: str, event_id: str, *, per_second: float, before: bool
) -> Iterator[None]:
    """Sales of one event at ``per_second``, as the projector applies them: each moves the event's
    seats counter in PostgreSQL. ``before`` also bumps and announces the catalog's and the
    event's cache generations, as every sale did before counts were read apart (ADR 0071)."""
    import redis

    from gatepass.dal.layout import seats_key
    from gatepass.readmodel.cache import CATALOG_GENERATION, RedisInvalidator, event_generation
    from gatepass.readmodel.database import Database
    from gatepass.readmodel.projection import Change, apply_change

    database = Database(database_url)
    client = redis.Redis.from_url(redis_url)
    invalidator = RedisInvalidator(client)
    starts = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    seats: dict[str, Any] = {
        **seats_key(event_id),
        "entity": "seats",
        "event_id": event_id,
        "capacity": 1_000_000,
        "available": 1_000_000,
        "sold": 0,
        "held": 0,
        "checked_in": 0,
        "starts_at": starts,
        "status": "on_sale",
        "type_count": 1,
        "version": int(time.time() * 1000),
    }
    apply_change(database, invalidator, Change("INSERT", new_image=seats, old_image={}))
    stop = threading.Event()

    def sell() -> None:
        nonlocal seats
        interval = 1.0 / per_second
        next_at = time.monotonic()
        while not stop.is_set():
            sold = {
                **seats,
                "available": seats["available"] - 1,
                "sold": seats["sold"] + 1,
                "version": seats["version"] + 1,
            }
            apply_change(database, invalidator, Change("MODIFY", new_image=sold, old_image=seats))
            if before:
                invalidator.invalidate([CATALOG_GENERATION, event_generation(event_id)])
            seats = sold
            next_at += interval
            stop.wait(max(0.0, next_at - time.monotonic()))

    worker = threading.Thread(target=sell, daemon=True)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join()
        client.close()
        database.close()


def first_event(database_url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return str(
                conn.execute(
                    text("SELECT event_id FROM events ORDER BY starts_at LIMIT 1")
                ).scalar_one()
            )
    finally:
        engine.dispose()


def rush_reads(
    web: str, database_url: str, redis_url: str, repeats: int, seconds: float, connections: int
) -> dict[str, Any]:
    """The catalog and the busiest event's page, quiet and while it sells 100 tickets a second,
    now and as before (every sale invalidating both); interleaved rounds."""
    event_id = first_event(database_url)
    paths = {"catalog": "/", "event_page": f"/events/{event_id}"}
    modes = ("quiet", "during_sales", "during_sales_before")
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        name: {mode: [] for mode in modes} for name in paths
    }
    for _ in range(repeats):
        for name, path in paths.items():
            load(web + path, 1, connections)
            runs[name]["quiet"].append(load(web + path, seconds, connections))
            for mode, before in (("during_sales", False), ("during_sales_before", True)):
                with sales(database_url, redis_url, event_id, per_second=100, before=before):
                    runs[name][mode].append(load(web + path, seconds, connections))
    result: dict[str, Any] = {"sales_per_second": 100, "paths": paths}
    for name, by_mode in runs.items():
        quiet = summary([s["requests_per_second"] for s in by_mode["quiet"]])
        entry: dict[str, Any] = {}
        for mode, samples in by_mode.items():
            rps = summary([s["requests_per_second"] for s in samples])
            entry[mode] = {
                "requests_per_second": rps,
                "p99_seconds": summary([s["p99_seconds"] for s in samples]),
                "share_of_quiet": rps["median"] / quiet["median"],
                "non_2xx": sum(s["non_2xx"] for s in samples),
            }
        result[name] = entry
    return result


def cache_entries(redis_url: str) -> int:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        return sum(1 for _ in client.scan_iter("gp:cache:*", count=1000))
    finally:
        client.close()


def flush(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter("gp:cache:*", count=1000):
            client.delete(key)
    finally:
        client.close()


def run(
    repeats: int,
    database_url: str,
    redis_url: str,
    *,
    seconds: float = 5,
    connections: int = 16,
    events: int = 200,
) -> dict[str, Any]:
    from devstack.template import TemplateModel
    from devstack.web import web_environment

    samples: dict[str, list[dict[str, Any]]] = {"ceiling": [], "flask_hello": []}
    for name in ENDPOINTS:
        samples[f"{name}_cached"] = []
        samples[f"{name}_uncached"] = []
    misses: dict[str, list[float]] = {name: [] for name in ENDPOINTS}
    seed_read_model(database_url, redis_url, events)
    env = web_environment(
        TemplateModel(),
        api_url="http://127.0.0.1:9/dev",
        aws_url="http://127.0.0.1:9",
        database_url=database_url,
        redis_url=redis_url,
    )
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "LOG_LEVEL": "warning",
            "RATELIMIT_ENABLED": "true",
        }
    )
    with (
        gunicorn("bench.hello:app", env) as hello,
        gunicorn("bench.hello:flask_app", env) as flask_hello,
        gunicorn("webapp:create_app()", env) as web,
    ):
        for path in ENDPOINTS.values():  # warm every worker's pools and templates
            load(web + path, 1, connections)
        load(hello + "/", 1, connections)
        load(flask_hello + "/", 1, connections)
        rush = rush_reads(web, database_url, redis_url, repeats, seconds, connections)
        for _ in range(repeats):
            samples["ceiling"].append(load(hello + "/", seconds, connections))
            samples["flask_hello"].append(load(flask_hello + "/", seconds, connections))
            for name, path in ENDPOINTS.items():
                load(web + path, 1, connections)
                samples[f"{name}_cached"].append(load(web + path, seconds, connections))
                flush(redis_url)
                with cache_busting(redis_url):
                    measured = load(web + path, seconds, connections)
                samples[f"{name}_uncached"].append(measured)
                misses[name].append(cache_entries(redis_url) / max(1, measured["requests"]))
                flush(redis_url)
    ceiling = summary([s["requests_per_second"] for s in samples["ceiling"]])
    result: dict[str, Any] = {
        "rush_reads": rush,
        "events_in_read_model": events,
        "seconds_per_run": seconds,
        "connections": connections,
        "generator": samples["ceiling"][0]["generator"],
        "ceiling": {
            "requests_per_second": ceiling,
            "p99_seconds": summary([s["p99_seconds"] for s in samples["ceiling"]]),
        },
    }
    flask_rps = summary([s["requests_per_second"] for s in samples["flask_hello"]])
    result["flask_hello"] = {
        "requests_per_second": flask_rps,
        "p99_seconds": summary([s["p99_seconds"] for s in samples["flask_hello"]]),
        "share_of_ceiling": flask_rps["median"] / ceiling["median"],
    }
    for key, runs in samples.items():
        if key in ("ceiling", "flask_hello"):
            continue
        rps = summary([s["requests_per_second"] for s in runs])
        result[key] = {
            "path": ENDPOINTS[key.rsplit("_", 1)[0]],
            "requests_per_second": rps,
            "p50_seconds": summary([s["p50_seconds"] for s in runs]),
            "p99_seconds": summary([s["p99_seconds"] for s in runs]),
            "share_of_ceiling": rps["median"] / ceiling["median"],
            "share_of_flask_hello": rps["median"] / flask_rps["median"],
            "paired_share": summary(
                [
                    s["requests_per_second"] / c["requests_per_second"]
                    for s, c in zip(runs, samples["ceiling"], strict=True)
                ]
            ),
            "non_2xx": sum(s["non_2xx"] for s in runs),
        }
        if key.endswith("_uncached"):
            result[key]["miss_ratio"] = summary(misses[key.rsplit("_", 1)[0]])
    return result
