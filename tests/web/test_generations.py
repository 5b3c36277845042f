"""Each worker's copy of the catalog's cache generation (webapp.generations), against real Redis:
no round trip between changes, every change seen by the next read, and a plain read of Redis
whenever change notices cannot be trusted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from gatepass.readmodel.cache import CATALOG_GENERATION, RedisInvalidator, event_generation
from webapp.cache import redis_client
from webapp.generations import CatalogGeneration

pytestmark = pytest.mark.web


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def projector(clean: None, cache: redis.Redis) -> RedisInvalidator:
    """What the projector uses to say the catalog changed."""
    return RedisInvalidator(cache)


@pytest.fixture
def worker(clean: None, cache_url: str, clock: Clock) -> Iterator[CatalogGeneration]:
    client = redis.Redis.from_url(cache_url)
    generation = CatalogGeneration(client, recheck_seconds=60, retry_seconds=5, clock=clock)
    yield generation
    generation.close()
    client.close()


def _gets_served(cache: redis.Redis) -> int:
    stats = cache.info("commandstats")
    return int(stats.get("cmdstat_get", {}).get("calls", 0))


def test_between_changes_reads_do_not_ask_redis(
    worker: CatalogGeneration, projector: RedisInvalidator, cache: redis.Redis
) -> None:
    # Given a catalog changed twice and a worker that has read its generation once
    projector.invalidate([CATALOG_GENERATION])
    projector.invalidate([CATALOG_GENERATION])
    first = worker.current()
    asked = _gets_served(cache)

    # When it reads the generation a hundred more times with nothing changing
    later = {worker.current() for _ in range(100)}

    # Then it knows the generation without asking Redis again
    assert worker.subscribed
    assert first == 2
    assert later == {2}
    assert _gets_served(cache) == asked


def test_a_change_is_seen_by_the_very_next_read(
    worker: CatalogGeneration, projector: RedisInvalidator
) -> None:
    # Given a worker that knows the catalog's generation
    before = worker.current()

    # When the projector changes the catalog, then only an event's page, then the catalog again
    projector.invalidate([CATALOG_GENERATION, event_generation("01hz9a1b2c3d4e5f")])
    after_catalog = worker.current()
    projector.invalidate([event_generation("01hz9a1b2c3d4e5f")])
    after_event_only = worker.current()
    projector.invalidate([CATALOG_GENERATION])
    after_again = worker.current()

    # Then each catalog change is seen by the next read, and an event's change leaves it be
    assert (before, after_catalog, after_event_only, after_again) == (0, 1, 1, 2)


def test_a_change_whose_notice_was_lost_is_seen_within_the_recheck_interval(
    worker: CatalogGeneration, cache: redis.Redis, clock: Clock
) -> None:
    # Given a worker that knows the generation
    worker.current()

    # When the generation is bumped without a notice (a projector that died in between)
    cache.incr(CATALOG_GENERATION)
    unnoticed = worker.current()
    clock.now += 59
    still = worker.current()
    clock.now += 2
    rechecked = worker.current()

    # Then the worker reads it again once its copy is older than the recheck interval
    assert (unnoticed, still, rechecked) == (0, 0, 1)


def test_a_dropped_subscription_misses_nothing(
    worker: CatalogGeneration, projector: RedisInvalidator, cache: redis.Redis
) -> None:
    # Given a worker that knows the generation
    assert worker.current() == 0

    # When Redis drops its subscription and the catalog changes while it is gone
    killed = cache.client_kill_filter(_type="pubsub")
    projector.invalidate([CATALOG_GENERATION])
    seen = worker.current()
    projector.invalidate([CATALOG_GENERATION])
    seen_later = worker.current()

    # Then the change made while it was gone is seen, and so are later ones
    assert killed >= 1
    assert (seen, seen_later) == (1, 2)


def test_without_change_notices_every_read_asks_redis(
    clean: None, cache: redis.Redis, cache_url: str, clock: Clock, projector: RedisInvalidator
) -> None:
    # Given a Redis user the web may read with but not subscribe with
    cache.acl_setuser(
        "no-notices",
        enabled=True,
        passwords=["+reader-password"],
        keys=["*"],
        commands=["+@all", "-subscribe"],
        reset_channels=True,
        channels=["*"],
    )
    client = redis.Redis.from_url(cache_url, username="no-notices", password="reader-password")
    generation = CatalogGeneration(client, recheck_seconds=60, retry_seconds=5, clock=clock)
    try:
        # When it reads the generation, the catalog changes without notice, and it reads again
        first = generation.current()
        asked = _gets_served(cache)
        cache.incr(CATALOG_GENERATION)
        second = generation.current()
        third = generation.current()
        gets = _gets_served(cache) - asked

        # Then every read asked Redis and saw the change at once
        assert not generation.subscribed
        assert (first, second, third) == (0, 1, 1)
        assert gets == 2

        # And once subscribing is allowed, it subscribes when its retry interval is over
        cache.acl_setuser("no-notices", enabled=True, commands=["+subscribe"])
        generation.current()
        unchanged = generation.subscribed
        clock.now += 6
        generation.current()
        assert not unchanged
        assert generation.subscribed
    finally:
        generation.close()
        client.close()
        cache.acl_deluser("no-notices")


def test_without_redis_a_read_fails_instead_of_guessing(clean: None, clock: Clock) -> None:
    # Given a worker whose Redis is not there
    client = redis_client("redis://127.0.0.1:9/0")
    generation = CatalogGeneration(client, clock=clock)

    # When it is asked for the generation, then it says it cannot tell (the page cache then
    # leaves the read to the app, which has its own way round a missing cache)
    with pytest.raises(redis.RedisError):
        generation.current()
    assert not generation.subscribed
