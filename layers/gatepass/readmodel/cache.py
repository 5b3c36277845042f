"""Cache generations shared by the web (which reads through them) and the projector (which bumps
them).

A cached read's key includes the current generation of what it shows; bumping the generation
makes every such entry unreachable at once (no key scans), and the entries expire on their TTL.
The catalog has one generation for all its pages and searches; each event has its own.

Every bump is also announced on ``CHANGES_CHANNEL`` (the names of the generations bumped,
separated by spaces), so a reader can keep a generation in memory between changes instead of
asking Redis for it on every read (``webapp.generations``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

PREFIX = "gp:"
CATALOG_GENERATION = f"{PREFIX}gen:catalog"
CHANGES_CHANNEL = f"{PREFIX}changes"


def event_generation(event_id: str) -> str:
    return f"{PREFIX}gen:event:{event_id}"


class Invalidator(Protocol):
    def invalidate(self, generations: Iterable[str]) -> None: ...


class RedisInvalidator:
    def __init__(self, redis: Any) -> None:
        self._redis = redis

    def invalidate(self, generations: Iterable[str]) -> None:
        names = sorted(set(generations))
        if not names:
            return
        # In this order: a reader told of a change must find the bumped value when it asks.
        pipe = self._redis.pipeline(transaction=False)
        for name in names:
            pipe.incr(name)
        pipe.publish(CHANGES_CHANNEL, " ".join(names))
        pipe.execute()
        # Redis writes every reply of a batch of commands before it reads the next one, so once
        # this answers, the notice is on its way to every subscriber (already in their socket
        # buffers on the same host) and a read that starts now is not served the old generation.
        self._redis.ping()


class NoInvalidation:
    """For a projector configured without a cache."""

    def invalidate(self, generations: Iterable[str]) -> None:
        return None
