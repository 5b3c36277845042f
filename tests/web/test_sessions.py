"""Sessions that end, on the site: "Sign out" ends the API session too, "Sign out everywhere" on
the account page, and a session ended elsewhere or left idle is signed out with a message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gatepass import clock, tokens
from tests.web.conftest import csrf_from, page_token, sign_in_as
from tests.web.fake_api import SESSION_KEY, FakeApi, session_token

pytestmark = pytest.mark.web

ALICE = "alice@example.com"
START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.moment = START

    def now(self) -> datetime:
        return self.moment

    def epoch(self) -> int:
        return int(self.moment.timestamp())

    def advance(self, seconds: int) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(clock, "now", fake.now)
    monkeypatch.setattr(clock, "epoch", fake.epoch)
    return fake


def browser(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_PROTO"] = "https"
    return client


def signed_in(client: FlaskClient) -> bool:
    return "Sign out</button>" in client.get("/").get_data(as_text=True)


def cookie_token(client: FlaskClient) -> str:
    cookie = client.get_cookie("__Host-gp_session")
    assert cookie is not None
    return cookie.value


def sid_of(token: str) -> str:
    return tokens.verify_session_token(SESSION_KEY, token).session_id


def test_sign_out_ends_the_session_at_the_api_too(
    client: FlaskClient, fake_api: FakeApi, frozen: Clock
) -> None:
    # Given Alice is signed in
    sign_in_as(client, ALICE)
    token = cookie_token(client)

    # When she signs out
    answer = client.post("/signout", data={"csrf_token": page_token(client, "/")})

    # Then the site forgets her, and her token no longer works on the API either
    assert "__Host-gp_session=;" in answer.headers["Set-Cookie"]
    assert "Signed out." in client.get("/").get_data(as_text=True)
    assert sid_of(token) in fake_api.ended_sessions
    with pytest.raises(Exception, match="Sign in first"):
        fake_api.qr_code(token, "any")


def test_the_account_page_shows_the_session_and_signs_out_everywhere(
    app: Flask, fake_api: FakeApi, frozen: Clock
) -> None:
    # Given Alice is signed in on her laptop, and earlier on her phone
    phone = browser(app)
    sign_in_as(phone, ALICE)
    assert signed_in(phone)
    frozen.advance(10)
    laptop = browser(app)
    sign_in_as(laptop, ALICE)

    # When she opens her account page on the laptop
    page = laptop.get("/account").get_data(as_text=True)

    # Then it names her, says how long the session lasts, and offers to sign out everywhere
    assert ALICE in page
    assert "Ends without activity at" in page
    assert "(30 minutes after the last request)" in page
    assert "Sign out everywhere</button>" in page

    # When she signs out everywhere
    frozen.advance(5)
    answer = laptop.post("/account/sign-out-everywhere", data={"csrf_token": csrf_from(page)})

    # Then the laptop is signed out, with a message saying what happened
    assert answer.status_code == 302
    assert "__Host-gp_session=;" in answer.headers["Set-Cookie"]
    home = laptop.get("/").get_data(as_text=True)
    assert "Signed out everywhere: every session of your account has ended." in home
    assert ">Sign in</a>" in home
    # And the phone is signed out at its next check (at most a minute later), saying why
    frozen.advance(60)
    phone_page = phone.get("/").get_data(as_text=True)
    assert "this session was ended (signed out on another device, or everywhere)" in phone_page
    assert ">Sign in</a>" in phone_page
    # And only the phone's and laptop's sessions ended: Bob's still works
    bob = session_token("bob@example.com")
    assert fake_api.session(bob)["email"] == "bob@example.com"


def test_sign_out_everywhere_needs_the_forms_token(
    client: FlaskClient, fake_api: FakeApi, frozen: Clock
) -> None:
    # Given Alice is signed in
    sign_in_as(client, ALICE)

    # When a page elsewhere posts to "Sign out everywhere" without the form's token
    answer = client.post("/account/sign-out-everywhere")

    # Then it is refused and nothing ended
    assert answer.status_code == 403
    assert fake_api.sessions_valid_after == {}
    assert signed_in(client)


def test_sign_out_everywhere_says_so_when_the_api_is_unreachable(
    client: FlaskClient, fake_api: FakeApi, frozen: Clock
) -> None:
    # Given Alice on her account page, and then the API cannot be reached
    sign_in_as(client, ALICE)
    page = client.get("/account").get_data(as_text=True)
    fake_api.sessions_down = True

    # When she signs out everywhere
    answer = client.post("/account/sign-out-everywhere", data={"csrf_token": csrf_from(page)})

    # Then she is told nothing was signed out, and she is still signed in to try again
    assert answer.headers["Location"] == "/account"
    assert "nothing was signed out" in client.get("/").get_data(as_text=True)
    assert fake_api.sessions_valid_after == {}
    assert signed_in(client)


def test_an_idle_session_is_signed_out_and_an_active_one_is_kept(
    app: Flask, fake_api: FakeApi, frozen: Clock
) -> None:
    # Given two visitors signed in at the same time
    active, idle = browser(app), browser(app)
    sign_in_as(active, ALICE)
    sign_in_as(idle, "bob@example.com")
    idle_token = cookie_token(idle)
    assert signed_in(active)
    assert signed_in(idle)

    # When one keeps using the site every 20 minutes and the other comes back after 40
    frozen.advance(20 * 60)
    assert signed_in(active)
    frozen.advance(20 * 60)

    # Then the active one is still signed in, and the idle one is signed out, told why
    assert signed_in(active)
    page = idle.get("/").get_data(as_text=True)
    assert "You have been signed out after 30 minutes without activity." in page
    assert ">Sign in</a>" in page
    # And the API was told to end that session
    assert sid_of(idle_token) in fake_api.ended_sessions


def test_the_session_cookie_lives_as_long_as_the_idle_period_and_slides(
    client: FlaskClient, fake_api: FakeApi, frozen: Clock
) -> None:
    # Given Alice is signed in
    sign_in_as(client, ALICE)

    # When she opens a page
    answer = client.get("/me/tickets")

    # Then her session cookie is set to last the idle period from now, not the token's hour
    cookies = answer.headers.getlist("Set-Cookie")
    [session_cookie] = [c for c in cookies if c.startswith("__Host-gp_session=")]
    assert "Max-Age=1800" in session_cookie
    assert "HttpOnly" in session_cookie
    assert "Secure" in session_cookie
    # And near the end of the token's hour, however active she is, only what is left of it
    for _ in range(5):
        frozen.advance(10 * 60)
        late = client.get("/me/tickets").headers.getlist("Set-Cookie")
    assert any("Max-Age=600" in c for c in late if c.startswith("__Host-gp_session="))


def test_the_api_is_asked_at_most_once_a_minute(
    client: FlaskClient, fake_api: FakeApi, frozen: Clock
) -> None:
    # Given Alice is signed in and browsing
    sign_in_as(client, ALICE)
    client.get("/")
    checks = fake_api.session_checks

    # When she opens three more pages within the minute, then one after it
    for _ in range(3):
        frozen.advance(15)
        client.get("/")
    within = fake_api.session_checks
    frozen.advance(20)
    client.get("/")

    # Then only the last one asked the API
    assert (checks, within, fake_api.session_checks) == (1, 1, 2)


def test_an_unreachable_api_does_not_sign_anyone_out(
    client: FlaskClient, fake_api: FakeApi, frozen: Clock
) -> None:
    sign_in_as(client, ALICE)
    fake_api.sessions_down = True

    assert signed_in(client)


def test_a_form_posted_after_the_session_ended_asks_to_sign_in_again(
    client: FlaskClient, fake_api: FakeApi, frozen: Clock
) -> None:
    # Given Alice's account page is open, and her session is then ended elsewhere
    sign_in_as(client, ALICE)
    page = client.get("/account").get_data(as_text=True)
    fake_api.ended_sessions.add(sid_of(cookie_token(client)))
    frozen.advance(61)

    # When she presses "Sign out everywhere" on that page
    answer = client.post("/account/sign-out-everywhere", data={"csrf_token": csrf_from(page)})

    # Then she is sent to sign in, told her session ended (not that the form was forged)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/signin"
    assert "this session was ended" in client.get("/signin").get_data(as_text=True)


def test_an_expired_session_says_so(client: FlaskClient, fake_api: FakeApi, frozen: Clock) -> None:
    # Given a session cookie whose token has expired
    client.set_cookie(
        "__Host-gp_session", session_token(ALICE, ttl_seconds=-60), domain="localhost"
    )

    # When the visitor opens a page
    page = client.get("/").get_data(as_text=True)

    # Then they are signed out, told why, and the cookie is gone
    assert "Your session has expired. Sign in again to continue." in page
    assert ">Sign in</a>" in page
    assert client.get_cookie("__Host-gp_session") is None


def test_signing_in_again_ends_the_previous_session(
    client: FlaskClient, fake_api: FakeApi, frozen: Clock
) -> None:
    # Given a browser that still holds an earlier session
    sign_in_as(client, ALICE)
    earlier = cookie_token(client)
    fake_api.subscribed.add(ALICE)
    fake_api.send_otp(ALICE)

    # When someone signs in with a code in it
    frozen.advance(5)
    client.post(
        "/signin/code",
        data={
            "csrf_token": page_token(client),
            "email": ALICE,
            "code": fake_api.outbox[ALICE],
        },
    )

    # Then the earlier session has ended at the API, and the new one works
    assert sid_of(earlier) in fake_api.ended_sessions
    assert cookie_token(client) != earlier
    assert signed_in(client)


def test_the_account_page_needs_sign_in(client: FlaskClient, fake_api: FakeApi) -> None:
    answer = client.get("/account")

    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/signin?next=/account")
