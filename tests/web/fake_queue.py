"""The waiting room of the in-memory API (``fake_api.FakeApi``), as the contract in
docs/architecture.md describes it: a queue per event configured by its organizer, people who
join before the opening drawn in an order that is a published function of a seed committed in
advance, later arrivals in arrival order, position tokens for ``/queue-status``, and admission
tokens (signed, bound to the person and the event, five minutes) that ``/create-ticket`` needs
while the queue is on. Tests let people in with ``admit`` (the real API's controller sets the
rate from what the sale is experiencing)."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gatepass import clock
from gatepass.ids import new_id
from webapp.api_client import ApiError

KEY = secrets.token_bytes(32)
ADMISSION_SECONDS = 300
PAGE = 1000


def sign(*parts: str) -> str:
    body = "|".join(parts)
    mac = hmac.new(KEY, body.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{body}|{mac}"


def _verified(token: str) -> list[str] | None:
    body, _, mac = token.rpartition("|")
    expected = hmac.new(KEY, body.encode(), hashlib.sha256).hexdigest()[:32]
    if not body or not hmac.compare_digest(mac, expected):
        return None
    return body.split("|")


def order_of(seed: bytes, entry_ids: list[str]) -> list[str]:
    return sorted(entry_ids, key=lambda e: hashlib.sha256(seed + e.encode()).hexdigest())


@dataclass
class Queue:
    event_id: str
    opens_at: str
    enabled: bool
    max_admissions_per_minute: int
    seed: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    # person -> entry
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: list[str] | None = None
    drawn_at: str | None = None
    admitted_through: int = 0

    @property
    def opened(self) -> bool:
        return clock.iso(clock.now()) >= self.opens_at

    @property
    def state(self) -> str:
        if not self.enabled:
            return "off"
        return "open" if self.opened else "scheduled"

    def draw(self) -> None:
        """Lazily, on the first read after the opening."""
        if self.order is not None or not self.opened:
            return
        pool = [e["entry_id"] for e in self.entries.values() if e["phase"] == "pool"]
        self.order = order_of(self.seed, pool)
        self.drawn_at = clock.iso(clock.now())

    def line(self) -> list[str]:
        """Every entry id in place order: the drawn pool, then arrivals in arrival order."""
        self.draw()
        arrivals = sorted(
            (e for e in self.entries.values() if e["phase"] == "arrival"),
            key=lambda e: (e["joined_at"], e["entry_id"]),
        )
        return [*(self.order or []), *(e["entry_id"] for e in arrivals)]


@dataclass
class FakeQueues:
    queues: dict[str, Queue] = field(default_factory=dict)

    # ------------------------------------------------------------ organizer

    def configure(self, organizer_ok: bool, body: dict[str, Any], starts_at: str) -> dict[str, Any]:
        if not organizer_ok:
            raise ApiError(403, "forbidden", "Only the event's organizer can do that.")
        event_id = body["event_id"]
        cap = body.get("max_admissions_per_minute")
        if not isinstance(cap, int) or not 1 <= cap <= 240_000:
            raise ApiError(
                400,
                "validation_error",
                "The request is not valid.",
                {"problems": [{"field": "max_admissions_per_minute", "problem": "1 to 240000"}]},
            )
        existing = self.queues.get(event_id)
        opens_at = body.get("opens_at")
        if opens_at is not None:
            moment = clock.iso(datetime.fromisoformat(opens_at))
            if existing is not None and moment != existing.opens_at and existing.opened:
                raise ApiError(409, "queue_already_drawn", "The queue has already opened.")
            if moment <= clock.iso(clock.now()) and (
                existing is None or moment != existing.opens_at
            ):
                raise ApiError(400, "queue_opens_in_past", "The opening must be in the future.")
            if moment >= starts_at:
                raise ApiError(
                    400, "queue_opens_after_event", "The queue must open before the event starts."
                )
            opens_at = moment
        elif existing is None:
            raise ApiError(
                400,
                "validation_error",
                "The request is not valid.",
                {"problems": [{"field": "opens_at", "problem": "required"}]},
            )
        if existing is None:
            existing = Queue(event_id, str(opens_at), bool(body["enabled"]), cap)
            self.queues[event_id] = existing
        else:
            existing.opens_at = str(opens_at or existing.opens_at)
            existing.enabled = bool(body["enabled"])
            existing.max_admissions_per_minute = cap
        return {"queue": self._config(existing)}

    def _config(self, queue: Queue) -> dict[str, Any]:
        return {
            "event_id": queue.event_id,
            "opens_at": queue.opens_at,
            "enabled": queue.enabled,
            "max_admissions_per_minute": queue.max_admissions_per_minute,
            "state": queue.state,
            "seed_commitment": hashlib.sha256(queue.seed).hexdigest(),
        }

    def admit(self, event_id: str, through: int) -> None:
        """Let everyone up to place ``through`` in (the controller's work, in tests)."""
        self.queues[event_id].admitted_through = through

    def open_now(self, event_id: str) -> None:
        """The opening has come (as if the clock had moved past it)."""
        self.queues[event_id].opens_at = clock.iso(clock.now() - timedelta(seconds=1))

    # ------------------------------------------------------------ public

    def public(self, event_id: str, cursor: str | None = None) -> dict[str, Any]:
        queue = self.queues.get(event_id)
        if queue is None:
            raise ApiError(404, "not_found", "This event has no queue.")
        queue.draw()
        order = queue.order or []
        drawn = queue.order is not None
        # Pages of PAGE entries; a cursor is the order key of a page's first entry.
        keys = [hashlib.sha256(queue.seed + e.encode()).hexdigest() for e in order]
        offset = keys.index(cursor) if cursor in keys else 0
        page = order[offset : offset + PAGE]
        after = offset + PAGE
        return {
            **self._config(queue),
            "seed": queue.seed.hex() if queue.order is not None else None,
            "order_function": (
                "sort pool entry ids ascending by hex(sha256(seed_bytes || entry_id_ascii))"
            ),
            "pool_size": len(order) if queue.order is not None else None,
            "drawn_at": queue.drawn_at,
            "order": page,
            "offset": offset,
            "next_cursor": keys[after] if after < len(order) else None,
            "joined": len(queue.entries),
            "admitted_through": queue.admitted_through if drawn else 0,
            "admitted_people": min(queue.admitted_through, len(queue.line())) if drawn else 0,
            "rate_per_minute": float(queue.max_admissions_per_minute) if drawn else None,
            "achieved_per_minute": float(queue.max_admissions_per_minute) if drawn else None,
        }

    # ------------------------------------------------------------ people

    def join(self, person: str, event_id: str) -> dict[str, Any]:
        queue = self.queues.get(event_id)
        if queue is None or not queue.enabled:
            raise ApiError(409, "queue_not_enabled", "This event's sale has no queue.")
        if person not in queue.entries:
            queue.entries[person] = {
                "entry_id": new_id(),
                "joined_at": clock.iso(clock.now()),
                "phase": "arrival" if queue.opened else "pool",
            }
        token = sign("pos", secrets.token_hex(4), person, event_id)
        return {"position_token": token, "status": self.status(person, event_id, token)}

    def status(self, person: str, event_id: str, position_token: str | None) -> dict[str, Any]:
        if not position_token:
            raise ApiError(403, "queue_token_required", "Send your position token.")
        parts = _verified(position_token)
        if parts is None or parts[0] != "pos":
            raise ApiError(403, "queue_token_invalid", "That position token is not valid.")
        if parts[2] != person:
            raise ApiError(403, "queue_token_not_yours", "That position token is someone else's.")
        if parts[3] != event_id:
            raise ApiError(403, "queue_token_wrong_event", "That token is for another event.")
        queue = self.queues.get(event_id)
        if queue is None:
            raise ApiError(409, "queue_not_enabled", "This event's sale has no queue.")
        if person not in queue.entries:
            raise ApiError(404, "not_found", "You are not in this queue.")
        entry = queue.entries[person]
        line = queue.line()
        drawn = queue.order is not None
        position = line.index(entry["entry_id"]) + 1 if drawn else None
        admitted = drawn and queue.enabled and position is not None
        admitted = admitted and position <= queue.admitted_through  # type: ignore[operator]
        ahead = max(0, (position or 0) - 1 - queue.admitted_through) if drawn else None
        rate = queue.max_admissions_per_minute
        expires = clock.now() + timedelta(seconds=ADMISSION_SECONDS)
        return {
            "event_id": event_id,
            "entry_id": entry["entry_id"],
            "phase": entry["phase"],
            "state": queue.state,
            "opens_at": queue.opens_at,
            "position": position,
            "people_ahead": None if admitted else ahead,
            "admitted_through": queue.admitted_through,
            "rate_per_minute": rate,
            "achieved_per_minute": float(rate),
            "estimated_wait_seconds": (ahead * 60 / rate) if ahead is not None else None,
            "admitted": bool(admitted),
            "admission_token": (
                sign("adm", person, event_id, str(int(expires.timestamp()))) if admitted else None
            ),
            "admission_expires_at": clock.iso(expires) if admitted else None,
            # As the API says (gatepass.logic.queue.poll_after): at the turn when it is near;
            # before the draw, at the longest (this fake draws only when told to).
            "poll_after_seconds": (
                30
                if not drawn and queue.enabled
                else 5
                if admitted or ahead is None
                else _poll_after(math.ceil(ahead * 60 / rate))
            ),
        }

    def check_admission(self, person: str, event_id: str, token: str | None) -> None:
        """What ``/create-ticket`` checks first while the event's queue is on."""
        queue = self.queues.get(event_id)
        if queue is None or not queue.enabled:
            return
        if not token:
            raise ApiError(
                403, "admission_required", "This sale needs an admission from its queue."
            )
        parts = _verified(token)
        if parts is None or parts[0] != "adm":
            raise ApiError(403, "admission_invalid", "That admission token is not valid.")
        if parts[1] != person:
            raise ApiError(403, "admission_not_yours", "That admission was issued to someone else.")
        if parts[2] != event_id:
            raise ApiError(403, "admission_wrong_event", "That admission is for another event.")
        if int(parts[3]) <= clock.epoch():
            raise ApiError(403, "admission_expired", "That admission has expired.")


def _poll_after(wait: int) -> int:
    """As gatepass.logic.queue.poll_after says for a drawn place: at the turn when within 5 s,
    else after half the wait (5 to 30 s)."""
    return max(1, wait) if wait <= 5 else min(30, max(5, wait // 2))
