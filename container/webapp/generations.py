"""The catalog's cache generation, known in each worker between changes instead of asked of Redis
on every read.

The projector bumps a generation and then announces it on ``CHANGES_CHANNEL``
(``gatepass.readmodel.cache.RedisInvalidator``). A worker subscribes once, reads the generation
once, and from then on only looks, without waiting, at whether a notice has arrived on its
subscription: a read between changes costs a few microseconds instead of a round trip to Redis.
A notice that names the catalog makes the next read ask Redis again, so a change is seen by every
read that starts after the notice reaches the worker, which is by the time the projector's
invalidation has returned on the same host and one network hop later elsewhere.

Two things could hide a change: the projector losing its connection between the bump and the
notice, and a subscription that dies without a word (a half-open connection). So a known
generation is trusted for ``recheck_seconds`` at most and then read again. Without a working
subscription (Redis unreachable, or refusing SUBSCRIBE) every read asks Redis, as if there were no
subscription at all, and subscribing is tried again after ``retry_seconds``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from gatepass.readmodel.cache import CATALOG_GENERATION, CHANGES_CHANNEL

log = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT_SECONDS = 1.0


class CatalogGeneration:
    def __init__(
        self,
        client: redis.Redis,
        *,
        recheck_seconds: float = 1.0,
        retry_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = client
        self.recheck = recheck_seconds
        self.retry = retry_seconds
        self.clock = clock
        # Request threads share one subscription, which redis-py does not make thread-safe.
        self._lock = threading.Lock()
        self._pubsub: Any = None
        self._retry_at = 0.0
        self._known: int | None = None
        self._known_until = 0.0

    @property
    def subscribed(self) -> bool:
        return self._pubsub is not None

    def current(self) -> int:
        """The catalog's generation now. Raises ``redis.RedisError`` if Redis cannot tell."""
        with self._lock:
            now = self.clock()
            self._take_notices(now)
            if self._known is not None and now < self._known_until:
                return self._known
            value = int(self.redis.get(CATALOG_GENERATION) or 0)
            if self._pubsub is not None:
                # Every notice that arrived before this GET was taken above; any later change
                # sends a notice that the next read takes before it trusts this value.
                self._known, self._known_until = value, now + self.recheck
            return value

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _take_notices(self, now: float) -> None:
        if self._pubsub is None:
            if now >= self._retry_at:
                self._subscribe(now)
            return
        try:
            while (message := self._pubsub.get_message(timeout=0.0)) is not None:
                kind = message.get("type")
                if kind == "subscribe":
                    # redis-py reconnected and subscribed again: notices may have been missed.
                    self._known = None
                if kind != "message":
                    continue
                data = message.get("data") or b""
                if isinstance(data, bytes):
                    data = data.decode("utf-8", "replace")
                if CATALOG_GENERATION in data.split():
                    self._known = None
        except (redis.RedisError, OSError):
            log.warning("catalog change notices lost; asking Redis on every read", exc_info=True)
            self._drop()
            self._retry_at = now + self.retry

    def _subscribe(self, now: float) -> None:
        pubsub = self.redis.pubsub()
        try:
            pubsub.subscribe(CHANGES_CHANNEL)
            # Only once Redis confirms is every later change sure to be announced to us.
            confirmed = pubsub.get_message(timeout=SUBSCRIBE_TIMEOUT_SECONDS)
            if not confirmed or confirmed.get("type") != "subscribe":
                raise redis.RedisError(f"no confirmation of SUBSCRIBE {CHANGES_CHANNEL}")
        except (redis.RedisError, OSError):
            log.warning("cannot subscribe to catalog change notices", exc_info=True)
            _close(pubsub)
            self._retry_at = now + self.retry
            return
        self._pubsub = pubsub
        self._known = None

    def _drop(self) -> None:
        if self._pubsub is not None:
            _close(self._pubsub)
        self._pubsub = None
        self._known = None


def _close(pubsub: Any) -> None:
    try:
        pubsub.close()
    except (redis.RedisError, OSError):
        log.debug("closing a broken subscription", exc_info=True)
