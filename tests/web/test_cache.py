"""Cache-aside in Redis: a second read comes from the cache, and a change the projector makes
invalidates it."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from tests.web.fake_api import FakeApi, session_token
from webapp.services import Availability

pytestmark = pytest.mark.web


def _sneak(db_engine: Engine, statement: str, **values: object) -> None:
    """Change PostgreSQL behind the cache's back (not through the projector)."""
    with db_engine.begin() as conn:
        conn.execute(text(statement), values)


def test_second_event_read_is_served_from_the_cache_until_the_projector_changes_it(
    client: FlaskClient, fake_api: FakeApi, db_engine: Engine
) -> None:
    # Given an event that has been read once
    event = fake_api.publish(title="Harbour jazz night")
    first = client.get(f"/api/events/{event['event_id']}").get_json()

    # When the database changes without the projector, the next read is still the cached one
    _sneak(
        db_engine, "UPDATE events SET title = 'Renamed' WHERE event_id = :id", id=first["event_id"]
    )
    second = client.get(f"/api/events/{event['event_id']}").get_json()

    # And when the projector applies a change, the next read is fresh
    fake_api.update_event(event["event_id"], title="Harbour jazz night (moved indoors)")
    third = client.get(f"/api/events/{event['event_id']}").get_json()

    assert first["title"] == second["title"] == "Harbour jazz night"
    assert third["title"] == "Harbour jazz night (moved indoors)"


def test_catalog_and_search_are_cached_and_invalidated_by_a_projected_event(
    client: FlaskClient, fake_api: FakeApi, db_engine: Engine
) -> None:
    # Given a catalog and a search that have been read
    fake_api.publish(title="Harbour jazz night")
    client.get("/?q=jazz")
    catalog = client.get("/api/events").get_json()
    _sneak(db_engine, "DELETE FROM events")

    # When they are read again, the cache answers
    cached = client.get("/api/events").get_json()
    cached_search = client.get("/?q=jazz").get_data(as_text=True)

    # And when the projector adds an event, both are reloaded
    fake_api.publish(title="Late jazz session")
    fresh = client.get("/api/events").get_json()
    fresh_search = client.get("/?q=jazz").get_data(as_text=True)

    assert [e["title"] for e in catalog["events"]] == ["Harbour jazz night"]
    assert cached == catalog
    assert "Harbour jazz night" in cached_search
    assert [e["title"] for e in fresh["events"]] == ["Late jazz session"]
    assert "Late jazz session" in fresh_search
    assert "Harbour jazz night" not in fresh_search


def test_a_sale_shows_on_cached_reads_within_a_second_without_invalidating_them(
    app: Flask, client: FlaskClient, fake_api: FakeApi, cache: redis.Redis
) -> None:
    # Given an event read once (and cached), on a worker whose clock the test moves
    now = [1000.0]
    services = app.extensions["gatepass"]
    services.availability = Availability(services.read_model.availability, 1.0, lambda: now[0])
    event = fake_api.publish(title="Tiny gig", capacity=3)
    path = f"/api/events/{event['event_id']}"
    assert client.get(path).get_json()["seats_left"] == 3
    generations = (cache.get("gp:gen:catalog"), cache.get(f"gp:gen:event:{event['event_id']}"))

    # When a ticket is sold (the projector updates the counts in the read model)
    fake_api.create_ticket(session_token("alice@example.com"), event["event_id"], "key-1")

    # Then for up to a second the worker shows the count it read last
    assert client.get(path).get_json()["seats_left"] == 3
    # and after it, the seat is gone from the same cached read
    now[0] += 1.01
    assert client.get(path).get_json()["seats_left"] == 2
    # while neither the catalog's nor the event's cache generation moved: a rush of sales
    # leaves the cached pages cached
    assert (
        cache.get("gp:gen:catalog"),
        cache.get(f"gp:gen:event:{event['event_id']}"),
    ) == generations


def test_a_change_other_than_counts_still_invalidates_the_event_at_once(
    client: FlaskClient, fake_api: FakeApi, cache: redis.Redis
) -> None:
    # Given an event read once (and cached)
    event = fake_api.publish(title="Tiny gig", capacity=3)
    client.get(f"/api/events/{event['event_id']}")
    before = int(cache.get(f"gp:gen:event:{event['event_id']}") or 0)

    # When the organizer renames the event
    fake_api.update_event(event["event_id"], title="Tiny gig (moved upstairs)")

    # Then its generation moves and the next read shows the new name
    assert int(cache.get(f"gp:gen:event:{event['event_id']}") or 0) > before
    assert client.get(f"/api/events/{event['event_id']}").get_json()["title"] == (
        "Tiny gig (moved upstairs)"
    )


def test_pages_still_work_when_redis_is_down(make_app: Any, fake_api: FakeApi) -> None:
    # Given the web configured with a cache that does not answer
    app = make_app(REDIS_URL="unix:///nonexistent/redis.sock")
    client = app.test_client()
    event = fake_api.publish(title="Harbour jazz night")

    # When pages are read
    page = client.get(f"/events/{event['event_id']}")
    search = client.get("/?q=jazz")
    health = client.get("/healthz")

    # Then they come from PostgreSQL, and the health check reports the cache as unavailable
    assert page.status_code == 200
    assert "Harbour jazz night" in page.get_data(as_text=True)
    assert search.status_code == 200
    assert health.status_code == 503
    assert health.get_json() == {"status": "unavailable", "database": "ok", "cache": "unavailable"}
