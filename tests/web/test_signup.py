"""Sign-up on the site, and sign-in through the emailed link: pages a person sees, the same for
every address, and readable refusals for links that cannot sign anyone in."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests.web.conftest import csrf_from, page_token
from tests.web.fake_api import FakeApi

pytestmark = pytest.mark.web


def scrub(html: str, *emails: str) -> str:
    """A page without its form token and the addresses typed into it."""
    html = re.sub(r'name="csrf_token" value="[^"]+"', "", html)
    for email in sorted(emails, key=len, reverse=True):
        html = html.replace(email, "X")
    return html


def sign_up(client: FlaskClient, email: str) -> tuple[int, str, str]:
    """Post the sign-up form; the status, where it leads and the page it leads to."""
    answer = client.post(
        "/signup", data={"csrf_token": page_token(client, "/signup"), "email": email}
    )
    location = answer.headers.get("Location", "")
    page = (
        client.get(location).get_data(as_text=True) if location else answer.get_data(as_text=True)
    )
    return answer.status_code, location, page


def ask_for_mail(client: FlaskClient, email: str) -> tuple[int, str, str]:
    answer = client.post("/signin", data={"csrf_token": page_token(client), "email": email})
    location = answer.headers.get("Location", "")
    return answer.status_code, location, client.get(location).get_data(as_text=True)


def finish(client: FlaskClient, token: str) -> tuple[int, str, str]:
    landing = client.get(f"/signin/link?token={token}")
    assert landing.status_code == 200
    html = landing.get_data(as_text=True)
    answer = client.post("/signin/link", data={"csrf_token": csrf_from(html), "token": token})
    return answer.status_code, answer.headers.get("Location", ""), answer.get_data(as_text=True)


def test_sign_up_asks_the_api_and_says_what_happens_next(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given a visitor on the sign-in page who has no account
    signin_page = client.get("/signin").get_data(as_text=True)
    assert 'href="/signup"' in signin_page

    # When she signs up
    status, location, page = sign_up(client, " Dana@Example.com ")

    # Then the API is asked to subscribe her normalised address, and the next page explains the
    # confirmation email, what pending, expired and failed mean, and how to send it again
    assert (status, location) == (302, "/signup/sent?email=dana@example.com")
    assert fake_api.subscribe_requests == ["dana@example.com"]
    assert "AWS Notifications" in page
    for state in ("pending", "expires", "failed"):
        assert state in page
    assert 'id="resend"' in page
    assert 'href="/signin"' in page


def test_sign_up_pages_are_the_same_for_every_address(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given one subscribed address and one unknown
    fake_api.subscribed.add("known@example.com")

    # When each is signed up
    known = sign_up(client, "known@example.com")
    unknown = sign_up(client, "unknown@example.com")

    # Then status and page differ only by the address shown
    assert known[0] == unknown[0] == 302
    assert scrub(known[2], "known@example.com") == scrub(unknown[2], "unknown@example.com")


def test_resending_the_confirmation_asks_the_api_again(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    _, _, page = sign_up(client, "dana@example.com")

    again = client.post(
        "/signup", data={"csrf_token": csrf_from(page), "email": "dana@example.com"}
    )

    assert again.status_code == 302
    assert fake_api.subscribe_requests == ["dana@example.com", "dana@example.com"]


@pytest.mark.parametrize("bad", ["dana@", "not an address", ""])
def test_a_malformed_address_is_refused_by_the_sign_up_form(
    client: FlaskClient, fake_api: FakeApi, bad: str
) -> None:
    status, _, page = sign_up(client, bad)

    assert status == 400
    assert "Enter a valid email address." in page
    assert fake_api.subscribe_requests == []


def test_sign_in_pages_are_the_same_for_known_and_unknown_addresses(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    fake_api.subscribed.add("known@example.com")

    known = ask_for_mail(client, "known@example.com")
    unknown = ask_for_mail(client, "unknown@example.com")

    assert known[0] == unknown[0] == 302
    assert scrub(known[2], "known@example.com") == scrub(unknown[2], "unknown@example.com")
    # And the page tells a person without an account what to do
    assert "Sign up" in unknown[2]


def test_the_emailed_link_signs_in_the_browser_that_asked(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given Alice asked for sign-in mail from this browser
    fake_api.subscribed.add("alice@example.com")
    status, _, _ = ask_for_mail(client, "alice@example.com")
    assert status == 302
    token = fake_api.link_outbox["alice@example.com"]

    # When she opens the link and confirms
    landing = client.get(f"/signin/link?token={token}")
    status, location, _ = finish(client, token)

    # Then the landing page leaks nothing through Referer, and she is signed in
    assert landing.headers["Referrer-Policy"] == "no-referrer"
    assert (status, location) == (302, "/")
    home = client.get("/").get_data(as_text=True)
    assert "Signed in as alice@example.com." in home
    assert "Sign out" in home


def test_the_browser_nonce_cookie_is_protected(client: FlaskClient, fake_api: FakeApi) -> None:
    answer = client.post(
        "/signin", data={"csrf_token": page_token(client), "email": "alice@example.com"}
    )

    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if "gp_signin=" in c)
    assert cookie.startswith("__Host-gp_signin=")
    for attribute in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/"):
        assert attribute in cookie


def test_a_used_link_shows_a_readable_page(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.subscribed.add("alice@example.com")
    ask_for_mail(client, "alice@example.com")
    token = fake_api.link_outbox["alice@example.com"]
    finish(client, token)
    client.post("/signout", data={"csrf_token": page_token(client)})

    status, _, page = finish(client, token)

    assert status == 410
    assert "This sign-in link was already used" in page
    assert 'href="/signin"' in page


def test_an_expired_link_shows_a_readable_page(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.subscribed.add("alice@example.com")
    ask_for_mail(client, "alice@example.com")
    token = fake_api.link_outbox["alice@example.com"]
    fake_api.links[token]["expired"] = True

    status, _, page = finish(client, token)

    assert status == 410
    assert "This sign-in link has expired" in page
    assert "gp_session" not in str(client.get_cookie("__Host-gp_session"))


def test_a_link_opened_in_another_browser_signs_nobody_in(
    client: FlaskClient, fake_api: FakeApi, app: object
) -> None:
    # Given Alice asked from her browser
    fake_api.subscribed.add("alice@example.com")
    ask_for_mail(client, "alice@example.com")
    token = fake_api.link_outbox["alice@example.com"]

    # When the link is opened in a browser that never asked (no nonce cookie at all), and in one
    # that asked for another address
    elsewhere = app.test_client()  # type: ignore[attr-defined]
    status, _, page = finish(elsewhere, token)
    other = app.test_client()  # type: ignore[attr-defined]
    ask_for_mail(other, "mallory@example.com")
    other_status, _, other_page = finish(other, token)

    # Then both see why, and nobody is signed in; Alice's own browser still can
    assert (status, other_status) == (403, 403)
    assert "Open this link in the browser where you asked for it" in page
    assert "Open this link in the browser where you asked for it" in other_page
    assert "Sign out" not in elsewhere.get("/").get_data(as_text=True)
    assert finish(client, token)[:2] == (302, "/")


@pytest.mark.parametrize("token", ["", "short", "has spaces in it and is long enough to pass"])
def test_a_malformed_link_shows_a_readable_page(
    client: FlaskClient, fake_api: FakeApi, token: str
) -> None:
    answer = client.get("/signin/link", query_string={"token": token})

    assert answer.status_code == 400
    assert "This sign-in link is not valid" in answer.get_data(as_text=True)
    assert "verify_link" not in fake_api.calls


def test_a_forged_link_token_shows_a_readable_page(client: FlaskClient, fake_api: FakeApi) -> None:
    ask_for_mail(client, "alice@example.com")

    status, _, page = finish(client, "f" * 43)

    assert status == 401
    assert "This sign-in link is not valid" in page


def test_paused_codes_tell_the_person_to_use_the_link(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given someone has used up the code tries of Alice's address
    fake_api.subscribed.add("alice@example.com")
    _, _, page = ask_for_mail(client, "alice@example.com")
    fake_api.codes_paused.add("alice@example.com")

    # When she types the code from her mail
    answer = client.post(
        "/signin/code",
        data={
            "csrf_token": csrf_from(page),
            "email": "alice@example.com",
            "code": fake_api.outbox["alice@example.com"],
        },
    )

    # Then the page says codes are paused and the link still works, and she is not signed in
    assert answer.status_code == 429
    assert "The sign-in link in your latest Gatepass email still works." in answer.get_data(
        as_text=True
    )
    assert "gp_session" not in answer.headers.get("Set-Cookie", "")
    # And the link does sign her in
    assert finish(client, fake_api.link_outbox["alice@example.com"])[:2] == (302, "/")
