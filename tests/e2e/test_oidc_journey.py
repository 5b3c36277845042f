"""End to end, in a real browser: make dev's stack with ``--sign-in oidc`` (what
``SignInMethod=oidc`` deploys) and a real OpenID Connect provider (node oidc-provider) on
127.0.0.1. A person signs in at the provider (authorization code with PKCE), the site exchanges
the ID token at the API for a Gatepass session, and the session works on the site and the API;
replaying the provider's answer signs nobody in."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from devstack.process import DevStackProcess
from devstack.servers import free_port
from tests.e2e.conftest import ARTIFACTS, Camera, Stack
from tests.support.parallel import per_worker

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]

PERSON = "dana@example.com"


@pytest.fixture(scope="module")
def oidc_stack() -> Iterator[tuple[Stack, str]]:
    ports = {name: free_port() for name in ("moto", "api", "web", "oidc")}
    process = DevStackProcess(
        "--sign-in",
        "oidc",
        "--no-seed",
        env={
            "GATEPASS_MOTO_PORT": str(ports["moto"]),
            "GATEPASS_API_PORT": str(ports["api"]),
            "GATEPASS_WEB_PORT": str(ports["web"]),
            "GATEPASS_OIDC_PORT": str(ports["oidc"]),
        },
    )
    try:
        process.wait_ready(limit=240)
        stack = Stack(
            aws_url=process.address("AWS stand-in"),
            api_url=process.address("API"),
            web_url=process.address("Web app"),
        )
        yield stack, process.address("OIDC provider")
    finally:
        process.stop()
        log = per_worker(ARTIFACTS / "devstack-oidc.log")
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(process.output)


def test_sign_in_through_the_local_oidc_provider(
    oidc_stack: tuple[Stack, str], page: Page, camera: Camera
) -> None:
    stack, issuer = oidc_stack

    # Given a visitor on the site's sign-in page, which leads to the identity provider
    page.goto(f"{stack.web_url}/signin?next=/me/tickets")
    camera.shoot(page, "sign-in")
    page.click("#signin-provider")

    # When they sign in at the provider and allow Gatepass
    expect(page).to_have_url(re.compile(f"^{re.escape(issuer)}/interaction/"))
    page.fill("input[name=login]", PERSON)
    page.fill("input[name=password]", "any password")
    camera.shoot(page, "provider-login")
    page.click("button[type=submit]")
    consent = page.locator("button", has_text="Continue")
    if consent.count():
        camera.shoot(page, "provider-consent")
        consent.click()

    # Then they are back on the site, signed in with a Gatepass session, where they were going
    expect(page).to_have_url(f"{stack.web_url}/me/tickets")
    expect(page.locator(f"button[title='Signed in as {PERSON}']")).to_be_visible()
    camera.shoot(page, "signed-in")
    cookies = {c["name"]: c for c in page.context.cookies(stack.web_url)}
    session = cookies["gp_session"]
    assert session["httpOnly"]

    # And the same session is accepted by the API's authorizer
    answer = page.request.post(
        f"{stack.api_url}/log-activity",
        headers={"Authorization": f"Bearer {session['value']}"},
        data={"events": [{"type": "page_view"}]},
    )
    assert answer.status == 202, answer.text()


def test_a_replayed_provider_answer_signs_nobody_in(
    oidc_stack: tuple[Stack, str], page: Page, camera: Camera
) -> None:
    stack, _issuer = oidc_stack
    callbacks: list[str] = []
    page.on(
        "request",
        lambda request: (
            callbacks.append(request.url) if "/signin/oidc/callback" in request.url else None
        ),
    )

    # Given someone completed a sign-in at the provider
    page.goto(f"{stack.web_url}/signin/oidc")
    page.fill("input[name=login]", "erin@example.com")
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")
    consent = page.locator("button", has_text="Continue")
    if consent.count():
        consent.click()
    expect(page.locator("button[title='Signed in as erin@example.com']")).to_be_visible()

    # When the provider's answer (code and state) is replayed in a fresh browser
    fresh = page.context.browser.new_context()  # type: ignore[union-attr]
    replay = fresh.new_page()
    replay.goto(callbacks[0])

    # Then a readable page refuses it and that browser is not signed in
    expect(replay.locator("h1")).to_contain_text("did not start in this browser")
    camera.shoot(replay, "replayed-callback")
    assert not [c for c in fresh.cookies() if c["name"] == "gp_session"]
    fresh.close()
