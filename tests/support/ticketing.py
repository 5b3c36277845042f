"""Calling the ticketing routes' handlers as API Gateway would, for tests that tell a story
across several routes (create an event with types, order, cancel, transfer)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import import_module
from typing import Any

from tests.support.api import LambdaContext, api_event, json_body

ORGANIZER = "olivia@example.com"

_ROUTES = {
    "/create-event": "create_event",
    "/create-ticket": "create_ticket",
    "/add-ticket-type": "add_ticket_type",
    "/update-ticket-type": "update_ticket_type",
    "/set-expected-rate": "update_ticket_type",
    "/cancel-ticket": "cancel_ticket",
    "/cancel-event": "cancel_event",
    "/transfer-ticket": "transfer_ticket",
    "/check-in": "check_in",
    "/rotate-event-key": "rotate_event_key",
    "/reissue-ticket": "reissue_ticket",
    "/join-waitlist": "waitlist_places",
    "/leave-waitlist": "waitlist_places",
    "/claim-offer": "offers",
    "/decline-offer": "offers",
    "/configure-queue": "queue",
    "/join-queue": "queue",
}


def revocations(event_id: str, since: str | None = None) -> Answer:
    from functions.event_revocations import app

    request = api_event(
        "GET",
        f"/events/{event_id}/revocations",
        resource="/events/{event_id}/revocations",
        path_parameters={"event_id": event_id},
        query={"since": since} if since else None,
    )
    return Answer(app.lambda_handler(request, LambdaContext()))


def event_keys(event_id: str) -> Answer:
    """GET /events/{event_id}/keys: the event's published verifying keys."""
    from functions.events_read import app

    request = api_event(
        "GET",
        f"/events/{event_id}/keys",
        resource="/events/{event_id}/keys",
        path_parameters={"event_id": event_id},
    )
    return Answer(app.lambda_handler(request, LambdaContext()))


def my_waitlist(user: str) -> Answer:
    from functions.waitlist_places import app

    return Answer(app.lambda_handler(api_event("GET", "/my-waitlist", user=user), LambdaContext()))


def future(days: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT19:30:00+01:00")


def moment(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat(timespec="seconds").replace("+00:00", "Z")


class Answer:
    def __init__(self, response: dict[str, Any]) -> None:
        self.status: int = response["statusCode"]
        self.body: Any = json_body(response)

    @property
    def code(self) -> str | None:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return error.get("code") if error else None

    def __repr__(self) -> str:
        return f"Answer({self.status}, {self.body!r})"


def function_of(path: str) -> str:
    """The function (its folder under functions/) that serves a POST route."""
    return _ROUTES[path]


def post(
    path: str, body: Any, *, user: str | None, headers: dict[str, str] | None = None
) -> Answer:
    app = import_module(f"functions.{_ROUTES[path]}.app")
    request = api_event("POST", path, body=body, user=user, headers=headers)
    return Answer(app.lambda_handler(request, LambdaContext()))


def get_event(event_id: str) -> Answer:
    from functions.events_read import app

    request = api_event(
        "GET",
        f"/events/{event_id}",
        resource="/events/{event_id}",
        path_parameters={"event_id": event_id},
    )
    return Answer(app.lambda_handler(request, LambdaContext()))


def create_event(
    *,
    capacity: int = 100,
    ticket_types: list[dict[str, Any]] | None = None,
    max_tickets_per_buyer: int | None = None,
    organizer: str = ORGANIZER,
    starts_at: str | None = None,
    expected_orders_per_second: int | None = None,
) -> dict[str, Any]:
    """POST /create-event as ``organizer``; ``expected_orders_per_second`` splits its stock
    over ceil(rate / 20) shards (docs/decisions/0070)."""
    body: dict[str, Any] = {
        "title": "Harbour Lights",
        "venue": "Old Customs House",
        "starts_at": starts_at or future(),
        "capacity": capacity,
    }
    if ticket_types is not None:
        body["ticket_types"] = ticket_types
    if max_tickets_per_buyer is not None:
        body["max_tickets_per_buyer"] = max_tickets_per_buyer
    if expected_orders_per_second is not None:
        body["expected_orders_per_second"] = expected_orders_per_second
    answer = post("/create-event", body, user=organizer)
    assert answer.status == 201, answer
    event: dict[str, Any] = answer.body["event"]
    return event


def order(
    event_id: str, lines: list[tuple[str, str]] | None, *, buyer: str, key: str | None = None
) -> Answer:
    body: dict[str, Any] = {"event_id": event_id}
    if lines is not None:
        body["tickets"] = [{"ticket_type_id": t, "attendee_name": name} for t, name in lines]
    headers = {"Idempotency-Key": key} if key else None
    return post("/create-ticket", body, user=buyer, headers=headers)
