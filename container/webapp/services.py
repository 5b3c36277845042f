"""What the views use, built once per app by ``create_app`` and found through ``services()``.

Reads degrade instead of failing while PostgreSQL is down (``webapp.degraded``): the catalog and
event pages are read from the API's public reads, else from the last good copy, and say so with a
notice; a visitor's ticket list comes from its last good copy.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app

from gatepass.models.events import public_event
from gatepass.models.records import EventRecord
from gatepass.tokens import VerifyingKey
from webapp.api_client import ApiClient, ApiError
from webapp.cache import ReadCache
from webapp.degraded import (
    DATABASE_DOWN,
    DatabaseUnavailable,
    LastGoodCopies,
    mark_degraded,
    private_name,
)
from webapp.media import MediaUrls
from webapp.readmodel import SEAT_COUNTS, TYPE_COUNTS, ReadModel
from webapp.waitroom import Queues, QueueTokens

log = logging.getLogger(__name__)

FROM_API = (
    "Some of the site is unavailable right now: this is read directly from the ticketing service."
)
SEARCH_FROM_API = (
    "Search is limited right now: these are upcoming events whose title, venue or description "
    "contains your words."
)
# API pages walked to reach a page number, at most (the API pages by cursor, not by number).
MAX_API_PAGES = 10


def _as_of(saved_at: str) -> str:
    return (
        "Some of the site is unavailable right now: this is how it looked at "
        f"{datetime.fromisoformat(saved_at).strftime('%H:%M UTC')}, and may be out of date."
    )


class Availability:
    """Seat counts per event, read from the read model at most once every ``seconds`` per
    worker and apart from the cached pages, whose generations sales no longer move (ADR 0071):
    a rush of sales costs one small query a second per worker instead of every page's cache."""

    MAX_EVENTS = 4096

    def __init__(
        self,
        read: Callable[[list[str]], dict[str, dict[str, Any]]],
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self.seconds = seconds
        self._clock = clock
        self._known: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()

    def of(self, event_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        now = self._clock()
        with self._lock:
            stale = [e for e in event_ids if e not in self._known or self._known[e][0] <= now]
        if stale:
            fresh = self._read(stale)
            with self._lock:
                if len(self._known) + len(stale) > self.MAX_EVENTS:
                    self._known.clear()
                for event_id in stale:
                    self._known[event_id] = (now + self.seconds, fresh.get(event_id))
        with self._lock:
            known = {e: self._known[e][1] for e in event_ids if e in self._known}
        return {e: counts for e, counts in known.items() if counts is not None}


def with_counts(row: dict[str, Any], counts: dict[str, Any] | None) -> dict[str, Any]:
    """An event's row (from a cache) with the seat and type counts read just now."""
    if counts is None:
        return row
    current = {**row, **{name: counts[name] for name in SEAT_COUNTS}}
    if "ticket_types" in row:
        types = counts["types"]
        current["ticket_types"] = [
            {**kind, **{name: types[kind["ticket_type_id"]][name] for name in TYPE_COUNTS}}
            if kind.get("ticket_type_id") in types
            else kind
            for kind in row["ticket_types"]
        ]
    return current


@dataclass(frozen=True)
class EventRead:
    """An event's public view, its organizer when known, and a notice when degraded."""

    event: dict[str, Any]
    organizer: str | None
    notice: str | None = None
    row: dict[str, Any] | None = field(default=None, repr=False)


@dataclass
class Services:
    read_model: ReadModel
    cache: ReadCache
    api: ApiClient
    media: MediaUrls
    session_key: Callable[[], VerifyingKey]
    copies: LastGoodCopies | None = None
    availability: Availability | None = None
    queues: Queues | None = None
    queue_tokens: QueueTokens | None = None

    def queue_of(self, event_id: str) -> dict[str, Any] | None:
        """The event's waiting room as the public sees it, or None if its sale has none."""
        return self.queues.of(event_id) if self.queues is not None else None

    def public_event(self, row: dict[str, Any]) -> dict[str, Any]:
        """An event as the API shows it (``gatepass.models.events.public_event``), with
        pre-signed image URLs."""
        return public_event(EventRecord.of(row), self.media.url).model_dump()

    def catalog(self, query: str | None, page: int, per_page: int) -> dict[str, Any]:
        """A page of the catalog; with ``notice`` set (and ``total`` possibly None) if it could
        not come from the read model."""
        name = "catalog:" + private_name(query or "", str(page), str(per_page))

        def load() -> dict[str, Any]:
            found = self.read_model.catalog(query, page, per_page)
            self._remember(name, found)
            return found

        try:
            found = self.cache.catalog(query, page, per_page, load)
        except DATABASE_DOWN:
            log.warning("read model unavailable: catalog from the API", exc_info=True)
            return self._catalog_without_database(name, query, page, per_page)
        rows = self._current(found["events"])
        return {**found, "events": [self.public_event(row) for row in rows]}

    def _current(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Cached rows with their counts as they are now (or as cached, if the read model
        cannot say)."""
        if self.availability is None or not rows:
            return rows
        try:
            counts = self.availability.of([str(row["event_id"]) for row in rows])
        except DATABASE_DOWN:
            log.warning("read model unavailable: counts as cached", exc_info=True)
            return rows
        return [with_counts(row, counts.get(str(row["event_id"]))) for row in rows]

    def event_row(self, event_id: str) -> dict[str, Any] | None:
        row = self.cache.event(event_id, lambda: self.read_model.event(event_id))
        return self._current([row])[0] if row is not None else None

    def event_read(self, event_id: str) -> EventRead | None:
        """An event for its page, or None if there is no such event."""
        name = f"event:{event_id}"

        def load() -> dict[str, Any] | None:
            row = self.read_model.event(event_id)
            if row is not None:
                self._remember(name, row)
            return row

        try:
            row = self.cache.event(event_id, load)
        except DATABASE_DOWN:
            log.warning("read model unavailable: event from the API", exc_info=True)
            return self._event_without_database(name, event_id)
        if row is None:
            return None
        row = self._current([row])[0]
        return EventRead(self.public_event(row), row.get("organizer"), row=row)

    def ticket_for(self, holder: str, event_id: str) -> dict[str, Any] | None:
        """The viewer's ticket for an event; None also when the read model is away (the event
        page then offers the ticket, and the API answers that they already hold one)."""
        try:
            return self.read_model.ticket_for(holder, event_id)
        except DATABASE_DOWN:
            log.warning("read model unavailable: ticket not looked up", exc_info=True)
            return None

    def tickets_of(self, holder: str) -> tuple[list[dict[str, Any]], str | None]:
        """The holder's tickets, and a notice if they are the last good copy (without the
        typed codes: the QR images still come from the API)."""
        name = "tickets:" + private_name(holder)
        try:
            found = self.read_model.tickets_of(holder)
        except DATABASE_DOWN:
            log.warning("read model unavailable: tickets from the last copy", exc_info=True)
            copy = self.copies.recall(name) if self.copies else None
            mark_degraded("last-copy")
            if copy is None:
                return [], (
                    "Your tickets cannot be listed right now. Your tickets are safe: "
                    "try again in a few minutes."
                )
            tickets, saved_at = copy
            return list(tickets), _as_of(saved_at)
        self._remember(name, [{k: v for k, v in t.items() if k != "code"} for t in found])
        return found, None

    # ------------------------------------------------------------ without the read model

    def _remember(self, name: str, value: Any) -> None:
        if self.copies is not None:
            self.copies.remember(name, value)

    def _catalog_without_database(
        self, name: str, query: str | None, page: int, per_page: int
    ) -> dict[str, Any]:
        try:
            events, more = self._api_page(query, page, per_page)
        except ApiError as exc:
            log.warning("API public reads unavailable too: %s", exc.code)
        else:
            mark_degraded("api")
            return {
                "events": events,
                "page": page,
                "per_page": per_page,
                "total": None,
                "pages": page + 1 if more else page,
                "notice": SEARCH_FROM_API if query else FROM_API,
            }
        copy = self.copies.recall(name) if self.copies else None
        if copy is None:
            raise DatabaseUnavailable("The catalog is unavailable right now.")
        found, saved_at = copy
        mark_degraded("last-copy")
        return {
            **found,
            "events": [self.public_event(row) for row in found["events"]],
            "notice": _as_of(saved_at),
        }

    def _api_page(
        self, query: str | None, page: int, per_page: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """Page ``page`` of upcoming events as the API lists them, and whether more follow.
        With a query, only events whose text contains every word of it."""
        words = [w.casefold() for w in (query or "").split()]
        matched: list[dict[str, Any]] = []
        cursor: str | None = None
        wanted = page * per_page
        for _ in range(MAX_API_PAGES):
            answer = self.api.list_events(limit=max(per_page, 25), cursor=cursor)
            for event in answer["events"]:
                text = " ".join(
                    str(event.get(k) or "") for k in ("title", "venue", "description")
                ).casefold()
                if all(w in text for w in words):
                    matched.append(event)
            cursor = answer.get("next_cursor")
            if not cursor or len(matched) > wanted:
                break
        start = (page - 1) * per_page
        return matched[start : start + per_page], len(matched) > wanted or bool(cursor)

    def _event_without_database(self, name: str, event_id: str) -> EventRead | None:
        try:
            event = self.api.get_event(event_id)
        except ApiError as exc:
            if exc.status == 404:
                return None
            log.warning("API public reads unavailable too: %s", exc.code)
        else:
            mark_degraded("api")
            return EventRead(event, None, FROM_API)
        copy = self.copies.recall(name) if self.copies else None
        if copy is None:
            raise DatabaseUnavailable("This event cannot be shown right now.")
        row, saved_at = copy
        mark_degraded("last-copy")
        return EventRead(self.public_event(row), row.get("organizer"), _as_of(saved_at), row=row)


def services() -> Services:
    found: Services = current_app.extensions["gatepass"]
    return found
