"""The waiting list in the read model: the projector, fed the TicketingTable stream from moto
(twice: a replay), keeps entries, offers and the types' line counters equal to the table, and
the web's reads answer each type's waiting count and a person's places in order."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text

from devstack.template import TemplateModel
from gatepass import clients
from gatepass.readmodel.waitlist import places, waiting_by_type
from tests.support import factories
from tests.support.stream import StreamDelivery
from tests.support.ticketing import create_event, order, post
from tests.support.waitlist import offers_mailed_to

pytestmark = pytest.mark.web


def _stored(entity: str, event_id: str) -> list[dict[str, Any]]:
    table = clients.dynamodb_table(factories.settings().ticketing_table)
    items = table.scan(ConsistentRead=True)["Items"]
    return [i for i in items if i.get("entity") == entity and i.get("event_id") == event_id]


def test_entries_offers_and_lines_are_projected_replay_safe_and_read_in_order(
    aws: TemplateModel, projector: Any, db_engine: Engine
) -> None:
    # Given Floor is sold out, three people wait, one seat is freed and offered to the first,
    # who declines, so it passes to the second, who claims it; the third still waits
    event = create_event(capacity=2, ticket_types=[{"name": "Floor", "quota": 1}])
    event_id = event["event_id"]
    floor = event["ticket_types"][0]["ticket_type_id"]
    held = order(event_id, [(floor, "Alice")], buyer="alice@example.com").body["ticket"]
    people = ["ann@example.com", "ben@example.com", "cleo@example.com"]
    for person in people:
        joined = post(
            "/join-waitlist", {"event_id": event_id, "ticket_type_id": floor}, user=person
        )
        assert joined.status == 201, joined
    post("/cancel-ticket", {"ticket_id": held["ticket_id"]}, user="alice@example.com")
    matcher = StreamDelivery(aws)
    matcher.deliver()
    (anns,) = offers_mailed_to(people[0])
    assert post("/decline-offer", {"offer_id": anns}, user=people[0]).status == 200
    matcher.deliver()
    (bens,) = offers_mailed_to(people[1])
    assert post("/claim-offer", {"offer_id": bens}, user=people[1]).status == 201
    matcher.deliver()

    # When the projector gets the whole stream, and then all of it again
    projection = StreamDelivery(aws, "ProjectorFunction")
    projection.deliver()
    projection.replay()

    # Then the read model holds what the table holds: entries, offers and the line's counters
    assert projection.failures == []
    with db_engine.connect() as conn:
        entries = conn.execute(
            text("SELECT entry_id, person, status, offer_id FROM waitlist_entries")
        ).all()
        offers = conn.execute(
            text("SELECT offer_id, person, status, order_id FROM waitlist_offers")
        ).all()
        kind = conn.execute(
            text("SELECT sold, held, available, queue, unassigned FROM ticket_types")
        ).one()
        counts = waiting_by_type(conn, event_id)
        cleos = places(conn, people[2])
        bens_places = places(conn, people[1])
    assert sorted(map(tuple, entries)) == sorted(
        (str(e["entry_id"]), str(e["person"]), str(e["status"]), e.get("offer_id"))
        for e in _stored("waitlist_entry", event_id)
    )
    assert sorted(map(tuple, offers)) == sorted(
        (str(o["offer_id"]), str(o["person"]), str(o["status"]), o.get("order_id"))
        for o in _stored("offer", event_id)
    )
    (stored_kind,) = _stored("ticket_type", event_id)
    assert tuple(kind) == tuple(
        int(stored_kind.get(name, 0))
        for name in ("sold", "held", "available", "queue", "unassigned")
    )
    assert {str(e.status) for e in entries} == {"declined", "claimed", "waiting"}
    # and the web's reads: one person waiting for Floor, Cleo first in line, Ben in none
    assert counts == {floor: 1}
    assert [(p["ticket_type_id"], p["status"], p["position"]) for p in cleos] == [
        (floor, "waiting", 1)
    ]
    assert bens_places == []
