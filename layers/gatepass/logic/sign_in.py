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

from gatepass import clock, tokens
from gatepass.dal.mail import Mailer
from gatepass.dal.sign_in import SignInStore
from gatepass.errors import InvalidSignInCode, RateLimited, Unauthorized
from gatepass.models.identity import (
    AuthorizerPolicy,
    SendOtpResponse,
    SessionTokenResponse,
    SignInPolicy,
)
from gatepass.observability import MetricUnit, logger, metrics
from gatepass.sessions import SessionKeys, SessionVerifier

CODE_DIGITS = 6
SENT_MESSAGE = "If that address is subscribed, a sign-in code is on its way."
INVALID_CODE_MESSAGE = "That code is not valid. Ask for a new one if it has expired."
_CODE = re.compile(r"^[0-9]{6}$")
_METHOD_ARN = re.compile(
    r"^arn:(?P<partition>[a-z-]+):execute-api:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"(?P<api>[A-Za-z0-9]+)/(?P<stage>[A-Za-z0-9_-]+)/"
)


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def hash_code(key: bytes, email: str, code: str) -> str:
    return hmac.new(key, f"{email}\n{code}".encode(), hashlib.sha256).hexdigest()


def send_code(
    email: str,
    *,
    store: SignInStore,
    mailer: Mailer,
    keys: SessionKeys,
    policy: SignInPolicy,
) -> SendOtpResponse:
    """Mail a fresh code to an active subscriber. Every caller gets the same answer, and the
    rate limit counts unknown addresses too, so neither can be used to learn who subscribed."""
    now = clock.now()
    moment = int(now.timestamp())
    decision = store.register_send(email, now=moment, limit=policy.max_sends_per_hour)
    if not decision.allowed:
        metrics.add_metric(name="SignInSendsRateLimited", unit=MetricUnit.Count, value=1)
        raise RateLimited(
            "Too many codes were asked for this address; try again later.",
            retry_after_seconds=decision.retry_after_seconds,
        )
    if store.subscription_status(email) != "active":
        logger.info("sign-in code not sent: no active subscription")
        return SendOtpResponse(message=SENT_MESSAGE)
    code = new_code()
    store.put_code(
        email,
        code_hash=hash_code(keys.sign_in_code(), email, code),
        created_at=clock.iso(now),
        expires_at=moment + policy.code_ttl_seconds,
    )
    minutes = max(1, policy.code_ttl_seconds // 60)
    try:
        mailer.send(
            email,
            "Your Gatepass sign-in code",
            f"Your Gatepass sign-in code is {code}.\n\n"
            f"It works once, for {minutes} minutes. If you did not ask for it, ignore this mail.",
        )
    except Exception:
        # Answering differently would tell a caller the address is subscribed; the person
        # simply asks again, and the failure is visible in the logs and metrics.
        logger.exception("sign-in code could not be mailed")
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
) -> SessionTokenResponse:
    """Exchange a correct, live, unused code for a session token; anything else is one 401."""
    moment = clock.epoch()
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
    issued = tokens.issue_session_token(
        keys.session_signer(), email, ttl_seconds=policy.session_ttl_seconds, now=moment
    )
    metrics.add_metric(name="SessionsIssued", unit=MetricUnit.Count, value=1)
    return SessionTokenResponse(
        token=issued.token,
        expires_in=issued.expires_in,
        expires_at=issued.expires_at,
    )


def _refuse() -> NoReturn:
    metrics.add_metric(name="SignInCodesRefused", unit=MetricUnit.Count, value=1)
    raise InvalidSignInCode(INVALID_CODE_MESSAGE)


def authorize(
    authorization: str | None, method_arn: str, *, keys: SessionVerifier
) -> AuthorizerPolicy:
    """Allow a valid session token on the whole API stage, or raise ``Unauthorized``.

    The policy covers every method of the stage because API Gateway caches it per token and
    reuses it for the caller's next requests to other routes.
    """
    token = tokens.bearer_token(authorization)
    if token is None:
        raise Unauthorized("No bearer token.")
    claims = tokens.verify_session_token(keys.session_verifying_key(), token)
    arn = _METHOD_ARN.match(method_arn or "")
    if arn is None:
        raise Unauthorized("Unrecognised method ARN.")
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
            "amr": " ".join(claims.methods),
            "expires_at": claims.expires_at,
        },
    )
