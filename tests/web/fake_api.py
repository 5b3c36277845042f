"""An in-memory stand-in for the serverless API that follows docs/architecture.md: the same
answers and error codes, DynamoDB-shaped items with ``version``, real session tokens and real
signed ticket codes. Every item it writes is delivered to the projector's logic, as the
DynamoDB stream would, so what the web shows next comes from PostgreSQL as in production."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from gatepass import clock, ticket_codes, tokens
from gatepass.dal import layout, stock
from gatepass.dal.events import event_item, event_of, seats_item, ticket_type_item
from gatepass.dal.orders import order_item
from gatepass.dal.tickets import TicketRecord, qr_object_key, ticket_item
from gatepass.errors import Unauthorized
from gatepass.ids import new_id
from gatepass.logic import bundle as bundle_logic
from gatepass.logic import check_in as check_in_logic
from gatepass.logic import door as door_logic
from gatepass.logic.events import new_ticket_type, new_ticket_types
from gatepass.models.common import normalize_email
from gatepass.models.door import (
    AddDoorStaffRequest,
    AddGateRequest,
    RemoveDoorStaffRequest,
    UpdateGateRequest,
)
from gatepass.models.events import public_event
from gatepass.models.orders import (
    MAX_TICKET_TYPES,
    AddTicketTypeRequest,
    TicketTypeSpec,
    UpdateTicketTypeRequest,
)
from gatepass.models.records import EventRecord, OrderRecord
from gatepass.models.scanner import CheckInRequest, SyncScansRequest
from gatepass.readmodel.cache import Invalidator
from gatepass.readmodel.database import Database
from gatepass.readmodel.projection import Change, apply_change
from tests.web.fake_door import ItemsDoorStore, SeedBundleSigner, TicketSeedKeys, answered
from tests.web.fake_queue import FakeQueues
from webapp.api_client import ApiError, CreatedEvent

# The API holds the signer; the web under test gets only SESSION_KEY, the public half.
SIGNER = tokens.LocalSigner.generate()
SESSION_KEY = SIGNER.verifying_key()
TICKET_SEED = b"s" * 32
KEYS = TicketSeedKeys(TICKET_SEED)
UPLOADS_URL = "https://gatepass-uploads-test.s3.amazonaws.com/"
TICKETS_ORIGIN = "https://gatepass-tickets-test.s3.us-east-1.amazonaws.com"


def _at(key: dict[str, str]) -> tuple[str, str]:
    return key["pk"], key["sk"]


def session_token(email: str, ttl_seconds: int = 3600) -> str:
    return tokens.issue_session_token(SIGNER, email, ttl_seconds=ttl_seconds).token


@dataclass
class FakeApi:
    database: Database
    invalidator: Invalidator
    subscribed: set[str] = field(default_factory=set)
    outbox: dict[str, str] = field(default_factory=dict)
    # The sign-in link each address was mailed, and the browsers that asked for it.
    link_outbox: dict[str, str] = field(default_factory=dict)
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    browsers: dict[str, set[str]] = field(default_factory=dict)
    subscribe_requests: list[str] = field(default_factory=list)
    # Addresses whose code tries are used up (90 in 30 days): codes answer 429.
    codes_paused: set[str] = field(default_factory=set)
    items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    activity: list[dict[str, Any]] = field(default_factory=list)
    # What the mail topic would have delivered: (to, subject, body).
    mail: list[tuple[str, str, str]] = field(default_factory=list)
    # The waiting list: entries in join order, offers by id (docs/decisions/0051).
    entries: list[dict[str, Any]] = field(default_factory=list)
    offers: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    # The public reads answer 503, as when API Gateway or DynamoDB cannot be reached.
    public_reads_down: bool = False
    # Sessions, as the API's session store keeps them: every genuine token's session is live
    # until it is signed out, ended everywhere, or idle for ``idle_seconds``.
    ended_sessions: set[str] = field(default_factory=set)
    sessions_valid_after: dict[str, int] = field(default_factory=dict)
    last_seen: dict[str, int] = field(default_factory=dict)
    idle_seconds: int = 1800
    session_checks: int = 0
    sessions_down: bool = False
    # False: the wallet routes answer 503 as before real credentials are installed.
    wallets_configured: bool = True
    # The waiting room (tests/web/fake_queue.py).
    waitroom: FakeQueues = field(default_factory=FakeQueues)

    # ------------------------------------------------------------ the stream

    def _put(self, item: dict[str, Any]) -> None:
        key = (item["pk"], item["sk"])
        old = self.items.get(key)
        self.items[key] = item
        change = Change("MODIFY" if old else "INSERT", new_image=item, old_image=old or {})
        apply_change(self.database, self.invalidator, change)

    def _project_entry(self, entry: dict[str, Any]) -> None:
        """A place in a line as the table holds it, through the projector (as the stream
        would carry it), so the read model's lines follow this stand-in."""
        from gatepass.dal.waitlist import entry_item
        from gatepass.models.waitlist import EntryRecord

        key = layout.entry_key(
            entry["event_id"],
            entry["ticket_type_id"],
            layout.entry_sort_key(entry["joined_at"], entry["entry_id"]),
        )
        previous = self.items.get((key["pk"], key["sk"]))
        record = EntryRecord(
            **{k: v for k, v in entry.items() if k != "offer_id" or v},
            entry_sk=key["sk"],
        )
        item = entry_item(record)
        item["version"] = int(previous["version"]) + 1 if previous else 1
        self._put(item)

    def _claims(self, token: str) -> tokens.SessionClaims:
        try:
            return tokens.verify_session_token(SESSION_KEY, token)
        except Unauthorized as exc:
            raise ApiError(401, "unauthorized", exc.message) from exc

    def _caller(self, token: str) -> str:
        """The person of a live session, as the authorizer lets through (and counts as use)."""
        claims = self._claims(token)
        now = clock.epoch()
        seen = self.last_seen.get(claims.session_id, claims.issued_at)
        valid_after = self.sessions_valid_after.get(claims.subject)
        if (
            claims.session_id in self.ended_sessions
            or (valid_after is not None and claims.issued_at <= valid_after)
            or now - seen >= self.idle_seconds
        ):
            raise ApiError(401, "unauthorized", "Sign in first.")
        self.last_seen[claims.session_id] = now
        return claims.subject

    # ------------------------------------------------------------ sessions

    def session(self, token: str) -> dict[str, Any]:
        self.session_checks += 1
        if self.sessions_down:
            raise ApiError(503, "api_unavailable", "The ticketing service is unreachable.")
        person = self._caller(token)
        claims = self._claims(token)
        now = clock.epoch()
        return {
            "session_id": claims.session_id,
            "email": person,
            "methods": list(claims.methods),
            "created_at": claims.issued_at,
            "last_seen_at": now,
            "idle_expires_at": min(now + self.idle_seconds, claims.expires_at),
            "expires_at": claims.expires_at,
            "idle_timeout_seconds": self.idle_seconds,
        }

    def sign_out(self, token: str) -> None:
        self.calls.append("sign_out")
        self.ended_sessions.add(self._claims(token).session_id)

    def sign_out_everywhere(self, token: str) -> None:
        self.calls.append("sign_out_everywhere")
        if self.sessions_down:
            raise ApiError(503, "api_unavailable", "The ticketing service is unreachable.")
        person = self._caller(token)
        self.sessions_valid_after[person] = clock.epoch()

    # ------------------------------------------------------------ sign-in

    def subscribe(self, email: str) -> None:
        self.calls.append("subscribe")
        self.subscribe_requests.append(email)

    def send_otp(self, email: str, browser: str | None = None) -> None:
        self.calls.append("send_otp")
        if browser:
            self.browsers.setdefault(email, set()).add(browser)
        if email in self.subscribed:
            self.outbox[email] = f"{secrets.randbelow(10**6):06d}"
            token = secrets.token_urlsafe(32)
            self.link_outbox[email] = token
            self.links[token] = {"email": email, "used": False, "expired": False}

    def verify_link(self, token: str, browser: str) -> tokens.IssuedToken:
        self.calls.append("verify_link")
        link = self.links.get(token)
        if link is None:
            raise ApiError(401, "invalid_sign_in_link", "That sign-in link is not valid.")
        if link["used"]:
            raise ApiError(410, "sign_in_link_used", "That sign-in link was already used.")
        if link["expired"]:
            raise ApiError(410, "sign_in_link_expired", "That sign-in link has expired.")
        if browser not in self.browsers.get(link["email"], set()):
            raise ApiError(
                403, "sign_in_link_other_browser", "That link works only in the browser that asked."
            )
        link["used"] = True
        return tokens.issue_session_token(SIGNER, link["email"], ttl_seconds=3600)

    def verify_id_token(self, id_token: str) -> tokens.IssuedToken:
        self.calls.append("verify_id_token")
        # The stand-in stack signs people in with emailed codes only, as the template's default.
        raise ApiError(404, "not_found", "This stack does not sign people in through a provider.")

    def verify_otp(self, email: str, code: str) -> tokens.IssuedToken:
        self.calls.append("verify_otp")
        if email in self.codes_paused:
            raise ApiError(
                429,
                "code_tries_exhausted",
                "Too many codes were tried for this address recently, so codes are paused for "
                "it. The sign-in link in your latest Gatepass email still works.",
                retry_after="86400",
            )
        expected = self.outbox.get(email)
        if expected is None or not secrets.compare_digest(expected, code):
            raise ApiError(401, "invalid_code", "The code is wrong or has expired.")
        del self.outbox[email]
        return tokens.issue_session_token(SIGNER, email, ttl_seconds=3600)

    # ------------------------------------------------------------ events

    def create_event(
        self, token: str, event: dict[str, Any], image_upload: dict[str, Any] | None
    ) -> CreatedEvent:
        self.calls.append("create_event")
        organizer = self._caller(token)
        starts = datetime.fromisoformat(event["starts_at"])
        if starts <= clock.now():
            raise ApiError(
                400,
                "validation_error",
                "The request is not valid.",
                {"problems": [{"field": "starts_at", "problem": "must be in the future"}]},
            )
        item = self.publish(
            organizer=organizer,
            title=event["title"],
            description=event["description"],
            venue=event["venue"],
            starts_at=clock.iso(starts),
            starts_at_local=event["starts_at"],
            capacity=event["capacity"],
            image_status="awaiting_upload" if image_upload else "none",
            ticket_types=event.get("ticket_types"),
        )
        upload = None
        if image_upload:
            upload = {
                "url": UPLOADS_URL,
                "fields": {"key": f"events/{item['event_id']}/{new_id()}", "policy": "e30="},
                "expires_at": clock.iso(clock.now() + timedelta(minutes=5)),
            }
        return CreatedEvent(event=self.public(item), upload=upload)

    def event_record(self, **values: Any) -> EventRecord:
        """An event as create-event makes it; ``ticket_types`` as create-event takes them, and
        ``sold``/``checked_in`` counted on its first type."""
        event_id = values.pop("event_id", None) or new_id()
        specs = [TicketTypeSpec.model_validate(t) for t in values.pop("ticket_types", None) or []]
        sold, checked_in = values.pop("sold", 0), values.pop("checked_in", 0)
        fields: dict[str, Any] = {
            "title": "An event",
            "description": "",
            "venue": "Somewhere",
            "starts_at": clock.iso(clock.now() + timedelta(days=7)),
            "capacity": 100,
            "organizer": "organizer@example.com",
            "image_status": "none",
            "verifying_key": ticket_codes.event_verifying_key(TICKET_SEED, event_id),
            "created_at": clock.iso(clock.now()),
            **values,
        }
        fields.setdefault("starts_at_local", fields["starts_at"])
        kinds = list(new_ticket_types(event_id, specs or None, capacity=fields["capacity"]))
        kinds[0] = kinds[0].model_copy(
            update={"sold": sold, "checked_in": checked_in, "available": kinds[0].quota - sold}
        )
        return EventRecord(
            event_id=event_id,
            sold=sold,
            checked_in=checked_in,
            ticket_types=tuple(kinds),
            **fields,
        )

    def publish(self, *, shards: int = 1, **values: Any) -> dict[str, Any]:
        """An event as if an organizer had created it earlier (test setup): its descriptive
        item, its seats and its types, each delivered to the projector. With ``shards`` > 1
        it is sold from that many stock shards (docs/decisions/0070), as create-event makes
        them: the capacity and quotas split over the shards, the seats and types an empty
        pool, and the summary (which the read model skips)."""
        event = self.event_record(**values)
        item = event_item(event)
        self._put(item)
        if shards > 1:
            self._put(stock.summary_item(event.event_id, shards=shards, rate=shards * 20))
            for shard in stock.shard_items(event, shards):
                self._put(shard)
            event = event.model_copy(
                update={
                    "available": 0,
                    "ticket_types": tuple(
                        k.model_copy(update={"available": 0}) for k in event.ticket_types
                    ),
                }
            )
        self._put(seats_item(event))
        for kind in event.ticket_types:
            self._put(ticket_type_item(kind))
        return {**item, "ticket_types": [k.model_dump() for k in event.ticket_types]}

    def sell_from_shard(self, event_id: str, shard: int, ticket_type_id: str, count: int) -> None:
        """Take ``count`` seats and tickets of a type from one stock shard, as a sale elsewhere
        would (the shard's counters only: the pool is not touched)."""
        item = self.items[_at(layout.stock_shard_key(event_id, shard))]
        types, types_sold = dict(item["types"]), dict(item["types_sold"])
        types[ticket_type_id] -= count
        types_sold[ticket_type_id] += count
        self._update(
            layout.stock_shard_key(event_id, shard),
            available=item["available"] - count,
            sold=item["sold"] + count,
            types=types,
            types_sold=types_sold,
        )

    def update_event(self, event_id: str, **values: Any) -> dict[str, Any]:
        return self._update(layout.event_key(event_id), **values)

    def update_seats(self, event_id: str, **values: Any) -> dict[str, Any]:
        """Change the event's seats counter (``sold``, ``available``...), as a sale elsewhere
        would."""
        return self._update(layout.seats_key(event_id), **values)

    def update_type(self, event_id: str, ticket_type_id: str, **values: Any) -> dict[str, Any]:
        return self._update(layout.ticket_type_key(event_id, ticket_type_id), **values)

    def _update(self, key: dict[str, str], **values: Any) -> dict[str, Any]:
        item = dict(self.items[_at(key)])
        item.update(values, version=item["version"] + 1)
        if item.get("entity") == "event":
            item["updated_at"] = clock.iso(clock.now())
        self._put(item)
        return item

    def finish_image(self, event_id: str) -> dict[str, Any]:
        """What the image function does once the upload is processed."""
        return self.update_event(
            event_id,
            image_status="ready",
            image_display_key=f"events/{event_id}/display.jpg",
            image_thumbnail_key=f"events/{event_id}/thumbnail.jpg",
            image_width=1600,
            image_height=900,
        )

    def public(self, item: dict[str, Any]) -> dict[str, Any]:
        seats = self.items[_at(layout.seats_key(item["event_id"]))]
        return {
            "event_id": item["event_id"],
            "title": item["title"],
            "starts_at": item["starts_at"],
            "capacity": item["capacity"],
            "sold": seats["sold"],
            "seats_left": seats["available"],
            "image_status": item["image_status"],
        }

    # ------------------------------------------------------------ tickets

    def create_ticket(
        self,
        token: str,
        event_id: str,
        idempotency_key: str,
        tickets: list[dict[str, str]] | None = None,
        admission: str | None = None,
    ) -> dict[str, Any]:
        """An order, checked as the API checks it (the queue's admission first, then types,
        quotas, capacity, buyer limit)."""
        self.calls.append("create_ticket")
        buyer = self._caller(token)
        self.waitroom.check_admission(buyer, event_id, admission)
        remembered = self.idempotency.get((buyer, idempotency_key))
        if remembered is not None:
            return remembered
        event = self.items.get(_at(layout.event_key(event_id)))
        if event is None:
            raise ApiError(404, "not_found", "No such event.")
        seats = self.items[_at(layout.seats_key(event_id))]
        kinds = sorted(
            (
                i
                for i in self.items.values()
                if i.get("entity") == "ticket_type" and i["event_id"] == event_id
            ),
            key=lambda i: i["position"],
        )
        lines = tickets or [{"ticket_type_id": kinds[0]["ticket_type_id"], "attendee_name": ""}]
        by_id = {k["ticket_type_id"]: k for k in kinds}
        if any(line["ticket_type_id"] not in by_id for line in lines):
            raise ApiError(400, "unknown_ticket_type", "This event has no such ticket type.")
        held = sum(
            1
            for i in self.items.values()
            if i.get("entity") == "ticket"
            and i["event_id"] == event_id
            and i.get("buyer") == buyer
            and i["status"] in ("issued", "checked_in")
        )
        if held + len(lines) > event["max_tickets_per_buyer"]:
            raise ApiError(409, "buyer_limit_reached", "You reached this event's limit.")
        if seats["available"] < len(lines):
            raise ApiError(409, "sold_out", "This event is sold out.")
        for type_id in {line["ticket_type_id"] for line in lines}:
            wanted = sum(1 for line in lines if line["ticket_type_id"] == type_id)
            if by_id[type_id]["available"] < wanted:
                raise ApiError(409, "ticket_type_sold_out", "Those tickets are sold out.")
        now = clock.iso(clock.now())
        order_id = new_id()
        answered = []
        for line in lines:
            ticket_id = new_id()
            record = TicketRecord(
                ticket_id=ticket_id,
                event_id=event_id,
                holder=buyer,
                status="issued",
                code=ticket_codes.legacy_signing_key(TICKET_SEED, event_id).sign(
                    event_id, ticket_id
                ),
                qr_key=qr_object_key(ticket_id),
                issued_at=now,
                order_id=order_id,
                ticket_type_id=line["ticket_type_id"],
                attendee_name=line.get("attendee_name", ""),
                buyer=buyer,
            )
            self._put(ticket_item(record))
            answered.append(
                {
                    "ticket_id": ticket_id,
                    "event_id": event_id,
                    "holder": buyer,
                    "status": "issued",
                    "issued_at": now,
                    "order_id": order_id,
                    "ticket_type_id": record.ticket_type_id,
                    "attendee_name": record.attendee_name,
                }
            )
            kind = by_id[record.ticket_type_id or ""]
            by_id[kind["ticket_type_id"]] = self._update(
                layout.ticket_type_key(event_id, kind["ticket_type_id"]),
                sold=kind["sold"] + 1,
                available=kind["available"] - 1,
            )
        self._update(
            layout.seats_key(event_id),
            sold=seats["sold"] + len(lines),
            available=seats["available"] - len(lines),
        )
        placed = OrderRecord(
            order_id=order_id,
            event_id=event_id,
            buyer=buyer,
            status="confirmed",
            ticket_ids=[t["ticket_id"] for t in answered],
            ticket_count=len(answered),
            live_count=len(answered),
            created_at=now,
            updated_at=now,
        )
        self._put(order_item(placed))
        answer = {
            "order": {
                "order_id": order_id,
                "event_id": event_id,
                "buyer": buyer,
                "status": "confirmed",
                "created_at": now,
                "tickets": answered,
            },
            "ticket": answered[0],
        }
        self.idempotency[(buyer, idempotency_key)] = answer
        return answer

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        return self.items[_at(layout.ticket_key(ticket_id))]

    def qr_code(self, token: str, ticket_id: str) -> dict[str, Any]:
        self.calls.append("qr_code")
        caller = self._caller(token)
        ticket = self.items.get(_at(layout.ticket_key(ticket_id)))
        if ticket is None or ticket["holder"] != caller:
            raise ApiError(404, "not_found", "No such ticket.")
        return {
            "ticket_id": ticket_id,
            "url": f"{TICKETS_ORIGIN}/tickets/{ticket_id}.png?X-Amz-Signature=fake",
            "expires_at": clock.iso(clock.now() + timedelta(minutes=5)),
            "expires_in": 300,
        }

    def _held(self, token: str, ticket_id: str) -> dict[str, Any]:
        caller = self._caller(token)
        ticket = self.items.get(_at(layout.ticket_key(ticket_id)))
        if ticket is None:
            raise ApiError(404, "not_found", "No such ticket.")
        if ticket["holder"] != caller:
            raise ApiError(403, "forbidden", "This ticket belongs to someone else.")
        if not self.wallets_configured:
            raise ApiError(
                503, "wallet_not_configured", "This wallet is not set up for this deployment yet."
            )
        return ticket

    def apple_wallet_pass(self, token: str, ticket_id: str) -> dict[str, Any]:
        self.calls.append("apple_wallet_pass")
        ticket = self._held(token, ticket_id)
        return {
            "ticket_id": ticket_id,
            "url": f"{TICKETS_ORIGIN}/passes/{ticket_id}.pkpass?X-Amz-Signature=fake",
            "expires_at": clock.iso(clock.now() + timedelta(minutes=5)),
            "expires_in": 300,
            "voided": ticket["status"] in ("cancelled", "transferred"),
        }

    def google_wallet_link(self, token: str, ticket_id: str) -> dict[str, Any]:
        self.calls.append("google_wallet_link")
        ticket = self._held(token, ticket_id)
        return {
            "ticket_id": ticket_id,
            "save_url": "https://pay.google.com/gp/v/save/fake.jwt.value",
            "state": "ACTIVE" if ticket["status"] in ("issued", "checked_in") else "INACTIVE",
        }

    def check_in(
        self,
        token: str,
        event_id: str,
        code: str,
        gate_id: str | None = None,
        direction: str | None = None,
    ) -> dict[str, Any]:
        self.calls.append("check_in")
        caller = self._caller(token)
        request = {"event_id": event_id, "code": code, "gate_id": gate_id, "direction": direction}
        return answered(
            lambda: check_in_logic.check_in(
                caller, CheckInRequest.model_validate(request), door=self.door, keys=KEYS
            )
        )

    # ------------------------------------------------------------ the door

    @property
    def door(self) -> ItemsDoorStore:
        return ItemsDoorStore(self.items, self._put)

    def event_door(self, token: str, event_id: str) -> dict[str, Any]:
        self.calls.append("event_door")
        caller = self._caller(token)
        return answered(lambda: door_logic.event_door(event_id, caller, door=self.door))

    def door_events(self, token: str) -> dict[str, Any]:
        self.calls.append("door_events")
        caller = self._caller(token)
        return answered(lambda: door_logic.door_events(caller, door=self.door))

    def add_door_staff(self, token: str, event_id: str, email: str) -> dict[str, Any]:
        self.calls.append("add_door_staff")
        caller = self._caller(token)
        return answered(
            lambda: door_logic.add_door_staff(
                AddDoorStaffRequest(event_id=event_id, email=email), caller, door=self.door
            )
        )

    def remove_door_staff(self, token: str, event_id: str, email: str) -> dict[str, Any]:
        self.calls.append("remove_door_staff")
        caller = self._caller(token)
        return answered(
            lambda: door_logic.remove_door_staff(
                RemoveDoorStaffRequest(event_id=event_id, email=email), caller, door=self.door
            )
        )

    def add_gate(self, token: str, gate: dict[str, Any]) -> dict[str, Any]:
        self.calls.append("add_gate")
        caller = self._caller(token)
        return answered(
            lambda: door_logic.add_gate(AddGateRequest.model_validate(gate), caller, door=self.door)
        )

    def update_gate(self, token: str, change: dict[str, Any]) -> dict[str, Any]:
        self.calls.append("update_gate")
        caller = self._caller(token)
        return answered(
            lambda: door_logic.update_gate(
                UpdateGateRequest.model_validate(change), caller, door=self.door
            )
        )

    def scanner_bundle(self, token: str, event_id: str) -> dict[str, Any]:
        self.calls.append("scanner_bundle")
        caller = self._caller(token)
        return answered(
            lambda: bundle_logic.scanner_bundle(
                event_id, caller, door=self.door, keys=KEYS, signer=SeedBundleSigner()
            )
        )

    def scanner_bundle_key(self) -> dict[str, Any]:
        self.calls.append("scanner_bundle_key")
        return answered(lambda: bundle_logic.bundle_key(signer=SeedBundleSigner()))

    def sync_scans(self, token: str, event_id: str, scans: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append("sync_scans")
        caller = self._caller(token)
        return answered(
            lambda: check_in_logic.sync_scans(
                caller,
                SyncScansRequest.model_validate({"event_id": event_id, "scans": scans}),
                door=self.door,
                keys=KEYS,
            )
        )

    # ------------------------------------------------------------ cancelling and transferring

    def _seats(self, event_id: str) -> dict[str, Any]:
        return self.items[_at(layout.seats_key(event_id))]

    def _started(self, event_id: str) -> bool:
        return bool(self._seats(event_id)["starts_at"] <= clock.iso(clock.now()))

    def _owned_ticket(self, caller: str, ticket_id: str) -> dict[str, Any]:
        ticket = self.items.get(_at(layout.ticket_key(ticket_id)))
        if ticket is None:
            raise ApiError(404, "not_found", "No such ticket.")
        if ticket["holder"] != caller:
            raise ApiError(403, "forbidden", "This ticket belongs to someone else.")
        return ticket

    @staticmethod
    def _not_active(ticket: dict[str, Any]) -> ApiError:
        status = ticket["status"]
        return ApiError(
            409,
            "ticket_not_active",
            f"This ticket is {status.replace('_', ' ')}; only an issued ticket can change.",
            {"ticket_id": ticket["ticket_id"], "ticket_status": status},
        )

    def _revoke(self, ticket: dict[str, Any], status: str, reason: str, **more: Any) -> None:
        now = clock.iso(clock.now())
        self._update(
            layout.ticket_key(ticket["ticket_id"]),
            status=status,
            revoked_at=now,
            revoked_reason=reason,
            **more,
        )

    def cancel_ticket(
        self, token: str, *, ticket_id: str | None = None, order_id: str | None = None
    ) -> dict[str, Any]:
        """As the API: one ticket or what the caller holds of an order, until the start; the
        seats come back to the event and to each type."""
        self.calls.append("cancel_ticket")
        caller = self._caller(token)
        if ticket_id:
            ticket = self._owned_ticket(caller, ticket_id)
            if ticket["status"] != "issued":
                raise self._not_active(ticket)
            wanted = [ticket]
        else:
            order = self.items.get(_at(layout.order_key(str(order_id))))
            if order is None:
                raise ApiError(404, "not_found", "No such order.")
            held = [
                self.ticket(t) for t in order["ticket_ids"] if self.ticket(t)["holder"] == caller
            ]
            if order["buyer"] != caller and not held:
                raise ApiError(403, "forbidden", "This order belongs to someone else.")
            wanted = [t for t in held if t["status"] == "issued"]
            if not wanted:
                raise ApiError(
                    409,
                    "ticket_not_active",
                    "Nothing of this order is yours to cancel any more.",
                    {"order_id": order["order_id"]},
                )
        event_id = wanted[0]["event_id"]
        if self._started(event_id):
            raise ApiError(
                409,
                "event_started",
                "This event has started; its tickets can no longer be cancelled.",
            )
        for ticket in wanted:
            self._revoke(ticket, "cancelled", "cancelled_by_holder")
            kind_key = layout.ticket_type_key(event_id, ticket["ticket_type_id"])
            kind = self.items[_at(kind_key)]
            seats = self._seats(event_id)
            # A seat freed for a type with a line is set aside for it (held), not sold again.
            to_line = any(
                e["status"] == "waiting"
                and (e["event_id"], e["ticket_type_id"]) == (event_id, ticket["ticket_type_id"])
                for e in self.entries
            )
            freed = "held" if to_line else "available"
            self._update(kind_key, sold=kind["sold"] - 1, **{freed: kind[freed] + 1})
            self._update(
                layout.seats_key(event_id), sold=seats["sold"] - 1, **{freed: seats[freed] + 1}
            )
            order_key = layout.order_key(ticket["order_id"])
            order = self.items[_at(order_key)]
            live = order["live_count"] - 1
            self._update(
                order_key, live_count=live, status="cancelled" if live == 0 else order["status"]
            )
        return {"cancelled": [self._view(self.ticket(t["ticket_id"])) for t in wanted]}

    def transfer_ticket(self, token: str, ticket_id: str, to_email: str) -> dict[str, Any]:
        self.calls.append("transfer_ticket")
        caller = self._caller(token)
        try:
            recipient = normalize_email(to_email)
        except ValueError:
            raise ApiError(
                400,
                "validation_error",
                "The request is not valid.",
                {"problems": [{"field": "to_email", "problem": "not a valid email address"}]},
            ) from None
        old = self._owned_ticket(caller, ticket_id)
        if recipient == caller:
            raise ApiError(
                400,
                "transfer_to_self",
                "This ticket is already yours; give it to another address.",
                {"problems": [{"field": "to_email", "problem": "is your own address"}]},
            )
        if old["status"] != "issued":
            raise self._not_active(old)
        seats = self._seats(old["event_id"])
        if seats["status"] == "cancelled":
            raise ApiError(
                409,
                "event_cancelled",
                "This event has been cancelled; its tickets cannot change hands.",
            )
        if self._started(old["event_id"]):
            raise ApiError(
                409,
                "event_started",
                "This event has started; its tickets can no longer change hands.",
            )
        new_id_ = new_id()
        record = TicketRecord(
            ticket_id=new_id_,
            event_id=old["event_id"],
            holder=recipient,
            status="issued",
            code=ticket_codes.legacy_signing_key(TICKET_SEED, old["event_id"]).sign(
                old["event_id"], new_id_
            ),
            qr_key=qr_object_key(new_id_),
            issued_at=clock.iso(clock.now()),
            order_id=old["order_id"],
            ticket_type_id=old["ticket_type_id"],
            attendee_name=old.get("attendee_name", ""),
            buyer=old.get("buyer"),
            transferred_from=old["ticket_id"],
        )
        self._revoke(old, "transferred", "transferred", transferred_to=new_id_)
        self._put(ticket_item(record))
        self.mail.append(
            (
                recipient,
                "A ticket for you",
                f"{caller} gave you a ticket. Sign in to Gatepass and find it under My tickets.",
            )
        )
        return {"transferred": old["ticket_id"], "ticket": self._view(self.ticket(new_id_))}

    def cancel_event(self, token: str, event_id: str) -> dict[str, Any]:
        self.calls.append("cancel_event")
        caller = self._caller(token)
        event = self.items.get(_at(layout.event_key(event_id)))
        if event is None:
            raise ApiError(404, "not_found", "No such event.")
        if event["organizer"] != caller:
            raise ApiError(403, "forbidden", "Only the event's organizer can cancel it.")
        if self._seats(event_id)["status"] != "cancelled":
            self._update(layout.seats_key(event_id), status="cancelled")
        revoked = notified = 0
        holders: set[str] = set()
        for ticket in [
            i
            for i in list(self.items.values())
            if i.get("entity") == "ticket"
            and i["event_id"] == event_id
            and i["status"] in ("issued", "checked_in")
        ]:
            self._revoke(ticket, "cancelled", "event_cancelled")
            revoked += 1
            holders.add(ticket["holder"])
        for holder in sorted(holders):
            self.mail.append((holder, f"Cancelled: {event['title']}", "The event is cancelled."))
            notified += 1
        return {
            "event_id": event_id,
            "status": "cancelled",
            "revoked": revoked,
            "notified": notified,
        }

    # ------------------------------------------------------------ ticket types

    def _organizers(self, caller: str, event_id: str) -> dict[str, Any]:
        event = self.items.get(_at(layout.event_key(event_id)))
        if event is None:
            raise ApiError(404, "not_found", "No such event.")
        if event["organizer"] != caller:
            raise ApiError(
                403, "forbidden", "Only the event's organizer can change its ticket types."
            )
        if self._seats(event_id)["status"] == "cancelled":
            raise ApiError(
                409,
                "event_cancelled",
                "This event has been cancelled; its ticket types stay as they are.",
            )
        return event

    @staticmethod
    def _invalid(exc: ValidationError) -> ApiError:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "problem": e["msg"]}
            for e in exc.errors()
        ]
        return ApiError(
            400, "validation_error", "The request is not valid.", {"problems": problems}
        )

    def _type_view(self, item: dict[str, Any]) -> dict[str, Any]:
        event = self._public_event(self.items[_at(layout.event_key(item["event_id"]))])
        return next(
            t for t in event["ticket_types"] if t["ticket_type_id"] == item["ticket_type_id"]
        )

    def add_ticket_type(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append("add_ticket_type")
        caller = self._caller(token)
        try:
            request = AddTicketTypeRequest.model_validate(body)
        except ValidationError as exc:
            raise self._invalid(exc) from None
        self._organizers(caller, request.event_id)
        kinds = [
            i
            for i in self.items.values()
            if i.get("entity") == "ticket_type" and i["event_id"] == request.event_id
        ]
        if len(kinds) >= MAX_TICKET_TYPES:
            raise ApiError(
                409, "too_many_ticket_types", f"An event has at most {MAX_TICKET_TYPES} types."
            )
        spec = TicketTypeSpec.model_validate(request.model_dump(exclude={"event_id"}))
        kind = new_ticket_type(
            request.event_id, spec, position=max(k["position"] for k in kinds) + 1
        )
        item = ticket_type_item(kind)
        self._put(item)
        seats = self._seats(request.event_id)
        self._update(layout.seats_key(request.event_id), type_count=seats["type_count"] + 1)
        return {"ticket_type": self._type_view(item)}

    def update_ticket_type(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append("update_ticket_type")
        caller = self._caller(token)
        try:
            request = UpdateTicketTypeRequest.model_validate(body)
        except ValidationError as exc:
            raise self._invalid(exc) from None
        self._organizers(caller, request.event_id)
        key = layout.ticket_type_key(request.event_id, request.ticket_type_id)
        kind = self.items.get(_at(key))
        if kind is None:
            raise ApiError(404, "not_found", "This event has no such ticket type.")
        changes: dict[str, Any] = {}
        for name in ("name", "description", "max_per_order", "paused"):
            if name in request.model_fields_set and getattr(request, name) is not None:
                changes[name] = getattr(request, name)
        for name in ("opens_at", "closes_at"):
            if name in request.model_fields_set:
                value = getattr(request, name)
                changes[name] = clock.iso(datetime.fromisoformat(value)) if value else None
        if request.quota is not None:
            taken = kind["quota"] - kind["available"]
            if request.quota < taken:
                raise ApiError(
                    409,
                    "quota_below_sold",
                    f"{kind['name']} has {taken} tickets sold or held; its quota cannot go "
                    "below that.",
                    {"ticket_type_id": kind["ticket_type_id"], "minimum": taken},
                )
            changes["quota"] = request.quota
            changes["available"] = kind["available"] + request.quota - kind["quota"]
        item = {**kind, **changes, "version": kind["version"] + 1}
        item = {k: v for k, v in item.items() if v is not None}
        self._put(item)
        return {"ticket_type": self._type_view(item)}

    # ------------------------------------------------------------ the waiting list

    def _type_left(self, event_id: str, ticket_type_id: str) -> int:
        kind = self.items.get(_at(layout.ticket_type_key(event_id, ticket_type_id)))
        if kind is None:
            raise ApiError(404, "not_found", "This event has no such ticket type.")
        return int(min(kind["available"], self._seats(event_id)["available"]))

    def _entry_view(self, entry: dict[str, Any]) -> dict[str, Any]:
        line = [
            e
            for e in self.entries
            if e["status"] == "waiting"
            and (e["event_id"], e["ticket_type_id"]) == (entry["event_id"], entry["ticket_type_id"])
        ]
        offer = self.offers.get(entry.get("offer_id") or "")
        return {
            "entry_id": entry["entry_id"],
            "event_id": entry["event_id"],
            "ticket_type_id": entry["ticket_type_id"],
            "status": entry["status"],
            "joined_at": entry["joined_at"],
            "position": line.index(entry) + 1 if entry in line else None,
            "offer_id": entry.get("offer_id"),
            "offer_expires_at": offer["expires_at"] if offer else None,
        }

    def _live_entry(self, person: str, event_id: str, ticket_type_id: str) -> dict[str, Any] | None:
        return next(
            (
                e
                for e in self.entries
                if (e["person"], e["event_id"], e["ticket_type_id"])
                == (person, event_id, ticket_type_id)
                and e["status"] in ("waiting", "offered")
            ),
            None,
        )

    def join_waitlist(self, token: str, event_id: str, ticket_type_id: str) -> dict[str, Any]:
        self.calls.append("join_waitlist")
        person = self._caller(token)
        if _at(layout.event_key(event_id)) not in self.items:
            raise ApiError(404, "not_found", "No such event.")
        if self._seats(event_id)["status"] == "cancelled":
            raise ApiError(
                409,
                "event_cancelled",
                "This event has been cancelled; its waiting lists are closed.",
            )
        if self._started(event_id):
            raise ApiError(
                409, "event_started", "This event has started; its waiting lists are closed."
            )
        existing = self._live_entry(person, event_id, ticket_type_id)
        if existing is not None:
            raise ApiError(
                409,
                "already_waiting",
                "You are already on this waiting list.",
                {"entry": self._entry_view(existing)},
            )
        left = self._type_left(event_id, ticket_type_id)
        if left > 0:
            kind = self.items[_at(layout.ticket_type_key(event_id, ticket_type_id))]
            raise ApiError(
                409,
                "not_sold_out",
                f"{kind['name']} tickets are not sold out: {left} left. Take one instead.",
                {"ticket_type_id": ticket_type_id, "left": left},
            )
        entry = {
            "entry_id": new_id(),
            "event_id": event_id,
            "ticket_type_id": ticket_type_id,
            "person": person,
            "status": "waiting",
            "joined_at": clock.iso(clock.now()),
            "offer_id": None,
        }
        self.entries.append(entry)
        self._project_entry(entry)
        return {"entry": self._entry_view(entry)}

    def leave_waitlist(self, token: str, event_id: str, ticket_type_id: str) -> dict[str, Any]:
        self.calls.append("leave_waitlist")
        person = self._caller(token)
        entry = self._live_entry(person, event_id, ticket_type_id)
        if entry is None or entry["status"] != "waiting":
            raise ApiError(409, "not_waiting", "You are not waiting in this line.")
        entry["status"] = "left"
        self._project_entry(entry)
        return {"entry": self._entry_view(entry)}

    def my_waitlist(self, token: str) -> dict[str, Any]:
        self.calls.append("my_waitlist")
        person = self._caller(token)
        mine = [
            e
            for e in self.entries
            if e["person"] == person and e["status"] in ("waiting", "offered")
        ]
        return {"entries": [self._entry_view(e) for e in mine]}

    def offer_next(
        self, event_id: str, ticket_type_id: str, lifetime: timedelta = timedelta(hours=24)
    ) -> dict[str, Any]:
        """What the stream consumer does with a freed seat: offer it to the head of the line
        and email the link (test setup)."""
        entry = next(
            e
            for e in self.entries
            if (e["event_id"], e["ticket_type_id"]) == (event_id, ticket_type_id)
            and e["status"] == "waiting"
        )
        offer_id = new_id()
        offer = {
            "offer_id": offer_id,
            "event_id": event_id,
            "ticket_type_id": ticket_type_id,
            "person": entry["person"],
            "status": "open",
            "offered_at": clock.iso(clock.now()),
            "expires_at": clock.iso(clock.now() + lifetime),
            "order_id": None,
        }
        self.offers[offer_id] = offer
        entry.update(status="offered", offer_id=offer_id)
        self._project_entry({**entry, "expires_at": offer["expires_at"]})
        self.mail.append(
            (
                entry["person"],
                "A seat for you",
                f"Claim it here: https://gatepass.example/offers/{offer_id}",
            )
        )
        return offer

    def _callers_offer(self, token: str, offer_id: str) -> tuple[str, dict[str, Any]]:
        person = self._caller(token)
        offer = self.offers.get(offer_id)
        if offer is None:
            raise ApiError(404, "not_found", "No such offer.")
        if offer["person"] != person:
            raise ApiError(403, "forbidden", "This offer was made to someone else.")
        if offer["status"] == "claimed":
            raise ApiError(
                409,
                "offer_already_claimed",
                "This offer has already been claimed.",
                {"offer_id": offer_id, "order_id": offer["order_id"]},
            )
        if offer["status"] == "declined":
            raise ApiError(409, "offer_declined", "This offer was declined.")
        if offer["status"] == "expired" or offer["expires_at"] <= clock.iso(clock.now()):
            raise ApiError(
                409,
                "offer_expired",
                f"This offer expired at {offer['expires_at']}.",
                {"offer_id": offer_id, "expires_at": offer["expires_at"]},
            )
        return person, offer

    def _end_entry(self, offer: dict[str, Any], status: str) -> None:
        offer["status"] = status
        for entry in self.entries:
            if entry.get("offer_id") == offer["offer_id"]:
                entry["status"] = status

    def claim_offer(self, token: str, offer_id: str, attendee_name: str) -> dict[str, Any]:
        """The held seat becomes a ticket in an order of one."""
        self.calls.append("claim_offer")
        _, offer = self._callers_offer(token, offer_id)
        event_id, type_id = offer["event_id"], offer["ticket_type_id"]
        # The seat was held for the line: give it to the sale for this one order.
        kind_key = layout.ticket_type_key(event_id, type_id)
        kind = self.items[_at(kind_key)]
        self._update(kind_key, available=kind["available"] + 1, held=kind["held"] - 1)
        seats = self._seats(event_id)
        self._update(
            layout.seats_key(event_id), available=seats["available"] + 1, held=seats["held"] - 1
        )
        placed = self.create_ticket(
            token,
            event_id,
            f"offer-{offer_id}",
            [{"ticket_type_id": type_id, "attendee_name": attendee_name}],
        )
        offer["order_id"] = placed["order"]["order_id"]
        self._end_entry(offer, "claimed")
        public = {k: v for k, v in offer.items() if k != "person"}
        return {"offer": public, "order": placed["order"], "ticket": placed["ticket"]}

    def decline_offer(self, token: str, offer_id: str) -> dict[str, Any]:
        self.calls.append("decline_offer")
        _, offer = self._callers_offer(token, offer_id)
        self._end_entry(offer, "declined")
        return {"offer": {k: v for k, v in offer.items() if k != "person"}}

    @staticmethod
    def _view(item: dict[str, Any]) -> dict[str, Any]:
        return {
            k: item.get(k)
            for k in (
                "ticket_id",
                "event_id",
                "holder",
                "status",
                "code",
                "issued_at",
                "checked_in_at",
                "order_id",
                "ticket_type_id",
                "attendee_name",
                "revoked_at",
                "revoked_reason",
            )
        }

    # ------------------------------------------------------------ the waiting room

    def configure_queue(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append("configure_queue")
        caller = self._caller(token)
        event = self.items.get(_at(layout.event_key(str(body.get("event_id")))))
        if event is None:
            raise ApiError(404, "not_found", "No such event.")
        owner = event["organizer"] == caller
        return self.waitroom.configure(owner, body, event["starts_at"])

    def join_queue(self, token: str, event_id: str) -> dict[str, Any]:
        self.calls.append("join_queue")
        person = self._caller(token)
        if _at(layout.event_key(event_id)) not in self.items:
            raise ApiError(404, "not_found", "No such event.")
        return self.waitroom.join(person, event_id)

    def queue_status(self, token: str, event_id: str, position_token: str) -> dict[str, Any]:
        self.calls.append("queue_status")
        return self.waitroom.status(self._caller(token), event_id, position_token)

    def event_queue(self, event_id: str, cursor: str | None = None) -> dict[str, Any]:
        self.calls.append("event_queue")
        return self.waitroom.public(event_id, cursor)

    # ------------------------------------------------------------ activity

    def log_activity(self, token: str | None, events: list[dict[str, Any]]) -> None:
        self.calls.append("log_activity")
        user = self._caller(token) if token else None
        for entry in events:
            activity_id = new_id()
            at = entry.get("at") or clock.iso(clock.now())
            item = {
                "pk": layout.user_activity_partition(user)
                if user
                else layout.client_activity_partition("testclient01"),
                "sk": f"{at}#{activity_id}",
                "entity": "activity",
                "activity_id": activity_id,
                "type": entry["type"],
                "user": user,
                "event_id": entry.get("event_id"),
                "at": at,
                "properties": entry.get("properties", {}),
            }
            self.activity.append(item)
            self._put(item)

    # ------------------------------------------------------------ public reads

    def _public_event(self, item: dict[str, Any]) -> dict[str, Any]:
        """The API's PublicEvent, built as the API builds it from the event's partition."""
        partition = layout.event_partition(item["event_id"])
        record = event_of([i for (pk, _), i in self.items.items() if pk == partition])
        assert record is not None
        return public_event(record, lambda key: f"{UPLOADS_URL}{key}").model_dump()

    def _check_public_reads(self) -> None:
        if self.public_reads_down:
            raise ApiError(503, "api_unavailable", "The ticketing service is unreachable.")

    def list_events(self, *, limit: int, cursor: str | None = None) -> dict[str, Any]:
        self.calls.append("list_events")
        self._check_public_reads()
        upcoming = sorted(
            (item for item in self.items.values() if item.get("entity") == "event"),
            key=lambda item: item["starts_at"],
        )
        start = int(cursor or 0)
        page = upcoming[start : start + limit]
        more = start + limit < len(upcoming)
        return {
            "events": [self._public_event(item) for item in page],
            "next_cursor": str(start + limit) if more else None,
        }

    def get_event(self, event_id: str) -> dict[str, Any]:
        self.calls.append("get_event")
        self._check_public_reads()
        item = self.items.get(_at(layout.event_key(event_id)))
        if item is None:
            raise ApiError(404, "not_found", "No such event.")
        return self._public_event(item)
