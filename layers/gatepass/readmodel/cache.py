"""Cache generations shared by the web (which reads through them) and the projector (which bumps
them).

A cached read's key includes the current generation of what it shows; bumping the generation
makes every such entry unreachable at once (no key scans), and the entries expire on their TTL.
The catalog has one generation for all its pages and searches; each event has its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

PREFIX = "gp:"
CATALOG_GENERATION = f"{PREFIX}gen:catalog"


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
        pipe = self._redis.pipeline(transaction=False)
        for name in names:
            pipe.incr(name)
        pipe.execute()


class NoInvalidation:
    """For a projector configured without a cache."""

    def invalidate(self, generations: Iterable[str]) -> None:
        return None
