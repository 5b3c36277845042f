"""Cache-aside for catalog and event reads, in Redis.

Entries are keyed by the generation of what they show (``gatepass.readmodel.cache``); the
projector bumps the generation when it changes an event, so the next read misses and reloads.
TTLs bound staleness if an invalidation is ever lost. If Redis is unreachable, reads go
straight to PostgreSQL: the cache speeds the site up, it never takes it down.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

import redis

from gatepass.readmodel.cache import CATALOG_GENERATION, PREFIX, event_generation

log = logging.getLogger(__name__)
# KEYS[1] the generation, ARGV[1] the entry's key without it: {generation, entry or false}.
# The entry's key is built in the script, as the generation it embeds is only known there.
LOOKUP = """
local generation = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
return {generation, redis.call('GET', ARGV[1] .. generation)}
"""


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=1.0, socket_connect_timeout=1.0, health_check_interval=30
    )


class ReadCache:
    def __init__(self, client: redis.Redis, ttl_seconds: int) -> None:
        self.redis = client
        self.ttl = ttl_seconds
        # The generation and the entry it names in one round trip instead of two: a hit is
        # then one request to Redis.
        self._lookup = client.register_script(LOOKUP)

    def catalog(
        self, query: str | None, page: int, per_page: int, load: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        digest = hashlib.sha256(json.dumps([query or "", page, per_page]).encode()).hexdigest()
        value = self._through(CATALOG_GENERATION, f"catalog:{digest[:32]}", load)
        assert value is not None
        return value

    def event(
        self, event_id: str, load: Callable[[], dict[str, Any] | None]
    ) -> dict[str, Any] | None:
        return self._through(event_generation(event_id), f"event:{event_id}", load)

    def _through(
        self, generation: str, name: str, load: Callable[[], dict[str, Any] | None]
    ) -> dict[str, Any] | None:
        try:
            current, cached = self._lookup(keys=[generation], args=[f"{PREFIX}cache:{name}:"])
            key = f"{PREFIX}cache:{name}:{int(current)}"
        except redis.RedisError:
            log.warning("cache unavailable, reading the database", exc_info=True)
            return load()
        if cached is not None:
            found: dict[str, Any] = json.loads(cached)
            return found
        value = load()
        if value is not None:
            try:
                self.redis.set(key, json.dumps(value), ex=self.ttl)
            except redis.RedisError:
                log.warning("cache write failed", exc_info=True)
        return value

    def ping(self) -> None:
        self.redis.ping()
