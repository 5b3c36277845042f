"""The waiting list in the TicketingTable: lines, their guards, offers, and the transactions
that move seats between sale, the line and the person offered (docs/decisions/0051).

Every rule is a condition of the transaction that changes it: a type's ``queue`` counts people
waiting who have no seat set aside yet, ``unassigned`` the seats set aside for the line and not
yet offered, ``held`` (on the type and the event's seats) the seats set aside or offered. So
people waiting = ``queue`` + ``unassigned``, and every writer keeps it so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from boto3.dynamodb.conditions import Attr
from boto3.dynamodb.conditions import Key as KeyCondition
from botocore.exceptions import ClientError

from gatepass import clients
from gatepass.dal import layout, stock
from gatepass.dal.orders import buyer_update, new_order_items
from gatepass.dal.storage import condition_failed, plain_item
from gatepass.dal.tickets import TicketRecord
from gatepass.dal.transactions import transact
from gatepass.models.records import OrderRecord, SeatsRecord, TicketTypeRecord
from gatepass.models.waitlist import EntryRecord, OfferRecord


class JoinRefused(Exception):
    """Joining was refused: ``entry`` is the caller's live entry when they already wait,
    ``seats``/``kind`` the items as they were when they were the reason."""

    def __init__(self) -> None:
        super().__init__("join refused")
        self.entry_sk: str | None = None
        self.seats: SeatsRecord | None = None
        self.seats_refused = False
        self.kind: TicketTypeRecord | None = None
        self.type_refused = False


class LineMoved(Exception):
    """A condition on the line or its counters no longer held: read again and retry."""


class OfferRefused(Exception):
    """A claim or decline was refused: each field is what a refused item was."""

    def __init__(self) -> None:
        super().__init__("offer refused")
        self.offer: OfferRecord | None = None
        self.seats: SeatsRecord | None = None
        self.seats_refused = False
        self.buyer_refused = False
        self.buyer_tickets = 0


@dataclass(frozen=True)
class SoldOutBy:
    """Which counter has nothing left to sell, as read when joining: the join is conditional
    on it still having nothing (``available <= 0``) and, with stock shards, on the summary
    still listing every shard empty for it (``need``: the seats or the type;
    docs/decisions/0070)."""

    counter: Literal["type", "seats"]
    shards: int = 1
    need: str = ""
    known_empty: frozenset[int] = frozenset()


class WaitlistStore(Protocol):
    def live_entry(self, event_id: str, ticket_type_id: str, person: str) -> EntryRecord | None: ...

    def position(self, entry: EntryRecord) -> int: ...

    def person_entries(self, person: str) -> list[EntryRecord]: ...

    def join(self, entry: EntryRecord, *, sold_out_by: SoldOutBy, now: str) -> None: ...

    def leave(self, entry: EntryRecord, kind: TicketTypeRecord, *, now: str) -> None: ...

    def ticket_type(self, event_id: str, ticket_type_id: str) -> TicketTypeRecord | None: ...

    def head_of_line(self, event_id: str, ticket_type_id: str) -> EntryRecord | None: ...

    def offer_seat(
        self, entry: EntryRecord, offer: OfferRecord, *, now: str
    ) -> Literal["offered", "moved", "closed"]: ...

    def get_offer(self, offer_id: str) -> OfferRecord | None: ...

    def settle_offer(self, offer: OfferRecord, kind: TicketTypeRecord, *, now: str) -> bool: ...

    def claim(
        self,
        offer: OfferRecord,
        order: OrderRecord,
        tickets: list[TicketRecord],
        *,
        max_per_buyer: int,
        now: str,
    ) -> None: ...

    def decline(self, offer: OfferRecord, *, person: str, now: str) -> None: ...

    def live_entries(self, event_id: str, ticket_type_id: str) -> list[EntryRecord]: ...

    def close_entry(self, entry: EntryRecord, *, now: str) -> bool: ...

    def close_line(self, event_id: str, ticket_type_id: str) -> None: ...


def entry_item(entry: EntryRecord) -> dict[str, Any]:
    return {
        **layout.entry_key(entry.event_id, entry.ticket_type_id, entry.entry_sk),
        **layout.entry_index_keys(entry.person, joined_at=entry.joined_at, entry_id=entry.entry_id),
        "entity": "waitlist_entry",
        **entry.model_dump(exclude_none=True),
        "version": 1,
    }


def offer_item(offer: OfferRecord) -> dict[str, Any]:
    return {
        **layout.offer_key(offer.offer_id),
        "entity": "offer",
        **offer.model_dump(exclude_none=True),
        "version": 1,
    }


def _entry_of(item: dict[str, Any]) -> EntryRecord:
    return EntryRecord.of({**item, "entry_sk": item["sk"]})


class DynamoWaitlistStore:
    """The AWS implementation over the TicketingTable."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def _table(self) -> Any:
        return clients.dynamodb_table(self.table_name)

    # ------------------------------------------------------------------ reads

    def live_entry(self, event_id: str, ticket_type_id: str, person: str) -> EntryRecord | None:
        """The person's entry in this line while it is live (the guard names it)."""
        guard = (
            self._table()
            .get_item(Key=layout.guard_key(event_id, ticket_type_id, person), ConsistentRead=True)
            .get("Item")
        )
        if not guard:
            return None
        item = (
            self._table()
            .get_item(
                Key=layout.entry_key(event_id, ticket_type_id, str(guard["entry_sk"])),
                ConsistentRead=True,
            )
            .get("Item")
        )
        return _entry_of(item) if item else None

    def _line(
        self, event_id: str, ticket_type_id: str, *, before: str | None = None, **args: Any
    ) -> Any:
        """Query the line's entries in order (all, or those before ``before``), page by page."""
        partition = KeyCondition("pk").eq(layout.line_partition(event_id, ticket_type_id))
        if before is None:
            condition = partition & KeyCondition("sk").begins_with(layout.ENTRY_PREFIX)
        else:
            condition = partition & KeyCondition("sk").between(layout.ENTRY_PREFIX, before)
        query: dict[str, Any] = {
            "KeyConditionExpression": condition,
            "ConsistentRead": True,
            **args,
        }
        while True:
            page = self._table().query(**query)
            yield page
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def position(self, entry: EntryRecord) -> int:
        """1 + the people waiting ahead in the line (a consistent count of the line so far)."""
        ahead = 0
        for page in self._line(
            entry.event_id,
            entry.ticket_type_id,
            before=entry.entry_sk,
            FilterExpression=Attr("status").eq("waiting"),
            Select="COUNT",
        ):
            ahead += int(page.get("Count", 0))
        if entry.status == "waiting":
            ahead -= 1  # BETWEEN includes the entry itself
        return ahead + 1

    def person_entries(self, person: str) -> list[EntryRecord]:
        """The person's live entries, oldest first (their index partition)."""
        args: dict[str, Any] = {
            "IndexName": layout.WAITING_INDEX,
            "KeyConditionExpression": KeyCondition("gsi2pk").eq(layout.waiting_partition(person)),
            "FilterExpression": Attr("status").is_in(["waiting", "offered"]),
        }
        found: list[EntryRecord] = []
        while True:
            page = self._table().query(**args)
            found += [_entry_of(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return found
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def ticket_type(self, event_id: str, ticket_type_id: str) -> TicketTypeRecord | None:
        item = (
            self._table()
            .get_item(Key=layout.ticket_type_key(event_id, ticket_type_id), ConsistentRead=True)
            .get("Item")
        )
        return TicketTypeRecord.of(item) if item else None

    def head_of_line(self, event_id: str, ticket_type_id: str) -> EntryRecord | None:
        """The first entry still waiting."""
        for page in self._line(
            event_id, ticket_type_id, FilterExpression=Attr("status").eq("waiting")
        ):
            items = page.get("Items", [])
            if items:
                return _entry_of(items[0])
        return None

    def live_entries(self, event_id: str, ticket_type_id: str) -> list[EntryRecord]:
        found: list[EntryRecord] = []
        for page in self._line(
            event_id,
            ticket_type_id,
            FilterExpression=Attr("status").is_in(["waiting", "offered"]),
        ):
            found += [_entry_of(item) for item in page.get("Items", [])]
        return found

    def get_offer(self, offer_id: str) -> OfferRecord | None:
        item = (
            self._table().get_item(Key=layout.offer_key(offer_id), ConsistentRead=True).get("Item")
        )
        return OfferRecord.of(item) if item else None

    # ------------------------------------------------------------------ joining and leaving

    def join(self, entry: EntryRecord, *, sold_out_by: SoldOutBy, now: str) -> None:
        """The guard (one live entry per person and type), the entry, ``queue`` + 1 on the
        type, on the condition that what was sold out still is and the event is on sale."""
        type_condition = "attribute_exists(pk)"
        seats_condition = "attribute_exists(pk) AND #status = :on_sale AND starts_at > :now"
        if sold_out_by.counter == "type":
            type_condition += " AND available <= :zero"
        else:
            seats_condition += " AND available <= :zero"
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": {
                        **layout.guard_key(entry.event_id, entry.ticket_type_id, entry.person),
                        "entity": "waitlist_guard",
                        "entry_sk": entry.entry_sk,
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": entry_item(entry),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": layout.ticket_type_key(entry.event_id, entry.ticket_type_id),
                    "ConditionExpression": type_condition,
                    "UpdateExpression": "ADD #queue :one, version :one",
                    "ExpressionAttributeNames": {"#queue": "queue"},
                    "ExpressionAttributeValues": {":one": 1, **_zero(type_condition)},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "ConditionCheck": {
                    "TableName": self.table_name,
                    "Key": layout.seats_key(entry.event_id),
                    "ConditionExpression": seats_condition,
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":on_sale": "on_sale",
                        ":now": now,
                        **_zero(seats_condition),
                    },
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
        ]

        if sold_out_by.shards > 1:
            # Shards seen empty by the read but not yet listed: list them (each checked empty
            # in its own small transaction), so the summary can hold the join.
            client = self._table().meta.client
            for shard in range(sold_out_by.shards):
                if shard not in sold_out_by.known_empty:
                    stock.mark_empty(
                        client, self.table_name, entry.event_id, shard, [sold_out_by.need]
                    )
            items.append(
                {
                    "ConditionCheck": {
                        "TableName": self.table_name,
                        "Key": layout.stock_summary_key(entry.event_id),
                        "ConditionExpression": "size(#empty) >= :shards",
                        "ExpressionAttributeNames": {
                            "#empty": stock.empty_attribute(sold_out_by.need)
                        },
                        "ExpressionAttributeValues": {":shards": sold_out_by.shards},
                    }
                }
            )

        def refused(reasons: list[dict[str, Any]]) -> Exception:
            guard, new_entry, kind, seats = reasons[:4]
            if condition_failed(new_entry):
                return RuntimeError("waiting-list entry id collision")
            refusal = JoinRefused()
            if condition_failed(guard):
                refusal.entry_sk = str(plain_item(guard.get("Item")).get("entry_sk", ""))
            if condition_failed(kind):
                refusal.type_refused = True
                old = plain_item(kind.get("Item"))
                refusal.kind = TicketTypeRecord.of(old) if old else None
            if condition_failed(seats):
                refusal.seats_refused = True
                old = plain_item(seats.get("Item"))
                refusal.seats = SeatsRecord.of(old) if old else None
            # A refused summary (a seat came back to a shard) is read again like a freed seat.
            return refusal

        transact(self._table().meta.client, items, refused)

    def leave(self, entry: EntryRecord, kind: TicketTypeRecord, *, now: str) -> None:
        """A waiting entry leaves the line. If nobody else waits unmatched (``queue`` 0 as
        read) a seat set aside for the line has nobody left for it: it goes back to sale."""
        items = [
            _entry_update(self.table_name, entry, to="left", when="waiting", now=now),
            _guard_delete(self.table_name, entry),
        ]
        type_key = layout.ticket_type_key(entry.event_id, entry.ticket_type_id)
        if kind.queue >= 1:
            items.append(
                _update(
                    self.table_name,
                    type_key,
                    "ADD #queue :minus_one, version :one",
                    "#queue >= :one",
                )
            )
        else:
            items.append(
                _update(
                    self.table_name,
                    type_key,
                    "ADD unassigned :minus_one, held :minus_one, available :one, version :one",
                    "(attribute_not_exists(#queue) OR #queue <= :zero) AND unassigned >= :one",
                )
            )
            items.append(
                _update(
                    self.table_name,
                    layout.seats_key(entry.event_id),
                    "ADD held :minus_one, available :one, version :one",
                    "held >= :one",
                )
            )
        transact(self._table().meta.client, items, lambda _: LineMoved())

    # ------------------------------------------------------------------ offers

    def offer_seat(
        self, entry: EntryRecord, offer: OfferRecord, *, now: str
    ) -> Literal["offered", "moved", "closed"]:
        """Match one set-aside seat to ``entry`` (the head of the line, as read): ``unassigned``
        - 1, the entry ``waiting`` -> ``offered``, the new offer; only while the event is on
        sale (else "closed"). "moved" when the line or the seats changed meanwhile."""
        items = [
            _update(
                self.table_name,
                layout.ticket_type_key(entry.event_id, entry.ticket_type_id),
                "ADD unassigned :minus_one, version :one",
                "unassigned >= :one",
            ),
            {
                "ConditionCheck": {
                    "TableName": self.table_name,
                    "Key": layout.seats_key(entry.event_id),
                    "ConditionExpression": "#status = :on_sale AND starts_at > :now",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {":on_sale": "on_sale", ":now": now},
                }
            },
            _entry_update(
                self.table_name,
                entry,
                to="offered",
                when="waiting",
                now=now,
                extra={"offer_id": offer.offer_id, "expires_at": offer.expires_at},
            ),
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": offer_item(offer),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]

        def refused(reasons: list[dict[str, Any]]) -> Exception:
            if condition_failed(reasons[1]):
                return _Closed()
            if condition_failed(reasons[3]):
                return RuntimeError("offer id collision")
            return LineMoved()

        try:
            transact(self._table().meta.client, items, refused)
        except _Closed:
            return "closed"
        except LineMoved:
            return "moved"
        return "offered"

    def settle_offer(self, offer: OfferRecord, kind: TicketTypeRecord, *, now: str) -> bool:
        """An offer that expired or was declined gives its seat on, once (``seat_settled``):
        to the line while someone waits unmatched (``queue`` as read), else back to sale. An
        expired offer's entry ends here too (a declined one ended with the decline). False
        when the line moved (read again); True when done now or before."""
        items = [
            _update(
                self.table_name,
                layout.offer_key(offer.offer_id),
                "SET seat_settled = :true, updated_at = :now ADD version :one",
                "#status IN (:expired, :declined) AND "
                "(attribute_not_exists(seat_settled) OR seat_settled = :false)",
                names={"#status": "status"},
                values={
                    ":true": True,
                    ":false": False,
                    ":now": now,
                    ":expired": "expired",
                    ":declined": "declined",
                },
            )
        ]
        type_key = layout.ticket_type_key(offer.event_id, offer.ticket_type_id)
        if kind.queue >= 1:
            items.append(
                _update(
                    self.table_name,
                    type_key,
                    "ADD #queue :minus_one, unassigned :one, version :one",
                    "#queue >= :one",
                )
            )
        else:
            items.append(
                _update(
                    self.table_name,
                    type_key,
                    "ADD held :minus_one, available :one, version :one",
                    "(attribute_not_exists(#queue) OR #queue <= :zero) AND held >= :one",
                )
            )
            items.append(
                _update(
                    self.table_name,
                    layout.seats_key(offer.event_id),
                    "ADD held :minus_one, available :one, version :one",
                    "held >= :one",
                )
            )
        if offer.status == "expired":
            entry = EntryRecord(
                event_id=offer.event_id,
                ticket_type_id=offer.ticket_type_id,
                entry_id=offer.entry_id,
                entry_sk=offer.entry_sk,
                person=offer.person,
                status="offered",
                joined_at="",
            )
            items.append(
                _entry_update(
                    self.table_name,
                    entry,
                    to="expired",
                    when="offered",
                    now=now,
                    offer_id=offer.offer_id,
                )
            )
            items.append(_guard_delete(self.table_name, entry))

        def refused(reasons: list[dict[str, Any]]) -> Exception:
            if condition_failed(reasons[0]):
                return _AlreadySettled()
            return LineMoved()

        try:
            transact(self._table().meta.client, items, refused)
        except _AlreadySettled:
            return True
        except LineMoved:
            return False
        return True

    def claim(
        self,
        offer: OfferRecord,
        order: OrderRecord,
        tickets: list[TicketRecord],
        *,
        max_per_buyer: int,
        now: str,
    ) -> None:
        """The offer ``open`` -> ``claimed`` (the caller's, not expired), its held seat sold on
        the type and the event, the buyer's count, the entry ``claimed``, the order and its
        ticket: one transaction, like a sale (docs/decisions/0050)."""
        entry = _entry_for(offer)
        items = [
            _update(
                self.table_name,
                layout.offer_key(offer.offer_id),
                "SET #status = :claimed, order_id = :order_id, updated_at = :now ADD version :one",
                "#status = :open AND person = :person AND expires_at > :now",
                names={"#status": "status"},
                values={
                    ":claimed": "claimed",
                    ":open": "open",
                    ":person": offer.person,
                    ":order_id": order.order_id,
                    ":now": now,
                },
                old=True,
            ),
            _update(
                self.table_name,
                layout.seats_key(offer.event_id),
                "ADD held :minus_one, sold :one, version :one",
                "held >= :one AND #status = :on_sale AND starts_at > :now",
                names={"#status": "status"},
                values={":on_sale": "on_sale", ":now": now},
                old=True,
            ),
            _update(
                self.table_name,
                layout.ticket_type_key(offer.event_id, offer.ticket_type_id),
                "ADD held :minus_one, sold :one, version :one",
                "held >= :one",
            ),
            buyer_update(self.table_name, order, max_per_buyer=max_per_buyer),
            _entry_update(
                self.table_name,
                entry,
                to="claimed",
                when="offered",
                now=now,
                offer_id=offer.offer_id,
            ),
            _guard_delete(self.table_name, entry),
            *new_order_items(self.table_name, order, tickets),
        ]

        def refused(reasons: list[dict[str, Any]]) -> Exception:
            offer_reason, seats_reason, _kind, buyer_reason = reasons[:4]
            refusal = OfferRefused()
            if condition_failed(offer_reason):
                old = plain_item(offer_reason.get("Item"))
                refusal.offer = OfferRecord.of(old) if old else None
            if condition_failed(seats_reason):
                refusal.seats_refused = True
                old = plain_item(seats_reason.get("Item"))
                refusal.seats = SeatsRecord.of(old) if old else None
            if condition_failed(buyer_reason):
                refusal.buyer_refused = True
                refusal.buyer_tickets = int(plain_item(buyer_reason.get("Item")).get("tickets", 0))
            if not (refusal.offer or refusal.seats_refused or refusal.buyer_refused):
                return RuntimeError("offer claim refused by a counter or an id collision")
            return refusal

        transact(self._table().meta.client, items, refused)

    def decline(self, offer: OfferRecord, *, person: str, now: str) -> None:
        """The offer ``open`` -> ``declined`` (the person's, not expired) and its entry ends;
        the stream then gives the seat on (``settle_offer``)."""
        entry = _entry_for(offer)
        items = [
            _update(
                self.table_name,
                layout.offer_key(offer.offer_id),
                "SET #status = :declined, updated_at = :now ADD version :one",
                "#status = :open AND person = :person AND expires_at > :now",
                names={"#status": "status"},
                values={
                    ":declined": "declined",
                    ":open": "open",
                    ":person": person,
                    ":now": now,
                },
                old=True,
            ),
            _entry_update(
                self.table_name,
                entry,
                to="declined",
                when="offered",
                now=now,
                offer_id=offer.offer_id,
            ),
            _guard_delete(self.table_name, entry),
        ]

        def refused(reasons: list[dict[str, Any]]) -> Exception:
            refusal = OfferRefused()
            old = plain_item(reasons[0].get("Item")) if condition_failed(reasons[0]) else {}
            refusal.offer = OfferRecord.of(old) if old else None
            return refusal

        transact(self._table().meta.client, items, refused)

    # ------------------------------------------------------------------ a cancelled event

    def close_entry(self, entry: EntryRecord, *, now: str) -> bool:
        """End a live entry of a cancelled event, and withdraw its open offer (whose seat is
        then settled: nothing is sold any more). False if it had already ended."""
        items = [
            _entry_update(self.table_name, entry, to="closed", when=entry.status, now=now),
            _guard_delete(self.table_name, entry),
        ]
        if entry.status == "offered" and entry.offer_id:
            items.append(
                _update(
                    self.table_name,
                    layout.offer_key(entry.offer_id),
                    "SET #status = :withdrawn, seat_settled = :true, updated_at = :now "
                    "ADD version :one",
                    "#status = :open",
                    names={"#status": "status"},
                    values={":withdrawn": "withdrawn", ":open": "open", ":true": True, ":now": now},
                )
            )
        try:
            transact(self._table().meta.client, items, lambda _: LineMoved())
        except LineMoved:
            return False
        return True

    def close_line(self, event_id: str, ticket_type_id: str) -> None:
        """Nobody waits in a cancelled event's line: its counters say so."""
        try:
            self._table().update_item(
                Key=layout.ticket_type_key(event_id, ticket_type_id),
                UpdateExpression="SET #queue = :zero, unassigned = :zero ADD version :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#queue": "queue"},
                ExpressionAttributeValues={":zero": 0, ":one": 1},
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise


class _AlreadySettled(Exception):
    pass


class _Closed(Exception):
    pass


def _zero(condition: str) -> dict[str, int]:
    return {":zero": 0} if ":zero" in condition else {}


def _entry_for(offer: OfferRecord) -> EntryRecord:
    return EntryRecord(
        event_id=offer.event_id,
        ticket_type_id=offer.ticket_type_id,
        entry_id=offer.entry_id,
        entry_sk=offer.entry_sk,
        person=offer.person,
        status="offered",
        joined_at="",
    )


def _update(
    table_name: str,
    key: layout.Key,
    update: str,
    condition: str,
    *,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    old: bool = False,
) -> dict[str, Any]:
    """An ``Update`` transaction item; ``:one``, ``:minus_one`` and ``:zero`` are given."""
    text = update + " " + condition
    all_values = {
        name: value
        for name, value in ((":one", 1), (":minus_one", -1), (":zero", 0))
        if name in text
    }
    all_values.update(values or {})
    all_names = {"#queue": "queue"} if "#queue" in text else {}
    all_names.update(names or {})
    item: dict[str, Any] = {
        "TableName": table_name,
        "Key": key,
        "UpdateExpression": update,
        "ConditionExpression": condition,
        "ExpressionAttributeValues": all_values,
    }
    if all_names:
        item["ExpressionAttributeNames"] = all_names
    if old:
        item["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return {"Update": item}


def _entry_update(
    table_name: str,
    entry: EntryRecord,
    *,
    to: str,
    when: str,
    now: str,
    offer_id: str | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    sets = ["#status = :to", "updated_at = :now"]
    values: dict[str, Any] = {":to": to, ":when": when, ":now": now}
    for position, (name, value) in enumerate(sorted((extra or {}).items())):
        sets.append(f"{name} = :x{position}")
        values[f":x{position}"] = value
    condition = "#status = :when"
    if offer_id is not None:
        condition += " AND offer_id = :offer_id"
        values[":offer_id"] = offer_id
    return _update(
        table_name,
        layout.entry_key(entry.event_id, entry.ticket_type_id, entry.entry_sk),
        "SET " + ", ".join(sets) + " ADD version :one",
        condition,
        names={"#status": "status"},
        values=values,
    )


def _guard_delete(table_name: str, entry: EntryRecord) -> dict[str, Any]:
    return {
        "Delete": {
            "TableName": table_name,
            "Key": layout.guard_key(entry.event_id, entry.ticket_type_id, entry.person),
            "ConditionExpression": "entry_sk = :entry_sk",
            "ExpressionAttributeValues": {":entry_sk": entry.entry_sk},
        }
    }


# ---------------------------------------------------------------------- stream records


@dataclass(frozen=True)
class SeatsSetAside:
    """A type's counter shows seats set aside for its line and not yet offered."""

    event_id: str
    ticket_type_id: str


@dataclass(frozen=True)
class OfferMade:
    offer: OfferRecord


@dataclass(frozen=True)
class OfferEnded:
    """An offer left ``open`` unused (expired or declined): its seat is to be given on."""

    offer_id: str


WaitlistChange = SeatsSetAside | OfferMade | OfferEnded


def waitlist_change(
    event_name: str | None, new: Mapping[str, Any], old: Mapping[str, Any]
) -> WaitlistChange | None:
    """What a TicketingTable stream record (its event name and images, as plain values) means
    to the waiting list, if anything (the event source mapping's filter lets only these through;
    a record that slips past is ignored)."""
    entity = new.get("entity")
    if entity == "ticket_type" and int(new.get("unassigned", 0)) > 0:
        return SeatsSetAside(str(new["event_id"]), str(new["ticket_type_id"]))
    if entity == "offer" and event_name == "INSERT" and new.get("status") == "open":
        return OfferMade(OfferRecord.of(new))
    if (
        entity == "offer"
        and event_name == "MODIFY"
        and old.get("status") == "open"
        and new.get("status") in ("expired", "declined")
    ):
        return OfferEnded(str(new["offer_id"]))
    return None
