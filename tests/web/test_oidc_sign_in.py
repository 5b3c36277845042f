"""Sign-in through an identity provider (SIGN_IN_METHOD oidc or cognito): the redirect carries
PKCE, state and nonce; a callback that did not start in this browser, or that the provider
refused, shows a page and signs nobody in. (The browser test signs in end to end through a real
provider.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from tests.support.idp import Issuer, running_issuer
from tests.web.fake_api import FakeApi

pytestmark = pytest.mark.web


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


@pytest.fixture
def oidc_client(make_app: Any, issuer: Issuer) -> FlaskClient:
    app = make_app(
        SIGN_IN_METHOD="oidc",
        OIDC_ISSUER=issuer.url,
        OIDC_CLIENT_ID=issuer.client_id,
        OIDC_CLIENT_SECRET="client-secret-for-tests",
    )
    return app.test_client()


def test_sign_in_page_leads_to_the_provider(oidc_client: FlaskClient) -> None:
    page = oidc_client.get("/signin?next=/me/tickets").get_data(as_text=True)

    assert 'id="signin-provider"' in page
    assert 'name="email"' not in page


def test_the_redirect_carries_pkce_state_and_nonce(
    oidc_client: FlaskClient, issuer: Issuer
) -> None:
    # When a visitor starts signing in
    answer = oidc_client.get("/signin/oidc?next=/me/tickets")

    # Then they are sent to the provider's authorization endpoint with a code flow request
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{issuer.url}/auth"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == issuer.client_id
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 20
    assert query["nonce"]
    assert query["redirect_uri"] == "http://localhost/signin/oidc/callback"
    assert set(query["scope"].split()) == {"openid", "email"}


def test_the_email_code_pages_lead_to_the_provider(oidc_client: FlaskClient) -> None:
    answer = oidc_client.get("/signin/code?email=a@example.com")

    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/signin/oidc")


def test_a_callback_with_a_forged_state_signs_nobody_in(
    oidc_client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given a visitor who started a sign-in (so the site holds a state for them)
    oidc_client.get("/signin/oidc")

    # When a callback arrives with a state the site did not issue
    answer = oidc_client.get("/signin/oidc/callback?code=stolen-code&state=forged-state")

    # Then a readable page says so, nobody is signed in, and the API was not asked
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert "did not start in this browser" in page
    assert "gp_session" not in answer.headers.get("Set-Cookie", "")
    assert "verify_id_token" not in fake_api.calls


def test_a_callback_in_another_browser_is_refused_as_json_for_scripts(
    oidc_client: FlaskClient,
) -> None:
    answer = oidc_client.get(
        "/signin/oidc/callback?code=c&state=s", headers={"Accept": "application/json"}
    )

    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "sign_in_failed"


def test_a_provider_refusal_is_a_readable_page(oidc_client: FlaskClient) -> None:
    answer = oidc_client.get("/signin/oidc/callback?error=access_denied&state=s")

    assert answer.status_code == 400
    assert "not completed at the identity provider" in answer.get_data(as_text=True)


def test_without_a_provider_the_routes_do_not_exist(client: FlaskClient) -> None:
    assert client.get("/signin/oidc").status_code == 404
    assert client.get("/signin/oidc/callback?code=c&state=s").status_code == 404
