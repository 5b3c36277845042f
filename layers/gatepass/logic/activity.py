"""Activity rules: who the events belong to, and how long they are kept."""

from __future__ import annotations

import secrets
from datetime import timedelta

from gatepass import clock, ids
from gatepass.dal.activity import ActivityStore
from gatepass.errors import InvalidInput, Unauthorized
from gatepass.models.activity import (
    CLIENT_ID_PATTERN,
    ActivityRecord,
    LogActivityRequest,
    LogActivityResponse,
)
from gatepass.observability import MetricUnit, metrics
from gatepass.sessions import SessionVerifier


def record_activity(
    request: LogActivityRequest,
    authorization: str | None,
    client_id: str | None,
    *,
    store: ActivityStore,
    keys: SessionVerifier,
    retention_days: int,
) -> LogActivityResponse:
    """Store the batch for the signed-in caller, or for an anonymous client id.

    A token that is present but not valid is refused rather than treated as anonymous, so a
    client with an expired session finds out instead of silently losing its attribution.
    """
    user: str | None = None
    if authorization is not None and authorization.strip():
        # Only a signed-in batch loads PyJWT and cryptography.
        from gatepass import tokens

        token = tokens.bearer_token(authorization)
        if token is None:
            raise Unauthorized("The Authorization header is not a bearer token.")
        user = tokens.verify_session_token(keys.session_verifying_key(), token).subject
        client_id = None
    elif client_id:
        if not CLIENT_ID_PATTERN.match(client_id):
            raise InvalidInput(
                "The client id is not valid.",
                details={
                    "problems": [{"field": "X-Client-Id", "problem": "8-64 of A-Z a-z 0-9 _ -"}]
                },
            )
    else:
        client_id = secrets.token_urlsafe(16)

    now = clock.now()
    retention = timedelta(days=retention_days)
    records = [
        ActivityRecord(
            activity_id=ids.new_id(),
            type=event.type,
            user=user,
            client_id=None if user else client_id,
            event_id=event.event_id,
            at=clock.iso(event.at or now),
            properties=dict(event.properties),
            expires_at=int(((event.at or now) + retention).timestamp()),
        )
        for event in request.events
    ]
    store.add(records)
    metrics.add_metric(name="ActivityRecorded", unit=MetricUnit.Count, value=len(records))
    return LogActivityResponse(accepted=len(records), client_id=client_id)
