"""Sessions that end (docs/decisions/0046): every sign-in starts one through ``start_session``,
the authorizer and ``GET /session`` check it (``check_session``), and people end one
(``end_session``) or all of theirs at once (``end_all_sessions``).

A session is live while its token is unexpired (absolute lifetime), it was not signed out, no
"sign out everywhere" came after its creation, and it was used within its idle period. Activity
is written at most once per ``activity_interval_seconds`` (a conditional update), so a busy
session costs one small write a minute, not one per request; the price is that the idle
deadline can fall up to that interval (plus the authorizer's 60 s cache) before the true
"idle period after the last request".
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import TYPE_CHECKING

from gatepass import clock
from gatepass.dal.sessions import SessionStore
from gatepass.errors import SessionEnded, Unauthorized
from gatepass.models.identity import SessionTokenResponse
from gatepass.models.sessions import (
    LONGEST_SESSION_SECONDS,
    SessionPolicy,
    SessionRecord,
    SessionView,
    SignOutResponse,
)
from gatepass.observability import MetricUnit, metrics

if TYPE_CHECKING:
    # PyJWT and cryptography load where a token is made or checked, not with the rules
    # (send-otp uses these rules and never makes one; decision 0036).
    from gatepass import tokens

ENDED_MESSAGE = "This session has ended; sign in again."
IDLE_MESSAGE = "This session ended after a period without activity; sign in again."
SIGNED_OUT_MESSAGE = "Signed out. This session's token no longer works."
EVERYWHERE_MESSAGE = (
    "Signed out everywhere. Every session of this account, this one included, has ended."
)


def start_session(
    person: str,
    *,
    methods: tuple[str, ...],
    signer: tokens.Signer,
    store: SessionStore,
    policy: SessionPolicy,
    now: int | None = None,
) -> SessionTokenResponse:
    """The one way a session begins, whatever the sign-in (emailed code, link, provider): the
    session's item first, then its token, so no token exists for a session the store lacks."""
    moment = clock.epoch() if now is None else now
    session_id = secrets.token_urlsafe(16)
    expires_at = moment + policy.ttl_seconds
    store.create(
        SessionRecord(
            person=person,
            session_id=session_id,
            created_at=moment,
            last_seen_at=moment,
            expires_at=expires_at,
            idle_expires_at=min(moment + policy.idle_seconds, expires_at),
            idle_seconds=policy.idle_seconds,
            methods=methods,
        )
    )
    from gatepass import tokens

    issued = tokens.issue_session_token(
        signer,
        person,
        ttl_seconds=policy.ttl_seconds,
        now=moment,
        methods=methods,
        session_id=session_id,
    )
    metrics.add_metric(name="SessionsIssued", unit=MetricUnit.Count, value=1)
    return SessionTokenResponse(
        token=issued.token, expires_in=issued.expires_in, expires_at=issued.expires_at
    )


def check_session(
    person: str,
    session_id: str,
    *,
    store: SessionStore,
    policy: SessionPolicy,
    now: int | None = None,
) -> SessionRecord:
    """The live session ``session_id`` of ``person`` (from a verified token), its activity
    recorded; ``SessionEnded`` when it was signed out, ended everywhere, idle too long, or is
    unknown."""
    moment = clock.epoch() if now is None else now
    state = store.state(person, session_id)
    session = state.session
    if session is None or session.ended_at is not None:
        raise _ended(ENDED_MESSAGE, "signed-out")
    if state.valid_after is not None and session.created_at <= state.valid_after:
        raise _ended(ENDED_MESSAGE, "everywhere")
    if moment >= session.expires_at:
        raise _ended(ENDED_MESSAGE, "expired")
    if moment >= session.idle_expires_at:
        raise _ended(IDLE_MESSAGE, "idle")
    stale_before = moment - policy.activity_interval_seconds + 1
    if session.last_seen_at < stale_before:
        idle_expires_at = min(moment + session.idle_seconds, session.expires_at)
        if store.touch(
            person,
            session_id,
            now=moment,
            stale_before=stale_before,
            idle_expires_at=idle_expires_at,
        ):
            return replace(session, last_seen_at=moment, idle_expires_at=idle_expires_at)
    return session


def describe_session(
    person: str,
    session_id: str,
    *,
    store: SessionStore,
    policy: SessionPolicy,
) -> SessionView:
    """``GET /session``: checked as the authorizer checks it (the authorizer's answer may be a
    minute old; this one is current), and counted as activity."""
    session = check_session(person, session_id, store=store, policy=policy)
    return SessionView(
        session_id=session.session_id,
        email=session.person,
        methods=list(session.methods),
        created_at=session.created_at,
        last_seen_at=session.last_seen_at,
        idle_expires_at=session.idle_expires_at,
        expires_at=session.expires_at,
        idle_timeout_seconds=session.idle_seconds,
    )


def end_session(
    authorization: str | None,
    *,
    key: tokens.VerifyingKey,
    store: SessionStore,
) -> SignOutResponse:
    """``POST /sign-out``: end the session whose token is presented. The token must be genuine
    and unexpired; whether its session is still live does not matter, so a repeated sign-out
    answers the same and changes nothing."""
    claims = _claims(authorization, key)
    if store.end(claims.subject, claims.session_id, now=clock.epoch()):
        metrics.add_metric(name="SessionsSignedOut", unit=MetricUnit.Count, value=1)
    return SignOutResponse(signed_out="session", message=SIGNED_OUT_MESSAGE)


def end_all_sessions(
    person: str,
    session_id: str,
    *,
    store: SessionStore,
) -> SignOutResponse:
    """``POST /sign-out-everywhere``: one write ends every session of ``person`` created until
    now. Only from a live session: a repeat with a token whose session that call already ended
    (the authorizer's cached answer can let it through for a minute) changes nothing, so it
    cannot end a session started since."""
    moment = clock.epoch()
    state = store.state(person, session_id)
    session = state.session
    live = (
        session is not None
        and session.ended_at is None
        and (state.valid_after is None or session.created_at > state.valid_after)
    )
    if live:
        store.end_all(person, now=moment, keep_until=moment + LONGEST_SESSION_SECONDS)
        metrics.add_metric(name="SessionsEndedEverywhere", unit=MetricUnit.Count, value=1)
    return SignOutResponse(signed_out="everywhere", message=EVERYWHERE_MESSAGE)


def _claims(authorization: str | None, key: tokens.VerifyingKey) -> tokens.SessionClaims:
    from gatepass import tokens

    token = tokens.bearer_token(authorization)
    if token is None:
        raise Unauthorized("Send the session token as 'Authorization: Bearer <token>'.")
    return tokens.verify_session_token(key, token)


def _ended(message: str, reason: str) -> SessionEnded:
    metrics.add_metric(name="SessionsRefused", unit=MetricUnit.Count, value=1)
    return SessionEnded(message, details={"reason": reason})
