"""Degrade, don't die: what the site does while PostgreSQL or Redis is away.

A store is "away" the way an outage looks to the app: a database URL or cache URL nobody answers
on, or an app whose database engine is swapped for one that cannot connect. The end-to-end version
(stores killed under ``make dev``'s stack) is tests/e2e/test_store_outages.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import page_token, sign_in_as
from tests.web.fake_api import FakeApi, session_token
from webapp.config import Config
from webapp.readmodel import make_engine

pytestmark = pytest.mark.web

DATABASE_AWAY = "postgresql+psycopg://gatepass:x@/gatepass?host=/nonexistent"
CACHE_AWAY = "unix:///nonexistent/redis.sock"


def _client(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_PROTO"] = "https"
    return client


def _database_goes_away(app: Flask, web_config: Config) -> Any:
    """Point the app's read model at a database that does not answer; returns the old engine."""
    read_model = app.extensions["gatepass"].read_model
    healthy = read_model.engine
    read_model.engine = make_engine(
        web_config.model_copy(update={"DATABASE_URL": DATABASE_AWAY, "DB_POOL_TIMEOUT": 1})
    )
    return healthy


# ---------------------------------------------------------------- liveness and the deep check


def test_liveness_stays_healthy_with_both_stores_away(make_app: Any, fake_api: FakeApi) -> None:
    # Given a web task whose database and cache both do not answer
    app = make_app(DATABASE_URL=DATABASE_AWAY, DB_POOL_TIMEOUT=1, REDIS_URL=CACHE_AWAY)
    client = _client(app)

    # When the load balancer and an operator look at it
    live = client.get("/livez")
    deep = client.get("/healthz")

    # Then the task stays in service, and the diagnostic names what is away
    assert live.status_code == 200
    assert live.get_json() == {"status": "ok"}
    assert deep.status_code == 503
    assert deep.get_json() == {
        "status": "unavailable",
        "database": "unavailable",
        "cache": "unavailable",
    }


# ---------------------------------------------------------------- Redis away: limits still hold


def test_sign_in_limits_hold_per_process_when_redis_is_away(
    make_app: Any, fake_api: FakeApi
) -> None:
    # Given the cache (the limits' shared storage) does not answer; the limit is 5 a minute
    client = _client(make_app(REDIS_URL=CACHE_AWAY))
    token = page_token(client, "/signin")

    # When one address asks for codes six times
    answers = [
        client.post("/signin", data={"csrf_token": token, "email": "alice@example.com"})
        for _ in range(6)
    ]

    # Then the limit still holds, counted in this process: it does not fail open
    assert [a.status_code for a in answers[:5]] == [302] * 5
    assert answers[5].status_code == 429
    assert fake_api.calls.count("send_otp") == 5


def test_search_limits_hold_when_redis_is_away(make_app: Any, fake_api: FakeApi) -> None:
    # Given the cache does not answer and the search limit is 10 a minute
    client = _client(make_app(REDIS_URL=CACHE_AWAY))
    fake_api.publish(title="Harbour jazz night")

    # When a client searches eleven times
    answers = [client.get(f"/api/events?q=jazz{n}") for n in range(11)]

    # Then the eleventh is refused, in JSON
    assert [a.status_code for a in answers[:10]] == [200] * 10
    assert answers[10].status_code == 429
    assert answers[10].get_json()["error"]["code"] == "rate_limited"


# ---------------------------------------------------------------- PostgreSQL away


def test_catalog_and_event_pages_come_from_the_api_with_a_notice(
    make_app: Any, fake_api: FakeApi
) -> None:
    # Given published events, and a web whose read model does not answer
    event = fake_api.publish(title="Harbour jazz night", venue="Pier 4")
    fake_api.publish(title="Quiet poetry evening")
    client = _client(make_app(DATABASE_URL=DATABASE_AWAY, DB_POOL_TIMEOUT=1))

    # When visitors browse the catalog, search it, open an event, and read the JSON
    catalog = client.get("/")
    search = client.get("/?q=jazz")
    page = client.get(f"/events/{event['event_id']}")
    listed = client.get("/api/events")
    one = client.get(f"/api/events/{event['event_id']}")
    missing = client.get("/events/" + "0" * 26)

    # Then everything answers from the API's public reads, and says the site is degraded
    assert catalog.status_code == 200
    html = catalog.get_data(as_text=True)
    assert "Harbour jazz night" in html
    assert "Quiet poetry evening" in html
    assert "read directly from the ticketing service" in html
    assert catalog.headers["X-Gatepass-Degraded"] == "api"
    found = search.get_data(as_text=True)
    assert "Harbour jazz night" in found
    assert "Quiet poetry evening" not in found
    assert "Search is limited right now" in found
    assert page.status_code == 200
    assert "Pier 4" in page.get_data(as_text=True)
    assert {e["title"] for e in listed.get_json()["events"]} == {
        "Harbour jazz night",
        "Quiet poetry evening",
    }
    assert listed.get_json()["notice"]
    assert one.get_json()["title"] == "Harbour jazz night"
    assert "organizer" not in one.get_json()
    assert missing.status_code == 404


def test_last_good_copy_when_the_api_is_away_too(
    make_app: Any, fake_api: FakeApi, cache: redis.Redis
) -> None:
    # Given pages that were read while everything worked, and whose cache entries have expired
    event = fake_api.publish(title="Harbour jazz night")
    healthy = _client(make_app())
    assert healthy.get("/").status_code == 200
    assert healthy.get(f"/events/{event['event_id']}").status_code == 200
    for key in cache.scan_iter("gp:cache:*"):
        cache.delete(key)

    # When the read model and the API's public reads are both away
    fake_api.public_reads_down = True
    client = _client(make_app(DATABASE_URL=DATABASE_AWAY, DB_POOL_TIMEOUT=1))
    catalog = client.get("/")
    page = client.get(f"/events/{event['event_id']}")

    # Then the last good copies are shown, dated
    assert catalog.status_code == 200
    assert "Harbour jazz night" in catalog.get_data(as_text=True)
    assert "how it looked at" in catalog.get_data(as_text=True)
    assert catalog.headers["X-Gatepass-Degraded"] == "last-copy"
    assert page.status_code == 200
    assert "how it looked at" in page.get_data(as_text=True)


def test_last_good_copy_survives_redis_going_away_too(
    make_app: Any, fake_api: FakeApi, web_config: Config
) -> None:
    # Given a worker that answered a search while everything worked
    fake_api.publish(title="Harbour jazz night")
    app = make_app()
    client = _client(app)
    assert "Harbour jazz night" in client.get("/?q=jazz").get_data(as_text=True)

    # When its database, the API and the cache all go away
    _database_goes_away(app, web_config)
    fake_api.public_reads_down = True
    away = make_app(REDIS_URL=CACHE_AWAY).extensions["gatepass"]
    services = app.extensions["gatepass"]
    services.cache = away.cache
    services.copies.redis = away.cache.redis
    answer = client.get("/?q=jazz")

    # Then the worker's own copy is shown
    assert answer.status_code == 200
    assert "Harbour jazz night" in answer.get_data(as_text=True)
    assert answer.headers["X-Gatepass-Degraded"] == "last-copy"


def test_nothing_to_show_is_a_readable_503(make_app: Any, fake_api: FakeApi) -> None:
    # Given no copy of anything, the read model and the API both away
    fake_api.public_reads_down = True
    client = _client(make_app(DATABASE_URL=DATABASE_AWAY, DB_POOL_TIMEOUT=1))

    # When a visitor opens the catalog and a script reads the JSON
    page = client.get("/")
    listed = client.get("/api/events")

    # Then both say the service is unavailable, in their own form, and ask to retry later
    assert page.status_code == 503
    assert "The catalog is unavailable right now." in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)
    assert page.headers["Retry-After"] == "30"
    assert listed.status_code == 503
    assert listed.get_json()["error"]["code"] == "service_unavailable"


def test_sign_in_works_while_the_database_is_away(make_app: Any, fake_api: FakeApi) -> None:
    # Given a subscribed address and a web whose read model does not answer
    fake_api.subscribed.add("alice@example.com")
    client = _client(make_app(DATABASE_URL=DATABASE_AWAY, DB_POOL_TIMEOUT=1))

    # When she asks for a code and enters it
    token = page_token(client, "/signin")
    asked = client.post("/signin", data={"csrf_token": token, "email": "alice@example.com"})
    code = fake_api.outbox["alice@example.com"]
    entered = client.post(
        "/signin/code", data={"csrf_token": token, "email": "alice@example.com", "code": code}
    )

    # Then she is signed in
    assert asked.status_code == 302
    assert entered.status_code == 302
    assert "gp_session=" in entered.headers.get("Set-Cookie", "")


def test_my_tickets_from_the_last_copy_while_the_database_is_away(
    make_app: Any, fake_api: FakeApi, web_config: Config
) -> None:
    # Given Alice holds a ticket and has looked at her tickets before
    event = fake_api.publish(title="Harbour jazz night")
    fake_api.create_ticket(session_token("alice@example.com"), event["event_id"], "key-1")
    app = make_app()
    client = _client(app)
    sign_in_as(client, "alice@example.com")
    assert "Harbour jazz night" in client.get("/me/tickets").get_data(as_text=True)

    # When the read model goes away
    _database_goes_away(app, web_config)
    page = client.get("/me/tickets")

    # Then her tickets are still listed, with their QR codes from the API, and a notice
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Harbour jazz night" in html
    assert "how it looked at" in html
    assert 'class="qr"' in html


def test_my_tickets_without_any_copy_says_so(make_app: Any, fake_api: FakeApi) -> None:
    client = _client(make_app(DATABASE_URL=DATABASE_AWAY, DB_POOL_TIMEOUT=1))
    sign_in_as(client, "bob@example.com")

    page = client.get("/me/tickets")

    assert page.status_code == 200
    assert "cannot be listed right now" in page.get_data(as_text=True)
    assert "No tickets yet" not in page.get_data(as_text=True)


def test_pages_that_need_the_database_answer_a_readable_503(
    make_app: Any, fake_api: FakeApi
) -> None:
    client = _client(make_app(DATABASE_URL=DATABASE_AWAY, DB_POOL_TIMEOUT=1))
    sign_in_as(client, "organizer@example.com")

    page = client.get("/organizer/")
    mine = client.get("/api/me/tickets")

    assert page.status_code == 503
    assert "The catalog, sign-in and your tickets still work" in page.get_data(as_text=True)
    assert mine.status_code == 503
    assert mine.get_json()["error"]["code"] == "service_unavailable"


def test_a_degraded_page_is_never_kept_by_the_page_cache(
    make_app: Any, fake_api: FakeApi, web_config: Config
) -> None:
    # Given an anonymous catalog served while the read model was away
    fake_api.publish(title="Harbour jazz night")
    app = make_app()
    client = _client(app)
    healthy = _database_goes_away(app, web_config)
    assert "read directly from the ticketing service" in client.get("/").get_data(as_text=True)

    # When the database is back (no change to any event, so no new cache generation)
    app.extensions["gatepass"].read_model.engine = healthy
    answer = client.get("/")

    # Then the next visitor gets the normal page, not the degraded one
    assert "read directly from the ticketing service" not in answer.get_data(as_text=True)
    assert "X-Gatepass-Degraded" not in answer.headers
