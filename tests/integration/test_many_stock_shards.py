"""More stock shards than one transaction holds (docs/decisions/0070, "Past one transaction"):
an event expecting up to 2,000 orders a second is sold from up to 100 shards. Creation writes
the shards that do not fit in the event's own transaction ahead of it, and a raise writes them
under a lease on the event's stock summary; either way the event's seats and quotas are split
exactly, and a failure leaves the event as it was."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from devstack.template import TemplateModel
from gatepass import clients, clock
from gatepass.dal import layout, stock
from tests.support import factories
from tests.support.ticketing import ORGANIZER, create_event, get_event, moment, order, post

# moto copies the whole table for each item of a transaction, and a state machine execution
# an earlier test started may still be calling DynamoDB from its thread: with transactions of
# 100 items the copy is long enough to meet it, so calls into moto take turns here.
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("atomic_moto")]

TWENTY_TYPES = [{"name": f"Block {n}", "quota": 30} for n in range(20)]


def _table() -> Any:
    return clients.dynamodb_table(factories.settings().ticketing_table)


@pytest.fixture
def transactions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of items of every TransactWriteItems made (DynamoDB takes at most 100)."""
    from botocore.client import BaseClient

    seen: list[int] = []
    original = BaseClient._make_api_call

    def counting(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if operation_name == "TransactWriteItems":
            seen.append(len(api_params["TransactItems"]))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    return seen


def _all_shard_items(event_id: str) -> list[dict[str, Any]]:
    """Every stock shard item stored for the event, whatever its summary counts."""
    found = []
    for shard in range(110):
        item = _table().get_item(Key=layout.stock_shard_key(event_id, shard)).get("Item")
        if item:
            found.append(item)
    return found


def _split_exactly(event_id: str, shards: int, capacity: int, quotas: dict[str, int]) -> None:
    stored = factories.stock_shards(event_id)
    assert len(stored) == shards
    assert sum(int(s["available"]) for s in stored) == capacity
    for type_id, quota in quotas.items():
        assert sum(int(s["types"][type_id]) for s in stored) == quota
    spread = [int(s["available"]) for s in stored]
    assert max(spread) - min(spread) <= 1


def _two_shards() -> tuple[str, str]:
    """An event of 2 seats over 2 shards, one in each, sold as one type: (event id, type id)."""
    event = create_event(
        capacity=2,
        ticket_types=[{"name": "General", "quota": 2}],
        expected_orders_per_second=40,
    )
    factories.ticket_seed()
    clients.client("s3")
    (kind,) = (t["ticket_type_id"] for t in event["ticket_types"])
    return event["event_id"], kind


def _sell_shard_zero(event_id: str, kind: str) -> None:
    """Shard 0's one seat sold (as a sale's transaction leaves it)."""
    _table().update_item(
        Key=layout.stock_shard_key(event_id, 0),
        UpdateExpression="ADD available :minus, types.#t :minus, sold :one, types_sold.#t :one",
        ExpressionAttributeNames={"#t": kind},
        ExpressionAttributeValues={":minus": -1, ":one": 1},
    )


def _not_yet_on_sale(**shape: Any) -> dict[str, Any]:
    """An event of 300 seats whose 3 types open for sale tomorrow."""
    tomorrow = moment(timedelta(days=1))
    return create_event(
        capacity=300,
        ticket_types=[
            {"name": name, "quota": 100, "opens_at": tomorrow}
            for name in ("Floor", "Balcony", "Box")
        ],
        **shape,
    )


def _raise(event_id: str, rate: int) -> Any:
    return post(
        "/set-expected-rate",
        {"event_id": event_id, "expected_orders_per_second": rate},
        user=ORGANIZER,
    )


def test_an_event_with_twenty_types_expecting_2000_orders_a_second_has_100_shards(
    aws: TemplateModel, transactions: list[int]
) -> None:
    # Given an organizer who expects 2,000 orders a second for 600 seats in 20 types (the
    # event's own items and 100 shards are 124 items: more than one transaction holds)
    # When they create the event
    event = create_event(capacity=600, ticket_types=TWENTY_TYPES, expected_orders_per_second=2000)

    # Then it was written in transactions DynamoDB takes, and its stock is in 100 shards that
    # add up to the capacity and to every quota
    assert max(transactions) <= 100
    assert sum(transactions) >= 124
    quotas = {t["ticket_type_id"]: 30 for t in event["ticket_types"]}
    _split_exactly(event["event_id"], 100, 600, quotas)
    assert factories.stock_summary(event["event_id"])["shards"] == 100
    # and the public read and a sale work as with fewer shards
    public = get_event(event["event_id"]).body
    assert (public["seats_left"], public["sold"]) == (600, 0)
    factories.ticket_seed()
    clients.client("s3")
    kind = event["ticket_types"][7]["ticket_type_id"]
    bought = order(event["event_id"], [(kind, "Ann"), (kind, "Bo")], buyer="ann@example.com")
    assert bought.status == 201, bought
    public = get_event(event["event_id"]).body
    assert (public["seats_left"], public["sold"]) == (598, 2)
    assert public["ticket_types"][7]["left"] == 28


def test_an_event_whose_own_transaction_fails_leaves_no_shard_behind(
    aws: TemplateModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DynamoDB refusing the transaction that holds the event's own items (the shards
    # written ahead of it went through)
    from gatepass.dal.events import DynamoEventStore

    original = DynamoEventStore._put_all
    written: list[str] = []

    def failing(self: DynamoEventStore, items: list[dict[str, Any]]) -> None:
        if any(item.get("entity") == "event" for item in items):
            from botocore.exceptions import ClientError

            raise ClientError(
                {"Error": {"Code": "InternalServerError", "Message": "try again"}},
                "TransactWriteItems",
            )
        written.extend(str(item["pk"]) for item in items)
        original(self, items)

    monkeypatch.setattr(DynamoEventStore, "_put_all", failing)

    # When an organizer creates an event expecting 2,000 orders a second
    answer = post(
        "/create-event",
        {
            "title": "Harbour Lights",
            "starts_at": "2099-01-01T19:00:00Z",
            "capacity": 600,
            "ticket_types": TWENTY_TYPES,
            "expected_orders_per_second": 2000,
        },
        user=ORGANIZER,
    )

    # Then they are told to try again, and the shards written ahead are gone
    assert (answer.status, answer.code) == (503, "service_unavailable"), answer
    assert written, "some shards were written ahead of the event"
    event_id = written[0].split("#")[1]
    assert _all_shard_items(event_id) == []


@pytest.mark.parametrize(("first", "old_shards"), [(None, 0), (1200, 60)])
def test_a_raise_to_100_shards_splits_the_stock_exactly(
    aws: TemplateModel, transactions: list[int], first: int | None, old_shards: int
) -> None:
    # Given an event of 300 seats in 3 types, not yet on sale, sold from its own counters or
    # from 60 shards
    event = _not_yet_on_sale(**({} if first is None else {"expected_orders_per_second": first}))
    event_id = event["event_id"]
    assert len(factories.stock_shards(event_id)) == old_shards

    # When its organizer raises the expected rate to 2,000 orders a second
    transactions.clear()
    raised = _raise(event_id, 2000)

    # Then it is sold from 100 shards holding exactly its seats and quotas, written in
    # transactions DynamoDB takes, and no lease is left
    assert raised.status == 200, raised
    assert max(transactions) <= 100
    assert raised.body["stock_shards"] == 100
    quotas = {t["ticket_type_id"]: 100 for t in event["ticket_types"]}
    _split_exactly(event_id, 100, 300, quotas)
    summary = factories.stock_summary(event_id)
    assert (summary["shards"], summary["expected_orders_per_second"]) == (100, 2000)
    assert "lease" not in summary
    public = get_event(event_id).body
    assert (public["seats_left"], public["sold"]) == (300, 0)
    assert [t["left"] for t in public["ticket_types"]] == [100, 100, 100]


def test_a_raise_from_90_shards_keeps_what_the_events_counters_hold_there(
    aws: TemplateModel,
) -> None:
    # Given an event of 300 seats in 12 types sold from 90 shards, not yet on sale, whose own
    # counters also hold a seat of every type (stock that came back outside any shard): 90
    # shards and 13 counters do not fit in one transaction with the summary
    tomorrow = moment(timedelta(days=1))
    event = create_event(
        capacity=300,
        ticket_types=[{"name": f"Row {n}", "quota": 25, "opens_at": tomorrow} for n in range(12)],
        expected_orders_per_second=1800,
    )
    event_id = event["event_id"]
    keys = [layout.seats_key(event_id)] + [
        layout.ticket_type_key(event_id, t["ticket_type_id"]) for t in event["ticket_types"]
    ]
    for key, more in zip(keys, [12] + [1] * 12, strict=True):
        _table().update_item(
            Key=key,
            UpdateExpression="ADD available :more, version :one",
            ExpressionAttributeValues={":more": more, ":one": 1},
        )

    # When its organizer raises the rate to 2,000 orders a second
    raised = _raise(event_id, 2000)

    # Then the shards' stock is split over 100 shards and the counters keep what they held
    assert raised.status == 200, raised
    quotas = {t["ticket_type_id"]: 25 for t in event["ticket_types"]}
    _split_exactly(event_id, 100, 300, quotas)
    assert [int(_table().get_item(Key=key)["Item"]["available"]) for key in keys] == [12] + [1] * 12
    public = get_event(event_id).body
    assert public["seats_left"] == 312
    assert {t["left"] for t in public["ticket_types"]} == {26}


def test_a_raise_while_another_holds_the_lease_is_refused_and_changes_nothing(
    aws: TemplateModel,
) -> None:
    # Given an event from 20 shards whose summary another split holds for the next minute
    event = _not_yet_on_sale(expected_orders_per_second=400)
    event_id = event["event_id"]
    _table().update_item(
        Key=layout.stock_summary_key(event_id),
        UpdateExpression="SET lease = :other, lease_until = :until",
        ExpressionAttributeValues={":other": "another", ":until": clock.epoch() + 60},
    )
    before = factories.stock_shards(event_id)

    # When its organizer raises the rate
    refused = _raise(event_id, 2000)

    # Then they are told to try again and the stock is as it was
    assert (refused.status, refused.code) == (409, "conflict"), refused
    assert factories.stock_shards(event_id) == before
    assert _all_shard_items(event_id) == before

    # And once that lease has run out, the raise goes through
    _table().update_item(
        Key=layout.stock_summary_key(event_id),
        UpdateExpression="SET lease_until = :past",
        ExpressionAttributeValues={":past": clock.epoch() - 1},
    )
    raised = _raise(event_id, 2000)
    assert raised.status == 200, raised
    _split_exactly(event_id, 100, 300, {t["ticket_type_id"]: 100 for t in event["ticket_types"]})


def test_a_raise_whose_last_transaction_fails_leaves_the_sale_as_it_was_and_can_be_retried(
    aws: TemplateModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an event from 20 shards, and DynamoDB cancelling the transaction that would make
    # the new shards count (after those written ahead went through)
    event = _not_yet_on_sale(expected_orders_per_second=400)
    event_id = event["event_id"]
    before = factories.stock_shards(event_id)
    original = stock.transact_once
    refused: list[int] = []

    def cancelling(client: Any, items: list[dict[str, Any]]) -> Any:
        summary = [i for i in items if i.get("Put", {}).get("Item", {}).get("sk") == layout.STOCK]
        if summary and "lease" not in summary[0]["Put"]["Item"]:
            refused.append(len(items))
            return [{"Code": "ConditionalCheckFailed"}]
        return original(client, items)

    monkeypatch.setattr(stock, "transact_once", cancelling)

    # When its organizer raises the rate to 2,000 orders a second
    answer = _raise(event_id, 2000)

    # Then they are told to try again, the event is sold from its 20 shards as before (the
    # shards written ahead count for nothing) and the lease is given up
    assert (answer.status, answer.code) == (409, "conflict"), answer
    assert refused
    assert factories.stock_shards(event_id) == before
    summary = factories.stock_summary(event_id)
    assert summary["shards"] == 20
    assert "lease" not in summary
    assert get_event(event_id).body["seats_left"] == 300

    # And when DynamoDB takes it again, the raise goes through over those shards
    monkeypatch.setattr(stock, "transact_once", original)
    raised = _raise(event_id, 2000)
    assert raised.status == 200, raised
    _split_exactly(event_id, 100, 300, {t["ticket_type_id"]: 100 for t in event["ticket_types"]})


def test_a_sale_lists_a_shard_empty_for_every_need_it_has_run_out_of_in_one_write(
    aws: TemplateModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 2 seats over 2 shards, one in each, sold as one type, and the first shard sold
    event_id, kind = _two_shards()
    _sell_shard_zero(event_id, kind)

    from botocore.client import BaseClient

    summary_writes: list[str] = []
    original = BaseClient._make_api_call

    summary_key = layout.stock_summary_key(event_id)

    def watching(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        written = [api_params.get("Key")] + [
            op.get("Key") or op.get("Item")
            for item in api_params.get("TransactItems", [])
            for op in item.values()
        ]
        if operation_name not in ("Query", "GetItem") and summary_key in written:
            summary_writes.append(operation_name)
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", watching)

    # When buyers come until one is refused (a buyer that tries the empty shard learns it)
    answers = [order(event_id, [(kind, "Guest")], buyer=f"b{n}@example.com") for n in range(2)]

    # Then one bought the last seat, the other was told it is sold out, and the summary lists
    # both shards empty for the seats and for the type, each shard in one plain write (no
    # transaction on the summary, which would hold it)
    assert sorted(a.code or "created" for a in answers) == ["created", "sold_out"], answers
    assert summary_writes == ["UpdateItem", "UpdateItem"], summary_writes
    summary = factories.stock_summary(event_id)
    assert set(summary["empty_seats"]) == {0, 1}
    assert set(summary[f"empty_type_{kind}"]) == {0, 1}


def test_a_shard_seen_empty_before_a_seat_came_back_is_not_listed_empty(
    aws: TemplateModel,
) -> None:
    # Given 2 seats over 2 shards, both sold, and shard 0 as a sale saw it then (empty)
    event_id, kind = _two_shards()
    bought = [order(event_id, [(kind, n)], buyer=f"{n}@example.com") for n in ("ann", "ben")]
    assert all(b.status == 201 for b in bought), bought
    ticket = next(
        b.body["ticket"]
        for b in bought
        if int(factories.get_item(f"TICKET#{b.body['ticket']['ticket_id']}")["stock_shard"]) == 0  # type: ignore[index]
    )
    seen_empty = _table().get_item(Key=layout.stock_shard_key(event_id, 0))["Item"]
    assert int(seen_empty["available"]) == 0

    # When its holder cancels (the seat goes back to shard 0), and only then a slow sale lists
    # shard 0 empty from what it saw
    holder = "ann@example.com" if ticket["attendee_name"] == "ann" else "ben@example.com"
    cancelled = post("/cancel-ticket", {"ticket_id": ticket["ticket_id"]}, user=holder)
    assert cancelled.status == 200, cancelled
    client = _table().meta.client
    listed = stock.mark_empty(
        client, factories.settings().ticketing_table, event_id, 0, ["*", kind], seen=seen_empty
    )

    # Then the summary refuses it: shard 0 has the seat and is not listed empty, so it sells
    assert listed is False
    summary = factories.stock_summary(event_id)
    assert 0 not in set(summary.get("empty_seats", set()))
    again = order(event_id, [(kind, "Cat")], buyer="cat@example.com")
    assert again.status == 201, again

    # And once it is sold, a sale that sees it empty lists it
    seen_again = _table().get_item(Key=layout.stock_shard_key(event_id, 0))["Item"]
    assert stock.mark_empty(
        client, factories.settings().ticketing_table, event_id, 0, ["*"], seen=seen_again
    )
    assert 0 in set(factories.stock_summary(event_id)["empty_seats"])


def test_a_shard_another_sale_listed_since_is_not_written_again(
    aws: TemplateModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 2 seats over 2 shards, shard 0 sold and listed empty by another sale after this
    # one read the event (its own view lists nothing)
    event_id, kind = _two_shards()
    _sell_shard_zero(event_id, kind)
    seen = _table().get_item(Key=layout.stock_shard_key(event_id, 0))["Item"]
    table = factories.settings().ticketing_table
    assert stock.mark_empty(_table().meta.client, table, event_id, 0, ["*", kind], seen=seen)
    writes: list[str] = []
    original = stock.mark_empty
    monkeypatch.setattr(
        stock, "mark_empty", lambda *a, **k: writes.append("mark") or original(*a, **k)
    )

    # When this sale finds shard 0 empty
    from functions.create_ticket import app as sale_function

    own_view: dict[str, set[int]] = {"*": set(), kind: set()}
    sale_function.orders._list_empty(_table().meta.client, event_id, 0, seen, own_view)

    # Then it learns the lists as they are now and writes nothing
    assert writes == []
    assert own_view == {"*": {0}, kind: {0}}
