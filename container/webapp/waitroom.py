"""The waiting room's state as the site keeps it: each event's public queue (read from the API,
remembered per worker for a moment, as seat counts are) and the admission tokens of signed-in
visitors, kept server-side in Redis under their session, never in a URL or a page.

A position token (``POST /join-queue``) is what ``GET /queue-status`` asks for; an admission
token (in the status once admitted) is the API's proof that a person was let in for one event,
and the site adds it to ``POST /create-ticket`` itself. Both are stored under a digest of the
session id and the event id until they expire, so another session (another browser, or the same
browser after signing out) never carries them. If Redis loses them, joining again answers the
same place with a fresh position token, and the status a fresh admission.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis

from gatepass import clock
from webapp.api_client import ApiError

log = logging.getLogger(__name__)

TOKENS_PREFIX = "gp:queue-token:"
POSITION = "position"
ADMISSION = "admission"
# A position token is kept this long (the API's own expiry decides; the site joins again, which
# answers the same place, when the API no longer takes it).
POSITION_TTL_SECONDS = 2 * 24 * 3600
# A token this close to its end is not used: the API would meet an expired token.
TOKEN_MARGIN_SECONDS = 2


def _expires_epoch(value: Any) -> int | None:
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value:
        try:
            return int(datetime.fromisoformat(value).timestamp())
        except ValueError:
            return None
    return None


class QueueTokens:
    """A session's waiting-room tokens per event, in Redis: the position token (``position``,
    what ``GET /queue-status`` asks for) and the admission token (``admission``, what
    ``POST /create-ticket`` asks for), each until it expires."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    @staticmethod
    def _key(kind: str, session_id: str, event_id: str) -> str:
        digest = hashlib.sha256(f"{kind}\n{session_id}\n{event_id}".encode()).hexdigest()
        return f"{TOKENS_PREFIX}{kind}:{digest[:40]}"

    def keep(
        self, kind: str, session_id: str, event_id: str, token: str, expires_at: Any = None
    ) -> None:
        """Keep ``token`` until ``expires_at`` (ISO-8601 or epoch seconds; without one, for
        ``POSITION_TTL_SECONDS``)."""
        ends = _expires_epoch(expires_at) or clock.epoch() + POSITION_TTL_SECONDS
        left = ends - clock.epoch()
        if left <= 0:
            return
        value = json.dumps({"token": token, "expires_at": ends})
        try:
            self.redis.set(self._key(kind, session_id, event_id), value, ex=left)
        except redis.RedisError:
            log.warning("%s token not kept (Redis unavailable)", kind)

    def find(self, kind: str, session_id: str, event_id: str) -> tuple[str, int] | None:
        """The token and its expiry (epoch seconds), while it has time left."""
        try:
            raw = self.redis.get(self._key(kind, session_id, event_id))
        except redis.RedisError:
            log.warning("%s token not read (Redis unavailable)", kind)
            return None
        if not raw:
            return None
        try:
            found = json.loads(raw)
            token, ends = str(found["token"]), int(found["expires_at"])
        except (ValueError, KeyError, TypeError):
            return None
        if ends - clock.epoch() <= TOKEN_MARGIN_SECONDS:
            return None
        return token, ends

    def forget(self, kind: str, session_id: str, event_id: str) -> None:
        try:
            self.redis.delete(self._key(kind, session_id, event_id))
        except redis.RedisError:
            log.warning("%s token not forgotten (Redis unavailable)", kind)


class Queues:
    """Each event's public queue view (``GET /events/{id}/queue``), or None when the event has
    none; remembered per worker for ``seconds`` so a busy event page asks the API about once a
    second per worker, not once a view."""

    MAX_EVENTS = 4096

    def __init__(
        self,
        read: Callable[[str], dict[str, Any]],
        seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self.seconds = seconds
        self._clock = monotonic
        self._known: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()

    def of(self, event_id: str) -> dict[str, Any] | None:
        now = self._clock()
        with self._lock:
            known = self._known.get(event_id)
        if known is not None and known[0] > now:
            return known[1]
        try:
            found: dict[str, Any] | None = self._read(event_id)
        except ApiError as exc:
            if exc.status != 404:
                # The API cannot say: keep what was known (the sale itself still checks).
                log.warning("queue of %s unknown: %s", event_id, exc.code)
                return known[1] if known is not None else None
            found = None
        if found is not None and not is_queue(found):
            found = None
        if found is not None:
            # The event page needs the opening and state, not a page of the drawn order.
            found = {k: v for k, v in found.items() if k != "order"}
        with self._lock:
            if len(self._known) >= self.MAX_EVENTS:
                self._known.clear()
            self._known[event_id] = (now + self.seconds, found)
        return found

    def forget(self, event_id: str) -> None:
        with self._lock:
            self._known.pop(event_id, None)


def is_queue(view: dict[str, Any]) -> bool:
    """Whether a public queue view describes a queue that is on."""
    return bool(view.get("enabled")) and view.get("state") != "off"
