"""Activity rules: who the events belong to, their keys, and their retention."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from gatepass import clock, ids, tokens
from gatepass.dal.activity import ActivityStore
from gatepass.errors import InvalidInput, Unauthorized
from gatepass.models.activity import CLIENT_ID_PATTERN, LogActivityRequest, LogActivityResponse
from gatepass.observability import MetricUnit, metrics


def record_activity(
    request: LogActivityRequest,
    *,
    authorization: str | None,
    client_id: str | None,
    store: ActivityStore,
    session_key: Callable[[], bytes],
    retention_days: int,
) -> LogActivityResponse:
    """Store the batch for the signed-in caller, or for an anonymous client id.

    A token that is present but not valid is refused rather than treated as anonymous, so a
    client with an expired session finds out instead of silently losing its attribution.
    """
    user: str | None = None
    if authorization is not None and authorization.strip():
        token = tokens.bearer_token(authorization)
        if token is None:
            raise Unauthorized("The Authorization header is not a bearer token.")
        user = tokens.verify_session_token(session_key(), token).subject
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

    owner = f"USER#{user}" if user else f"ANON#{client_id}"
    now = clock.now()
    retention = timedelta(days=retention_days)
    items: list[dict[str, Any]] = []
    for event in request.events:
        at = clock.iso(event.at or now)
        activity_id = ids.new_id()
        sort_key = f"{at}#{activity_id}"
        item: dict[str, Any] = {
            "pk": owner,
            "sk": sort_key,
            "gsi1pk": f"EVENT#{event.event_id}" if event.event_id else f"TYPE#{event.type}",
            "gsi1sk": sort_key,
            "entity": "activity",
            "activity_id": activity_id,
            "type": event.type,
            "at": at,
            "properties": dict(event.properties),
            "expires_at": int(((event.at or now) + retention).timestamp()),
        }
        if user:
            item["user"] = user
        else:
            item["client_id"] = client_id
        if event.event_id:
            item["event_id"] = event.event_id
        items.append(item)
    store.put_many(items)
    metrics.add_metric(name="ActivityRecorded", unit=MetricUnit.Count, value=len(items))
    return LogActivityResponse(accepted=len(items), client_id=client_id)
