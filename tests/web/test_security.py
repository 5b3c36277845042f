"""CSRF, security headers and JSON errors."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import csrf_from, page_token, sign_in_as
from tests.web.fake_api import FakeApi

pytestmark = pytest.mark.web


def test_posts_without_a_csrf_token_are_refused(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given a signed-in attendee and an event
    event = fake_api.publish(title="Book swap")
    sign_in_as(client, "alice@example.com")
    page_token(client)

    # When a form is posted without the token (as a forged cross-site form would be)
    answer = client.post(f"/events/{event['event_id']}/tickets", data={"idempotency_key": "k1"})
    api_style = client.post(
        f"/events/{event['event_id']}/tickets", headers={"Accept": "application/json"}
    )

    # Then it is refused and nothing reaches the API
    assert answer.status_code == 403
    assert "did not come from this site" in answer.get_data(as_text=True)
    assert api_style.get_json()["error"]["code"] == "csrf_failed"
    assert "create_ticket" not in fake_api.calls


def test_a_token_from_another_browser_is_refused(
    app: Flask, client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given a token an attacker got from their own visit
    attacker = app.test_client()
    attacker_token = page_token(attacker)
    page_token(client)

    # When it is posted with the victim's cookies
    answer = client.post(
        "/signin", data={"csrf_token": attacker_token, "email": "victim@example.com"}
    )

    # Then it does not match the victim's cookie and is refused
    assert answer.status_code == 403
    assert "send_otp" not in fake_api.calls


def test_a_token_from_before_sign_in_or_another_session_is_refused(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given a form token the visitor got while anonymous, and one from Alice's first session
    event = fake_api.publish(title="Book swap")
    anonymous_token = page_token(client)
    sign_in_as(client, "alice@example.com")
    first_session_token = page_token(client)
    sign_in_as(client, "alice@example.com")  # a second session (new sid), same browser cookies

    # When either is posted with the current session
    stale = [
        client.post(
            f"/events/{event['event_id']}/tickets",
            data={"csrf_token": token, "idempotency_key": "k1"},
        )
        for token in (anonymous_token, first_session_token)
    ]
    # Then both are refused, and a token the current session's pages carry works
    current = client.post(
        f"/events/{event['event_id']}/tickets",
        data={"csrf_token": page_token(client), "idempotency_key": "k1"},
    )
    assert [answer.status_code for answer in stale] == [403, 403]
    assert current.status_code == 302
    assert fake_api.calls.count("create_ticket") == 1


def test_cookies_are_host_prefixed_and_secure(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.subscribed.add("alice@example.com")
    token = page_token(client, "/signin")
    client.post("/signin", data={"csrf_token": token, "email": "alice@example.com"})
    code_page = client.get("/signin/code?email=alice@example.com").get_data(as_text=True)
    signed = client.post(
        "/signin/code",
        data={
            "csrf_token": csrf_from(code_page),
            "email": "alice@example.com",
            "code": fake_api.outbox["alice@example.com"],
        },
    )

    cookies = signed.headers.getlist("Set-Cookie")
    assert cookies
    for cookie in cookies:
        assert cookie.startswith("__Host-"), cookie
        attributes = [part.strip().lower() for part in cookie.split(";")]
        assert "secure" in attributes
        assert "path=/" in attributes
        assert not any(part.startswith("domain=") for part in attributes)


def test_a_tampered_token_is_refused(client: FlaskClient, fake_api: FakeApi) -> None:
    token = page_token(client)
    answer = client.post("/signin", data={"csrf_token": token[:-2] + "xx", "email": "a@b.io"})
    assert answer.status_code == 403


def test_pages_carry_security_headers(client: FlaskClient, fake_api: FakeApi) -> None:
    # When a page with a form is served over HTTPS (the ALB says so)
    answer = client.get("/signin")

    # Then it may not be framed or sniffed, scripts come only from the site, uploads may go to
    # the uploads bucket, and browsers are told to stay on HTTPS
    headers = answer.headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    connect = next(d for d in csp.split("; ") if d.startswith("connect-src"))
    assert "https://gatepass-uploads-test.s3.amazonaws.com" in connect
    images = next(d for d in csp.split("; ") if d.startswith("img-src"))
    assert "https://gatepass-tickets-test.s3.us-east-1.amazonaws.com" in images
    assert "blob:" in images
    assert "data:" in images
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert "__Host-gp_csrf=" in headers["Set-Cookie"]
    assert "HttpOnly" in headers["Set-Cookie"]


def test_no_hsts_over_plain_http(app: Flask, fake_api: FakeApi) -> None:
    # When a page is served over plain HTTP (local development)
    answer = app.test_client().get("/")

    # Then HSTS is not claimed
    assert "Strict-Transport-Security" not in answer.headers


def test_api_errors_are_json(client: FlaskClient, fake_api: FakeApi) -> None:
    # When the JSON API is asked for things that are not there, or the wrong way
    unknown_route = client.get("/api/nothing-here")
    unknown_event = client.get("/api/events/aaaaaaaaaaaaaaaa")
    bad_page = client.get("/api/events?page=first")
    wrong_method = client.delete("/api/events")

    # Then each answers a JSON error with the right status and no stack trace
    assert (unknown_route.status_code, unknown_route.get_json()["error"]["code"]) == (
        404,
        "not_found",
    )
    assert unknown_event.status_code == 404
    assert unknown_event.get_json()["error"]["message"] == "There is nothing here."
    assert (bad_page.status_code, bad_page.get_json()["error"]["code"]) == (400, "bad_request")
    # DELETE is refused by CSRF before routing, which is as good an answer
    assert wrong_method.status_code in (403, 405)
    assert "error" in wrong_method.get_json()


def test_organizer_pages_need_sign_in(client: FlaskClient, fake_api: FakeApi) -> None:
    event = fake_api.publish(title="Choir concert")
    for path in ("/organizer/", f"/organizer/events/{event['event_id']}/scan"):
        answer = client.get(path)
        assert answer.status_code == 302
        assert answer.headers["Location"].startswith("/signin?next=")
