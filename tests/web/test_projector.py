"""The projector function against real PostgreSQL and Redis, driven by the recorded stream
events in events/: replays change nothing, older changes never overwrite newer ones, deletes are
applied, and a poisoned record is reported alone."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, text

from tests.conftest import load_event

pytestmark = pytest.mark.web

EVENT_ID = "m5qxizlqmfzxgmbr"
TICKET_ID = "oruwg23foqydambr"
TYPE_ID = "ovzgk4tfmzrxizlt"
ORDER_ID = "n5zgizlsnfxgcmbr"


def _snapshot(db_engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with db_engine.connect() as conn:
        return {
            "events": conn.execute(
                text(
                    "SELECT e.event_id, e.title, s.sold, s.checked_in, e.image_status, e.version,"
                    " e.deleted FROM events e LEFT JOIN event_seats s USING (event_id) ORDER BY 1"
                )
            ).all(),
            "tickets": conn.execute(
                text(
                    "SELECT ticket_id, holder, status, checked_in_at, version, deleted"
                    " FROM tickets ORDER BY 1"
                )
            ).all(),
            "types": conn.execute(
                text(
                    "SELECT ticket_type_id, name, quota, sold, available, checked_in, version"
                    " FROM ticket_types ORDER BY 1"
                )
            ).all(),
            "orders": conn.execute(
                text("SELECT order_id, buyer, status, ticket_count, version FROM orders")
            ).all(),
            "activities": conn.execute(
                text("SELECT activity_id, type, actor, deleted FROM activities ORDER BY 1")
            ).all(),
            "activity_daily": conn.execute(
                text("SELECT event_id, day, type, count FROM activity_daily ORDER BY 1, 2, 3")
            ).all(),
        }


def _records(name: str, *indexes: int) -> dict[str, Any]:
    event = load_event(name)
    return {"Records": [copy.deepcopy(event["Records"][i]) for i in indexes]}


def test_projects_the_recorded_ticketing_stream(
    projector: Any, lambda_context: Any, db_engine: Engine
) -> None:
    # Given the recorded TicketingTable stream: event created with its seats and one type,
    # image ready, an order of one ticket sold, the ticket checked in
    event = load_event("projector-ticketing.json")

    # When the projector handles it
    answer = projector.lambda_handler(event, lambda_context)

    # Then every record succeeded and the read model holds the latest state of each item
    assert answer == {"batchItemFailures": []}
    state = _snapshot(db_engine)
    assert state["events"] == [(EVENT_ID, "Harbour Lights Jazz Night", 1, 1, "ready", 2, False)]
    assert state["types"] == [(TYPE_ID, "General admission", 120, 1, 119, 1, 3)]
    assert state["orders"] == [(ORDER_ID, "alice@example.com", "confirmed", 1, 1)]
    ((ticket_id, holder, status, checked_in_at, version, deleted),) = state["tickets"]
    assert (ticket_id, holder, status, version, deleted) == (
        TICKET_ID,
        "alice@example.com",
        "checked_in",
        2,
        False,
    )
    assert checked_in_at.isoformat() == "2027-03-14T17:45:12+00:00"


def test_replaying_the_same_batch_twice_changes_nothing(
    projector: Any, lambda_context: Any, db_engine: Engine
) -> None:
    # Given both recorded streams have been projected
    for name in ("projector-ticketing.json", "projector-activity.json"):
        projector.lambda_handler(load_event(name), lambda_context)
    before = _snapshot(db_engine)

    # When the same batches are delivered again (Lambda retries, stream replays)
    for name in ("projector-ticketing.json", "projector-activity.json"):
        answer = projector.lambda_handler(load_event(name), lambda_context)
        assert answer == {"batchItemFailures": []}

    # Then the read model is exactly as it was: nothing moved, nothing counted twice
    assert _snapshot(db_engine) == before
    assert [(r[2], r[3]) for r in before["activity_daily"]] == [("search", 1), ("event_view", 1)]


def test_an_older_change_after_a_newer_one_changes_nothing(
    projector: Any, lambda_context: Any, db_engine: Engine
) -> None:
    # Given the latest versions (seats and type 3: sold 1, checked in 1) have been projected
    projector.lambda_handler(load_event("projector-ticketing.json"), lambda_context)
    latest = _snapshot(db_engine)

    # When older changes arrive late: the event's image (v2) and creation (v1), its seats and
    # type as created and as sold, the ticket's issue
    late = _records("projector-ticketing.json", 1, 0, 2, 3, 6, 7, 4)
    answer = projector.lambda_handler(late, lambda_context)

    # Then they are accepted (not failures) and change nothing
    assert answer == {"batchItemFailures": []}
    assert _snapshot(db_engine) == latest


def test_a_removed_event_disappears_and_a_late_replay_does_not_bring_it_back(
    projector: Any, lambda_context: Any, db_engine: Engine
) -> None:
    # Given a projected event
    projector.lambda_handler(load_event("projector-ticketing.json"), lambda_context)
    removal = _records("projector-ticketing.json", 1)
    record = removal["Records"][0]
    record["eventName"] = "REMOVE"
    record["dynamodb"]["SequenceNumber"] = "100000000000000000099"
    del record["dynamodb"]["NewImage"]
    record["dynamodb"]["OldImage"] = load_event("projector-ticketing.json")["Records"][1][
        "dynamodb"
    ]["NewImage"]

    # When the event is removed, and then its creation is replayed
    removed = projector.lambda_handler(removal, lambda_context)
    replayed = projector.lambda_handler(_records("projector-ticketing.json", 0), lambda_context)

    # Then it is a tombstone, newer than anything before it
    assert removed == replayed == {"batchItemFailures": []}
    assert _snapshot(db_engine)["events"] == [
        (EVENT_ID, "Harbour Lights Jazz Night", 1, 1, "ready", 3, True)
    ]


def test_a_poisoned_record_is_reported_alone(
    projector: Any, lambda_context: Any, db_engine: Engine
) -> None:
    # Given a batch whose middle record is malformed (a start time nobody can parse)
    batch = _records("projector-ticketing.json", 0, 1, 4)
    poisoned = batch["Records"][1]
    poisoned["dynamodb"]["NewImage"]["starts_at"] = {"S": "next tuesday-ish"}

    # When the projector handles it
    answer = projector.lambda_handler(batch, lambda_context)

    # Then only that record is reported failed (so the stream retries and bisects just it)
    assert answer == {
        "batchItemFailures": [{"itemIdentifier": poisoned["dynamodb"]["SequenceNumber"]}]
    }
    # And the others were applied
    state = _snapshot(db_engine)
    assert [(e[0], e[5]) for e in state["events"]] == [(EVENT_ID, 1)]
    assert [t[0] for t in state["tickets"]] == [TICKET_ID]


def test_activity_is_counted_once_and_expiry_keeps_the_counts(
    projector: Any, lambda_context: Any, db_engine: Engine
) -> None:
    # Given the recorded ActivityTable stream: two new records and one expired by TTL
    event = load_event("projector-activity.json")

    # When it is projected
    answer = projector.lambda_handler(event, lambda_context)

    # Then each new record is counted on its day, and the expired one keeps no personal data
    assert answer == {"batchItemFailures": []}
    state = _snapshot(db_engine)
    assert [(str(r[1]), r[2], r[3]) for r in state["activity_daily"]] == [
        ("2026-11-22", "search", 1),
        ("2026-11-22", "event_view", 1),
    ]
    assert ("01hz9a1b2c3d4e5f", "event_view", None, True) in state["activities"]
    assert ("01jd0a1b2c3d4e5f", "event_view", "alice@example.com", False) in state["activities"]


def test_projecting_an_event_invalidates_the_web_cache(
    projector: Any, lambda_context: Any, cache: redis.Redis
) -> None:
    # Given a web worker listening for change notices
    listener = cache.pubsub()
    listener.subscribe("gp:changes")
    assert (listener.get_message(timeout=2.0) or {}).get("type") == "subscribe"

    # When an event change is projected
    projector.lambda_handler(_records("projector-ticketing.json", 0), lambda_context)

    # Then the catalog's and the event's cache generations move on, and the worker is told
    # which, by the time the projector is done
    notice = listener.get_message(timeout=0.0)
    listener.close()
    assert int(cache.get("gp:gen:catalog") or 0) == 1
    assert int(cache.get(f"gp:gen:event:{EVENT_ID}") or 0) == 1
    assert notice is not None
    assert sorted(notice["data"].decode().split()) == ["gp:gen:catalog", f"gp:gen:event:{EVENT_ID}"]
