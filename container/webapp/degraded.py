"""Serving when a store is down: PostgreSQL errors recognised in one place, and the last good copy
of what the site last read from it.

The read model is a projection of DynamoDB, so while PostgreSQL is away the public reads can come
from the API (``GET /events``), and what a visitor last saw can be shown again, with a notice.
Copies are kept in Redis (shared by every worker, for a day) and in the worker's memory (for
when Redis is away too). They hold exactly what the read model answered: nothing more personal
than the cache already holds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from typing import Any

import redis
from flask import g, has_request_context
from sqlalchemy import exc as sa_exc

from gatepass import clock
from gatepass.readmodel.cache import PREFIX

log = logging.getLogger(__name__)

# The database cannot be reached or stopped answering (refused, reset, timed out, pool
# exhausted). Programming errors are not among them: those should still fail loudly.
DATABASE_DOWN: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
)

# On every answer served without the read model; the page cache never keeps such an answer.
DEGRADED_HEADER = "X-Gatepass-Degraded"
LAST_COPY_TTL_SECONDS = 86_400
LOCAL_COPIES = 256


class DatabaseUnavailable(Exception):
    """A page needs the read model and nothing can stand in for it."""


def mark_degraded(source: str) -> None:
    """Note that this request's answer did not come from the read model (``api`` or
    ``last-copy``); ``create_app`` turns it into the DEGRADED_HEADER."""
    if has_request_context():
        g.gatepass_degraded = source


def private_name(*parts: str) -> str:
    """A copy's name for personal data: the address never appears in a key."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


class LastGoodCopies:
    def __init__(
        self,
        client: redis.Redis,
        ttl_seconds: int = LAST_COPY_TTL_SECONDS,
        size: int = LOCAL_COPIES,
    ) -> None:
        self.redis = client
        self.ttl = ttl_seconds
        self.size = size
        self._local: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, name: str, value: Any) -> None:
        copy = json.dumps({"saved_at": clock.iso(clock.now()), "value": value})
        with self._lock:
            self._local[name] = copy
            self._local.move_to_end(name)
            while len(self._local) > self.size:
                self._local.popitem(last=False)
        try:
            self.redis.set(self._key(name), copy, ex=self.ttl)
        except redis.RedisError:
            log.info("last good copy kept in this worker only: the cache is unavailable")

    def recall(self, name: str) -> tuple[Any, str] | None:
        """The copy and when it was saved, or None."""
        copy: str | bytes | None = None
        try:
            copy = self.redis.get(self._key(name))
        except redis.RedisError:
            copy = None
        if copy is None:
            with self._lock:
                copy = self._local.get(name)
        if copy is None:
            return None
        found = json.loads(copy)
        return found["value"], str(found["saved_at"])

    @staticmethod
    def _key(name: str) -> str:
        return f"{PREFIX}last:{name}"
