"""Rate limits (Flask-Limiter with Redis storage) on sign-in and search."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.web.conftest import page_token
from tests.web.fake_api import FakeApi

pytestmark = pytest.mark.web


def test_sign_in_posts_beyond_the_limit_answer_429(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given the sign-in limit is 5 a minute per client address
    token = page_token(client, "/signin")

    # When one address asks for codes six times in a row
    answers = [
        client.post("/signin", data={"csrf_token": token, "email": "alice@example.com"})
        for _ in range(6)
    ]

    # Then the first five are accepted and the sixth is told to wait
    assert [a.status_code for a in answers[:5]] == [302] * 5
    assert answers[5].status_code == 429
    assert int(answers[5].headers["Retry-After"]) > 0
    assert "Too many requests" in answers[5].get_data(as_text=True)
    assert fake_api.calls.count("send_otp") == 5


def test_limits_apply_per_client_address(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given one address has used up its sign-in attempts
    token = page_token(client, "/signin")
    for _ in range(5):
        client.post("/signin", data={"csrf_token": token, "email": "alice@example.com"})

    # When a visitor behind another address (as the ALB reports it) signs in
    other = client.post(
        "/signin",
        data={"csrf_token": token, "email": "bob@example.com"},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )

    # Then they are not affected
    assert other.status_code == 302


def test_searches_beyond_the_limit_answer_429_but_browsing_does_not(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given the search limit is 10 a minute
    fake_api.publish(title="Harbour jazz night")

    # When a client searches eleven times, then browses and searches the JSON API
    searches = [client.get(f"/?q=jazz{n}") for n in range(11)]
    browsing = [client.get("/") for _ in range(12)]
    api_search = client.get("/api/events?q=jazz")

    # Then the eleventh search is refused, plain browsing is not, and the API says so in JSON
    assert [s.status_code for s in searches[:10]] == [200] * 10
    assert searches[10].status_code == 429
    assert {b.status_code for b in browsing} == {200}
    assert api_search.status_code == 429
    assert api_search.get_json()["error"]["code"] == "rate_limited"
