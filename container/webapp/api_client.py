"""Writes go to the serverless API, server-side, with the signed-in user's session token.

``ApiClient`` is the small interface the views use; ``HttpApiClient`` calls the REST API at
API_URL (shapes in docs/architecture.md). Failures become ``ApiError`` carrying the API's own
status and error code, so a view can tell "sold out" from "try again later".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from gatepass.tokens import IssuedToken

# The waiting room's tokens travel in headers, never in URLs: the position token to
# GET /queue-status, the admission token to POST /create-ticket.
QUEUE_HEADER = "X-Queue-Token"
ADMISSION_HEADER = "X-Admission-Token"


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.retry_after = retry_after


@dataclass(frozen=True)
class CreatedEvent:
    event: dict[str, Any]
    upload: dict[str, Any] | None = field(default=None)


class ApiClient(Protocol):
    def subscribe(self, email: str) -> None: ...

    def send_otp(self, email: str, browser: str | None = None) -> None: ...

    def verify_otp(self, email: str, code: str) -> IssuedToken: ...

    def verify_link(self, token: str, browser: str) -> IssuedToken: ...

    def verify_id_token(self, id_token: str) -> IssuedToken: ...

    def session(self, token: str) -> dict[str, Any]: ...

    def sign_out(self, token: str) -> None: ...

    def sign_out_everywhere(self, token: str) -> None: ...

    def create_event(
        self, token: str, event: dict[str, Any], image_upload: dict[str, Any] | None
    ) -> CreatedEvent: ...

    def create_ticket(
        self,
        token: str,
        event_id: str,
        idempotency_key: str,
        tickets: list[dict[str, str]] | None = None,
        admission: str | None = None,
    ) -> dict[str, Any]: ...

    def qr_code(self, token: str, ticket_id: str) -> dict[str, Any]: ...

    def apple_wallet_pass(self, token: str, ticket_id: str) -> dict[str, Any]: ...

    def google_wallet_link(self, token: str, ticket_id: str) -> dict[str, Any]: ...

    def cancel_ticket(
        self, token: str, *, ticket_id: str | None = None, order_id: str | None = None
    ) -> dict[str, Any]: ...

    def transfer_ticket(self, token: str, ticket_id: str, to_email: str) -> dict[str, Any]: ...

    def cancel_event(self, token: str, event_id: str) -> dict[str, Any]: ...

    def add_ticket_type(self, token: str, body: dict[str, Any]) -> dict[str, Any]: ...

    def update_ticket_type(self, token: str, body: dict[str, Any]) -> dict[str, Any]: ...

    def join_waitlist(self, token: str, event_id: str, ticket_type_id: str) -> dict[str, Any]: ...

    def leave_waitlist(self, token: str, event_id: str, ticket_type_id: str) -> dict[str, Any]: ...

    def my_waitlist(self, token: str) -> dict[str, Any]: ...

    def claim_offer(self, token: str, offer_id: str, attendee_name: str) -> dict[str, Any]: ...

    def decline_offer(self, token: str, offer_id: str) -> dict[str, Any]: ...

    def event_queue(self, event_id: str, cursor: str | None = None) -> dict[str, Any]: ...

    def join_queue(self, token: str, event_id: str) -> dict[str, Any]: ...

    def queue_status(self, token: str, event_id: str, position_token: str) -> dict[str, Any]: ...

    def configure_queue(self, token: str, body: dict[str, Any]) -> dict[str, Any]: ...

    def check_in(
        self,
        token: str,
        event_id: str,
        code: str,
        gate_id: str | None = None,
        direction: str | None = None,
    ) -> dict[str, Any]: ...

    def event_door(self, token: str, event_id: str) -> dict[str, Any]: ...

    def door_events(self, token: str) -> dict[str, Any]: ...

    def add_door_staff(self, token: str, event_id: str, email: str) -> dict[str, Any]: ...

    def remove_door_staff(self, token: str, event_id: str, email: str) -> dict[str, Any]: ...

    def add_gate(self, token: str, gate: dict[str, Any]) -> dict[str, Any]: ...

    def update_gate(self, token: str, change: dict[str, Any]) -> dict[str, Any]: ...

    def scanner_bundle(self, token: str, event_id: str) -> dict[str, Any]: ...

    def scanner_bundle_key(self) -> dict[str, Any]: ...

    def sync_scans(
        self, token: str, event_id: str, scans: list[dict[str, Any]]
    ) -> dict[str, Any]: ...

    def log_activity(self, token: str | None, events: list[dict[str, Any]]) -> None: ...

    def list_events(self, *, limit: int, cursor: str | None = None) -> dict[str, Any]: ...

    def get_event(self, event_id: str) -> dict[str, Any]: ...


class HttpApiClient:
    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._http = requests.Session()

    def subscribe(self, email: str) -> None:
        self._call("POST", "/subscribe", body={"email": email})

    def send_otp(self, email: str, browser: str | None = None) -> None:
        body = {"email": email, **({"browser": browser} if browser else {})}
        self._call("POST", "/send-otp", body=body)

    def verify_link(self, token: str, browser: str) -> IssuedToken:
        answer = self._call("POST", "/verify-link", body={"token": token, "browser": browser})
        return IssuedToken(
            token=str(answer["token"]),
            expires_in=int(answer["expires_in"]),
            expires_at=int(answer["expires_at"]),
        )

    def verify_id_token(self, id_token: str) -> IssuedToken:
        answer = self._call("POST", "/verify-id-token", body={"id_token": id_token})
        return IssuedToken(
            token=str(answer["token"]),
            expires_in=int(answer["expires_in"]),
            expires_at=int(answer["expires_at"]),
        )

    def verify_otp(self, email: str, code: str) -> IssuedToken:
        answer = self._call("POST", "/verify-otp", body={"email": email, "code": code})
        return IssuedToken(
            token=str(answer["token"]),
            expires_in=int(answer["expires_in"]),
            expires_at=int(answer["expires_at"]),
        )

    def session(self, token: str) -> dict[str, Any]:
        """The token's session if it is live (``GET /session``, which counts as activity);
        ``ApiError`` 401 when it has ended."""
        return self._call("GET", "/session", token=token)

    def sign_out(self, token: str) -> None:
        self._call("POST", "/sign-out", token=token, body={})

    def sign_out_everywhere(self, token: str) -> None:
        self._call("POST", "/sign-out-everywhere", token=token, body={})

    def create_event(
        self, token: str, event: dict[str, Any], image_upload: dict[str, Any] | None
    ) -> CreatedEvent:
        body = dict(event)
        if image_upload:
            body["image_upload"] = image_upload
        answer = self._call("POST", "/create-event", token=token, body=body)
        return CreatedEvent(event=answer["event"], upload=answer.get("upload"))

    def create_ticket(
        self,
        token: str,
        event_id: str,
        idempotency_key: str,
        tickets: list[dict[str, str]] | None = None,
        admission: str | None = None,
    ) -> dict[str, Any]:
        """The order (``{"order": {..., "tickets": [...]}, "ticket": first}``); ``admission``
        is the waiting room's admission token, needed while the event's queue is on."""
        body: dict[str, Any] = {"event_id": event_id}
        if tickets:
            body["tickets"] = tickets
        headers = {"Idempotency-Key": idempotency_key}
        if admission:
            headers[ADMISSION_HEADER] = admission
        return self._call("POST", "/create-ticket", token=token, body=body, headers=headers)

    def qr_code(self, token: str, ticket_id: str) -> dict[str, Any]:
        return self._call("GET", "/get-qr-code", token=token, params={"ticket_id": ticket_id})

    def apple_wallet_pass(self, token: str, ticket_id: str) -> dict[str, Any]:
        return self._call("GET", "/apple-wallet-pass", token=token, params={"ticket_id": ticket_id})

    def google_wallet_link(self, token: str, ticket_id: str) -> dict[str, Any]:
        return self._call(
            "GET", "/google-wallet-link", token=token, params={"ticket_id": ticket_id}
        )

    def cancel_ticket(
        self, token: str, *, ticket_id: str | None = None, order_id: str | None = None
    ) -> dict[str, Any]:
        """``{"cancelled": [ticket]}``: one ticket, or what the caller still holds of an
        order."""
        body = {"ticket_id": ticket_id} if ticket_id else {"order_id": order_id}
        return self._call("POST", "/cancel-ticket", token=token, body=body)

    def transfer_ticket(self, token: str, ticket_id: str, to_email: str) -> dict[str, Any]:
        body = {"ticket_id": ticket_id, "to_email": to_email}
        return self._call("POST", "/transfer-ticket", token=token, body=body)

    def cancel_event(self, token: str, event_id: str) -> dict[str, Any]:
        return self._call("POST", "/cancel-event", token=token, body={"event_id": event_id})

    def add_ticket_type(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/add-ticket-type", token=token, body=body)

    def update_ticket_type(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/update-ticket-type", token=token, body=body)

    def join_waitlist(self, token: str, event_id: str, ticket_type_id: str) -> dict[str, Any]:
        """``{"entry": {..., "position"}}``: a place in a sold-out type's line."""
        body = {"event_id": event_id, "ticket_type_id": ticket_type_id}
        return self._call("POST", "/join-waitlist", token=token, body=body)

    def leave_waitlist(self, token: str, event_id: str, ticket_type_id: str) -> dict[str, Any]:
        body = {"event_id": event_id, "ticket_type_id": ticket_type_id}
        return self._call("POST", "/leave-waitlist", token=token, body=body)

    def my_waitlist(self, token: str) -> dict[str, Any]:
        """``{"entries": [...]}``: the caller's places, waiting (with ``position``) or offered
        (with ``offer_id`` and ``offer_expires_at``)."""
        return self._call("GET", "/my-waitlist", token=token)

    def claim_offer(self, token: str, offer_id: str, attendee_name: str) -> dict[str, Any]:
        """``{"offer", "order", "ticket"}``."""
        body = {"offer_id": offer_id, "attendee_name": attendee_name}
        return self._call("POST", "/claim-offer", token=token, body=body)

    def decline_offer(self, token: str, offer_id: str) -> dict[str, Any]:
        return self._call("POST", "/decline-offer", token=token, body={"offer_id": offer_id})

    # The waiting room (docs/architecture.md, "The waiting room").

    def event_queue(self, event_id: str, cursor: str | None = None) -> dict[str, Any]:
        """The public view of an event's queue (opening, state, seed commitment; after the
        draw the seed and a page of the order, the next from ``next_cursor``); ``ApiError``
        404 when the event has no queue."""
        params = {"cursor": cursor} if cursor else None
        return self._call("GET", f"/events/{event_id}/queue", params=params)

    def join_queue(self, token: str, event_id: str) -> dict[str, Any]:
        """``{"position_token", "status"}``; joining again answers the same place."""
        return self._call("POST", "/join-queue", token=token, body={"event_id": event_id})

    def queue_status(self, token: str, event_id: str, position_token: str) -> dict[str, Any]:
        """The caller's place: position, people ahead, estimate, and once admitted a fresh
        admission token with its expiry."""
        return self._call(
            "GET",
            "/queue-status",
            token=token,
            params={"event_id": event_id},
            headers={QUEUE_HEADER: position_token},
        )

    def configure_queue(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/configure-queue", token=token, body=body)

    def check_in(
        self,
        token: str,
        event_id: str,
        code: str,
        gate_id: str | None = None,
        direction: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"event_id": event_id, "code": code}
        if gate_id:
            body["gate_id"] = gate_id
        if direction:
            body["direction"] = direction
        return self._call("POST", "/check-in", token=token, body=body)

    # The door (docs/architecture.md, "At the door").

    def event_door(self, token: str, event_id: str) -> dict[str, Any]:
        return self._call("GET", f"/events/{event_id}/door", token=token)

    def door_events(self, token: str) -> dict[str, Any]:
        return self._call("GET", "/door-events", token=token)

    def add_door_staff(self, token: str, event_id: str, email: str) -> dict[str, Any]:
        body = {"event_id": event_id, "email": email}
        return self._call("POST", "/add-door-staff", token=token, body=body)

    def remove_door_staff(self, token: str, event_id: str, email: str) -> dict[str, Any]:
        body = {"event_id": event_id, "email": email}
        return self._call("POST", "/remove-door-staff", token=token, body=body)

    def add_gate(self, token: str, gate: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/add-gate", token=token, body=gate)

    def update_gate(self, token: str, change: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/update-gate", token=token, body=change)

    def scanner_bundle(self, token: str, event_id: str) -> dict[str, Any]:
        return self._call("GET", f"/events/{event_id}/scanner-bundle", token=token)

    def scanner_bundle_key(self) -> dict[str, Any]:
        return self._call("GET", "/scanner-bundle-key")

    def sync_scans(self, token: str, event_id: str, scans: list[dict[str, Any]]) -> dict[str, Any]:
        body = {"event_id": event_id, "scans": scans}
        return self._call("POST", "/sync-scans", token=token, body=body)

    def log_activity(self, token: str | None, events: list[dict[str, Any]]) -> None:
        self._call("POST", "/log-activity", token=token, body={"events": events})

    def list_events(self, *, limit: int, cursor: str | None = None) -> dict[str, Any]:
        """The public list (``{"events", "next_cursor"}``): what the site shows while its read
        model is unavailable."""
        params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        return self._call("GET", "/events", params=params)

    def get_event(self, event_id: str) -> dict[str, Any]:
        return self._call("GET", f"/events/{event_id}")

    def _call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        all_headers = {"Accept": "application/json", **(headers or {})}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        try:
            response = self._http.request(
                method,
                self._base + path,
                json=body,
                params=params,
                headers=all_headers,
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            raise ApiError(503, "api_unavailable", "The ticketing service is unreachable.") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code >= 400:
            error = answer.get("error") if isinstance(answer, dict) else None
            if not isinstance(error, dict):
                error = {}
            details = {k: v for k, v in error.items() if k not in ("code", "message")}
            raise ApiError(
                response.status_code,
                str(error.get("code") or "api_error"),
                str(error.get("message") or "The ticketing service refused the request."),
                details,
                response.headers.get("Retry-After"),
            )
        if not isinstance(answer, dict):
            raise ApiError(502, "bad_gateway", "The ticketing service answered something odd.")
        return answer
