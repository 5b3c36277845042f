"""Sign-in rules: one-time codes mailed to subscribed addresses, exchanged for session tokens,
and the session authorizer's decision.

An emailed code is a low-assurance factor (NIST SP 800-63B does not accept email as an
out-of-band authenticator); tokens record it in ``amr`` so stronger factors can be told apart.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import NoReturn
from urllib.parse import urlencode

from gatepass import clock
from gatepass.dal.mail import Mailer
from gatepass.dal.sessions import SessionStore
from gatepass.dal.sign_in import SignInStore
from gatepass.equalise import StandIn
from gatepass.errors import (
    CodeTriesExhausted,
    InvalidSignInCode,
    InvalidSignInLink,
    SignInLinkExpired,
    SignInLinkOtherBrowser,
    SignInLinkUsed,
    Unauthorized,
)
from gatepass.logic.sessions import check_session, start_session
from gatepass.models.identity import (
    CODE_TRIES_WINDOW_SECONDS,
    AuthorizerPolicy,
    SendOtpResponse,
    SessionTokenResponse,
    SignInPolicy,
)
from gatepass.models.sessions import SessionPolicy
from gatepass.observability import MetricUnit, logger, metrics
from gatepass.sessions import SessionKeys, SessionVerifier

CODE_DIGITS = 6
SENT_MESSAGE = (
    "If that address has a confirmed Gatepass subscription, a sign-in link and code are on "
    "their way. Nothing arrives within a minute? Sign up first (it is safe to do again)."
)
INVALID_CODE_MESSAGE = "That code is not valid. Ask for a new one if it has expired."
TRIES_EXHAUSTED_MESSAGE = (
    "Too many codes were tried for this address recently, so codes are paused for it. "
    "The sign-in link in your latest Gatepass email still works."
)
INVALID_LINK_MESSAGE = "That sign-in link is not valid. Ask for a new sign-in email."
EXPIRED_LINK_MESSAGE = "That sign-in link has expired. Ask for a new sign-in email."
USED_LINK_MESSAGE = "That sign-in link was already used. Ask for a new sign-in email."
OTHER_BROWSER_MESSAGE = (
    "That sign-in link works only in the browser that asked for it. Open it there, or ask for "
    "a new sign-in email from this browser."
)
LINK_PATH = "/signin/link"
_CODE = re.compile(r"^[0-9]{6}$")
_METHOD_ARN = re.compile(
    r"^arn:(?P<partition>[a-z-]+):execute-api:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"(?P<api>[A-Za-z0-9]+)/(?P<stage>[A-Za-z0-9_-]+)/"
)


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def new_link_token() -> str:
    """256 random bits: guessing one is hopeless, so link tries need no counting."""
    return secrets.token_urlsafe(32)


def hash_code(key: bytes, email: str, code: str) -> str:
    return hmac.new(key, f"{email}\n{code}".encode(), hashlib.sha256).hexdigest()


def digest(value: str) -> str:
    """A link token or browser nonce as stored: high-entropy values need no key or salt."""
    return hashlib.sha256(value.encode()).hexdigest()


def sign_in_link(site: str, token: str) -> str:
    return f"{site.rstrip('/')}{LINK_PATH}?{urlencode({'token': token})}"


def send_code(
    email: str,
    *,
    browser: str | None = None,
    store: SignInStore,
    mailer: Mailer,
    keys: SessionKeys,
    policy: SignInPolicy,
    site: str,
    mail_time: StandIn,
) -> SendOtpResponse:
    """Mail a sign-in link and code to an address that can receive mail, at most once per
    ``policy.mail_interval_seconds``, and bind the asking browser to the address's links.

    Every address, known or not, gets the same answer and costs the same reads and writes; only
    the mail itself differs, and a stand-in waits as long where none is sent (docs/security.md).
    """
    now = clock.now()
    moment = int(now.timestamp())
    expires_at = moment + policy.link_ttl_seconds
    if browser:
        # Bound for a mail's lifetime from now: a mail already sent (whoever asked for it)
        # signs this browser in too, so nobody can keep the owner out by asking first.
        store.bind_browser(email, browser_hash=digest(browser), until=expires_at)
    slot = store.claim_mail_slot(email, now=moment, interval=policy.mail_interval_seconds)
    if not slot:
        metrics.add_metric(name="SignInMailsWithinInterval", unit=MetricUnit.Count, value=1)
        return SendOtpResponse(message=SENT_MESSAGE)
    deliverable = store.deliverable(email)
    code, token = new_code(), new_link_token()
    store.put_mail(
        email,
        code_hash=hash_code(keys.sign_in_code(), email, code),
        link_hash=digest(token),
        created_at=clock.iso(now),
        expires_at=expires_at,
    )
    if not deliverable:
        # Never into the void: no confirmed subscription, or SNS dropped it.
        logger.info("sign-in mail not sent: the address cannot receive mail")
        mail_time.wait()
        return SendOtpResponse(message=SENT_MESSAGE)
    minutes = max(1, policy.link_ttl_seconds // 60)
    text = (
        "To sign in to Gatepass, open this link in the browser where you asked for it:\n\n"
        f"{sign_in_link(site, token)}\n\n"
        f"Or enter this code: {code}\n\n"
        f"The link and the code work once, for {minutes} minutes. "
        "If you did not ask to sign in, ignore this mail: nobody can use it without your inbox."
    )
    try:
        mail_time.timed(lambda: mailer.send(email, "Your Gatepass sign-in link", text))
    except Exception:
        # Answering differently would tell a caller the address is subscribed; the person
        # simply asks again, and the failure is visible in the logs and metrics.
        logger.exception("sign-in mail could not be sent")
        metrics.add_metric(name="SignInCodeMailFailures", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="SignInCodesSent", unit=MetricUnit.Count, value=1)
    return SendOtpResponse(message=SENT_MESSAGE)


def verify_code(
    email: str,
    code: str,
    *,
    store: SignInStore,
    keys: SessionKeys,
    policy: SignInPolicy,
    sessions: SessionStore,
) -> SessionTokenResponse:
    """Exchange a correct, live, unused code for a session token; anything else is one 401.

    Every try counts against the address's 30-day bound before anything is compared, for known
    and unknown addresses alike, so the bound holds across re-sent codes and tells nothing."""
    moment = clock.epoch()
    allowed = store.count_code_try(
        email,
        now=moment,
        window=CODE_TRIES_WINDOW_SECONDS,
        limit=policy.code_tries_per_month,
    )
    if not allowed.allowed:
        metrics.add_metric(name="SignInCodeTriesExhausted", unit=MetricUnit.Count, value=1)
        raise CodeTriesExhausted(
            TRIES_EXHAUSTED_MESSAGE, retry_after_seconds=allowed.retry_after_seconds
        )
    stored = store.reserve_attempt(email, now=moment, max_attempts=policy.max_attempts)
    if stored is None:
        return _refuse()
    candidate = code.strip()
    # Hash even a malformed code so every wrong answer takes the same path.
    expected = hash_code(keys.sign_in_code(), email, candidate if _CODE.match(candidate) else "")
    if not hmac.compare_digest(expected, stored.code_hash) or stored.expires_at <= moment:
        return _refuse()
    if not store.consume_code(email, code_hash=stored.code_hash):
        return _refuse()
    if stored.link_hash:
        # The same mail's link ends with its code (it may already be used: nothing to do).
        store.consume_link(stored.link_hash, now=moment, used_at=clock.iso(clock.now()))
    return _session(email, keys=keys, policy=policy, sessions=sessions, now=moment)


def verify_link(
    token: str,
    browser: str,
    *,
    store: SignInStore,
    keys: SessionKeys,
    policy: SignInPolicy,
    sessions: SessionStore,
) -> SessionTokenResponse:
    """Exchange a live, unused sign-in link, opened in a browser that asked for sign-in mail
    for its address, for a session token. The link is used up only when it signs someone in."""
    now = clock.now()
    moment = int(now.timestamp())
    link_hash = digest(token)
    link = store.find_link(link_hash)
    if link is None:
        _refuse_link("invalid")
        raise InvalidSignInLink(INVALID_LINK_MESSAGE)
    if link.used:
        _refuse_link("used")
        raise SignInLinkUsed(USED_LINK_MESSAGE)
    if link.expires_at <= moment:
        _refuse_link("expired")
        raise SignInLinkExpired(EXPIRED_LINK_MESSAGE)
    if not store.browser_bound(link.email, browser_hash=digest(browser), now=moment):
        _refuse_link("other-browser")
        raise SignInLinkOtherBrowser(OTHER_BROWSER_MESSAGE)
    if not store.consume_link(link_hash, now=moment, used_at=clock.iso(now)):
        _refuse_link("used")
        raise SignInLinkUsed(USED_LINK_MESSAGE)
    store.drop_code(link.email)
    return _session(
        link.email, keys=keys, policy=policy, sessions=sessions, now=moment, method="link-email"
    )


def _session(
    email: str,
    *,
    keys: SessionKeys,
    policy: SignInPolicy,
    sessions: SessionStore,
    now: int,
    method: str = "otp-email",
) -> SessionTokenResponse:
    # Every sign-in starts its session in one place (logic.sessions, ADR 0046).
    return start_session(
        email,
        methods=(method,),
        signer=keys.session_signer(),
        store=sessions,
        policy=policy.sessions,
        now=now,
    )


def _refuse() -> NoReturn:
    metrics.add_metric(name="SignInCodesRefused", unit=MetricUnit.Count, value=1)
    raise InvalidSignInCode(INVALID_CODE_MESSAGE)


def _refuse_link(reason: str) -> None:
    logger.info("sign-in link refused", extra={"reason": reason})
    metrics.add_metric(name="SignInLinksRefused", unit=MetricUnit.Count, value=1)


def authorize(
    authorization: str | None,
    method_arn: str,
    *,
    keys: SessionVerifier,
    sessions: SessionStore,
    policy: SessionPolicy,
) -> AuthorizerPolicy:
    """Allow a valid token of a live session on the whole API stage, or raise ``Unauthorized``.

    The policy covers every method of the stage because API Gateway caches it per token (at
    most 60 s) and reuses it for the caller's next requests to other routes. The signature is
    checked before the session store is read, so a forged token costs no read.
    """
    from gatepass import tokens

    token = tokens.bearer_token(authorization)
    if token is None:
        raise Unauthorized("No bearer token.")
    arn = _METHOD_ARN.match(method_arn or "")
    if arn is None:
        raise Unauthorized("Unrecognised method ARN.")
    claims = tokens.verify_session_token(keys.session_verifying_key(), token)
    check_session(claims.subject, claims.session_id, store=sessions, policy=policy)
    resource = (
        f"arn:{arn['partition']}:execute-api:{arn['region']}:{arn['account']}:"
        f"{arn['api']}/{arn['stage']}/*/*"
    )
    return AuthorizerPolicy(
        principal_id=claims.subject,
        policy_document={
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resource}
            ],
        },
        context={
            "sub": claims.subject,
            "sid": claims.session_id,
            "amr": " ".join(claims.methods),
            "expires_at": claims.expires_at,
        },
    )
