"""Sign-in with an emailed code: two forms, then an HttpOnly, Secure, SameSite session cookie."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.web.conftest import csrf_from, page_token
from tests.web.fake_api import FakeApi, session_token

pytestmark = pytest.mark.web


def test_sign_in_with_an_emailed_code(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given a subscribed address
    fake_api.subscribed.add("alice@example.com")

    # When she asks for a code, then types the one she was emailed
    token = page_token(client, "/signin?next=/me/tickets")
    asked = client.post(
        "/signin", data={"csrf_token": token, "email": "Alice@Example.com", "next": "/me/tickets"}
    )
    code_page = client.get(asked.headers["Location"]).get_data(as_text=True)
    signed = client.post(
        "/signin/code",
        data={
            "csrf_token": csrf_from(code_page),
            "email": "alice@example.com",
            "code": fake_api.outbox["alice@example.com"],
            "next": "/me/tickets",
        },
    )

    # Then she is signed in with a protected cookie and sent where she was going
    assert asked.status_code == 302
    assert asked.headers["Location"].startswith("/signin/code?email=alice@example.com")
    assert signed.status_code == 302
    assert signed.headers["Location"] == "/me/tickets"
    cookie = signed.headers["Set-Cookie"]
    assert cookie.startswith("__Host-gp_session=")
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "SameSite=Lax" in cookie
    assert "Max-Age=3600" in cookie
    assert "Sign out" in client.get("/").get_data(as_text=True)


def test_a_wrong_code_does_not_sign_in(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given a code was sent
    fake_api.subscribed.add("alice@example.com")
    fake_api.send_otp("alice@example.com")
    wrong = "000000" if fake_api.outbox["alice@example.com"] != "000000" else "111111"

    # When a wrong code is typed
    answer = client.post(
        "/signin/code",
        data={"csrf_token": page_token(client), "email": "alice@example.com", "code": wrong},
    )

    # Then the form says so and no session is set
    assert answer.status_code == 401
    assert "The code is wrong or has expired." in answer.get_data(as_text=True)
    assert "gp_session" not in answer.headers.get("Set-Cookie", "")


def test_an_invalid_address_is_refused_by_the_form(client: FlaskClient, fake_api: FakeApi) -> None:
    # When the first form is posted with something that is not an address
    answer = client.post("/signin", data={"csrf_token": page_token(client), "email": "alice@"})

    # Then the form explains, and nothing is sent
    assert answer.status_code == 400
    assert "Enter a valid email address." in answer.get_data(as_text=True)
    assert "send_otp" not in fake_api.calls


def test_sign_in_never_redirects_off_site(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given a sign-in link crafted to send the user elsewhere afterwards
    fake_api.subscribed.add("alice@example.com")
    fake_api.send_otp("alice@example.com")

    # When the code is entered
    answer = client.post(
        "/signin/code",
        data={
            "csrf_token": page_token(client),
            "email": "alice@example.com",
            "code": fake_api.outbox["alice@example.com"],
            "next": "//evil.example/phish",
        },
    )

    # Then the user stays on Gatepass
    assert answer.headers["Location"] == "/"


def test_sign_out_forgets_the_session(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given a signed-in visitor
    client.set_cookie("__Host-gp_session", session_token("alice@example.com"), domain="localhost")
    token = page_token(client)

    # When she signs out
    answer = client.post("/signout", data={"csrf_token": token})

    # Then the cookie is cleared and the site shows "Sign in" again
    assert "__Host-gp_session=;" in answer.headers["Set-Cookie"]
    assert ">Sign in</a>" in client.get("/").get_data(as_text=True)


def test_a_forged_or_expired_session_is_not_signed_in(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given cookies that are not valid sessions
    forged = session_token("alice@example.com")[:-4] + "AAAA"
    expired = session_token("alice@example.com", ttl_seconds=-60)

    for cookie in (forged, expired):
        client.set_cookie("__Host-gp_session", cookie, domain="localhost")
        # When the visitor opens "My tickets"
        answer = client.get("/api/me/tickets")
        # Then they are treated as signed out
        assert answer.status_code == 401
