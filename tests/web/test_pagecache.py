"""The worker's rendered catalog for anonymous visitors (webapp.pagecache): shared where the page
is the same for everyone, never where it is personal, and invalidated by the projector."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from tests.web.conftest import csrf_from, page_token, sign_in_as
from tests.web.fake_api import FakeApi, session_token

pytestmark = pytest.mark.web


def _rename_behind_the_cache(db_engine: Engine, event_id: str, title: str) -> None:
    with db_engine.begin() as conn:
        conn.execute(
            text("UPDATE events SET title = :title WHERE event_id = :id"),
            {"title": title, "id": event_id},
        )


def _browser(app: Flask) -> FlaskClient:
    browser = app.test_client()
    browser.environ_base["HTTP_X_FORWARDED_PROTO"] = "https"
    return browser


def test_the_catalog_page_is_shared_until_the_projector_changes_the_catalog(
    client: FlaskClient, fake_api: FakeApi, db_engine: Engine
) -> None:
    # Given a catalog page an anonymous visitor has read
    event = fake_api.publish(title="Harbour jazz night")
    first = client.get("/").get_data(as_text=True)

    # When the database changes behind the cache, the next read is the same page
    _rename_behind_the_cache(db_engine, event["event_id"], "Renamed in secret")
    second = client.get("/").get_data(as_text=True)

    # And when the projector adds an event, the next read shows both current events
    fake_api.publish(title="Late jazz session")
    third = client.get("/").get_data(as_text=True)

    assert "Harbour jazz night" in first
    assert "Harbour jazz night" in second
    assert "Renamed in secret" not in second
    assert "Late jazz session" in third
    assert "Renamed in secret" in third


def test_every_anonymous_visitor_gets_their_own_form_token_and_it_works(
    app: Flask, fake_api: FakeApi
) -> None:
    # Given two browsers that open the (shared) catalog page, then the sign-in form
    fake_api.publish(title="Harbour jazz night")
    alice, bob = _browser(app), _browser(app)
    alice.get("/")
    bob.get("/")
    alice_token = page_token(alice)
    alice_cookie = alice.get_cookie("__Host-gp_csrf")
    page_token(alice)
    bob_token = page_token(bob)

    # When each signs in with the token their own page carried, and Bob with Alice's
    alice_asks = alice.post("/signin", data={"csrf_token": alice_token, "email": "a@example.com"})
    bob_forges = bob.post("/signin", data={"csrf_token": alice_token, "email": "b@example.com"})
    bob_asks = bob.post("/signin", data={"csrf_token": bob_token, "email": "b@example.com"})

    # Then the tokens and cookies are per browser (and one browser keeps its cookie), and each
    # browser's own token is accepted while another's is not
    alice_again, bob_cookie = alice.get_cookie("__Host-gp_csrf"), bob.get_cookie("__Host-gp_csrf")
    assert alice_cookie is not None
    assert alice_again is not None
    assert bob_cookie is not None
    assert alice_token != bob_token
    assert alice_again.value == alice_cookie.value != bob_cookie.value
    assert alice_asks.status_code == 302
    assert bob_forges.status_code == 403
    assert bob_asks.status_code == 302


def test_a_signed_in_visitor_never_gets_the_anonymous_page(
    app: Flask, client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given a catalog page cached for anonymous visitors
    fake_api.publish(title="Harbour jazz night")
    anonymous = client.get("/").get_data(as_text=True)

    # When a signed-in visitor opens it
    member = _browser(app)
    sign_in_as(member, "alice@example.com")
    page = member.get("/").get_data(as_text=True)

    # Then they see their own navigation, with a sign-out form carrying their token
    assert "My tickets" not in anonymous
    assert "My tickets" in page
    assert 'action="/signout"' in page
    assert csrf_from(page) in page.split('action="/signout"', 1)[1]


def test_a_flash_message_is_shown_on_the_catalog_after_signing_out(
    app: Flask, client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given a catalog page cached for anonymous visitors, and a signed-in visitor
    fake_api.publish(title="Harbour jazz night")
    client.get("/")
    member = _browser(app)
    sign_in_as(member, "alice@example.com")
    token = page_token(member)

    # When they sign out and are sent to the catalog
    page = member.post("/signout", data={"csrf_token": token}, follow_redirects=True)

    # Then the catalog says so (it was rendered for them, not taken from the shared copy)
    assert page.status_code == 200
    assert "Signed out." in page.get_data(as_text=True)


def test_shared_pages_keep_the_security_headers(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given a catalog page and the JSON catalog, each read twice (the second from the worker)
    fake_api.publish(title="Harbour jazz night")
    for path in ("/", "/api/events"):
        client.get(path)
        again = client.get(path)

        # Then the shared copy carries the same headers as a rendered one
        assert again.status_code == 200
        assert again.headers["X-Frame-Options"] == "DENY"
        assert "default-src 'self'" in again.headers["Content-Security-Policy"]
        assert again.headers["Cache-Control"] == "no-store"
        assert again.headers["Strict-Transport-Security"].startswith("max-age=")
        assert int(again.headers["Content-Length"]) == len(again.get_data())


def test_the_shared_catalog_carries_no_form_token_and_sets_no_cookie(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given a catalog page an anonymous visitor has read once (rendered) and once (shared)
    fake_api.publish(title="Harbour jazz night")
    rendered = client.get("/")
    shared = client.get("/")

    # Then neither carries a CSRF token or sets a cookie, and both are the same page
    for answer in (rendered, shared):
        assert "csrf" not in answer.get_data(as_text=True).lower()
        assert "Set-Cookie" not in answer.headers
    assert rendered.get_data() == shared.get_data()


def test_the_shared_catalog_shows_a_sale_without_a_new_generation(
    make_app: Any, fake_api: FakeApi, cache: redis.Redis
) -> None:
    # Given a worker that reads seat counts on every render, and a catalog page it has shared
    browser = _browser(make_app(AVAILABILITY_SECONDS=0.0))
    event = fake_api.publish(title="Tiny gig", capacity=3)
    before = browser.get("/api/events").get_json()["events"][0]["seats_left"]
    generation = cache.get("gp:gen:catalog")

    # When a ticket is sold
    fake_api.create_ticket(session_token("alice@example.com"), event["event_id"], "key-1")

    # Then the shared page shows the seat gone, though the catalog's generation did not move
    after = browser.get("/api/events").get_json()["events"][0]["seats_left"]
    assert (before, after) == (3, 2)
    assert cache.get("gp:gen:catalog") == generation
