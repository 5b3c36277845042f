"""Data access for the door (docs/decisions/0060): staff and gates in the event's partition, the
scan transaction that moves a ticket in or out and its counters with it, and the records of
synced scans.

A scan is one ``TransactWriteItems``: the ticket (on its version, so two gates scanning the same
ticket at once cannot both win), the event's totals, the gates whose counts change, the type's
arrivals on a first entry, the scanning staff member's invitation (still active at the moment of
the write) and, for a synced scan, its nonce record (written once). Counts therefore never
disagree with the tickets: the seats item counts arrivals (``checked_in``) and those who
left (``left``), inside is their difference, and the gates' ``inside`` add up to it less the
people who came in with no gate chosen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from boto3.dynamodb.conditions import Key as KeyCondition
from botocore.exceptions import ClientError

from gatepass import clients
from gatepass.dal import layout, stock
from gatepass.dal.events import event_of
from gatepass.dal.storage import condition_failed
from gatepass.dal.storage import plain_item as _plain_item
from gatepass.dal.tickets import TicketRecord, ticket_record
from gatepass.dal.transactions import transact
from gatepass.models.records import EventRecord, GateRecord, ScanIssueRecord, StaffRecord


@dataclass(frozen=True)
class DoorState:
    """An event with its door: staff by address, gates in order, and the totals."""

    event: EventRecord
    staff: dict[str, StaffRecord]
    gates: list[GateRecord]
    left: int

    @property
    def inside(self) -> int:
        """Everyone who arrived and has not left: kept as a difference, so it cannot drift."""
        return self.event.checked_in - self.left

    def gate(self, gate_id: str) -> GateRecord | None:
        return next((g for g in self.gates if g.gate_id == gate_id), None)


@dataclass
class ScanWrite:
    """What one admitted scan changes. Deltas of zero are left out of the writes."""

    event_id: str
    ticket_id: str
    ticket_version: int
    first_entry: bool
    ticket_type_id: str
    ticket_set: dict[str, Any]
    ticket_add: dict[str, int]
    totals: dict[str, int]
    scan_gate: str | None
    gate_deltas: dict[str, dict[str, int]]
    staff: str | None
    record: dict[str, Any] | None = None
    roles: list[str] = field(default_factory=list)


class ScanRefused(Exception):
    """DynamoDB cancelled the scan: which of its conditions failed, and the ticket as it was."""

    def __init__(
        self,
        *,
        ticket: TicketRecord | None,
        ticket_changed: bool = False,
        event_cancelled: bool = False,
        event_missing: bool = False,
        gate_refused: bool = False,
        staff_revoked: bool = False,
        duplicate: bool = False,
    ) -> None:
        super().__init__("scan refused")
        self.ticket = ticket
        self.ticket_changed = ticket_changed
        self.event_cancelled = event_cancelled
        self.event_missing = event_missing
        self.gate_refused = gate_refused
        self.staff_revoked = staff_revoked
        self.duplicate = duplicate


class DoorStore(Protocol):
    def door(self, event_id: str) -> DoorState | None: ...

    def put_staff(self, member: StaffRecord, *, starts_at: str) -> None: ...

    def revoke_staff(self, event_id: str, email: str, *, at: str) -> StaffRecord | None: ...

    def staff_events(self, email: str) -> list[StaffRecord]: ...

    def put_gate(self, gate: GateRecord) -> None: ...

    def update_gate(
        self, event_id: str, gate_id: str, set_fields: dict[str, Any]
    ) -> GateRecord | None: ...

    def get_ticket(self, ticket_id: str) -> TicketRecord | None: ...

    def scan(self, write: ScanWrite) -> None: ...

    def get_scan(self, event_id: str, nonce: str) -> dict[str, Any] | None: ...

    def record_refused_scan(
        self, event_id: str, nonce: str, record: dict[str, Any], issue: ScanIssueRecord | None
    ) -> bool: ...

    def issues(self, event_id: str, *, limit: int) -> list[ScanIssueRecord]: ...

    def tickets(self, event_id: str) -> list[TicketRecord]: ...


class DynamoDoorStore:
    """The AWS implementation, on the TicketingTable."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def _table(self) -> Any:
        return clients.dynamodb_table(self.table_name)

    # ------------------------------------------------------------------ reads

    def door(self, event_id: str) -> DoorState | None:
        items = self._query(
            KeyConditionExpression=KeyCondition("pk").eq(layout.event_partition(event_id)),
            ConsistentRead=True,
        )
        event = event_of(items)
        if event is None:
            return None
        staff = {}
        gates = []
        left = 0
        for item in items:
            sort_key = str(item.get("sk", ""))
            if sort_key.startswith(layout.STAFF_PREFIX):
                member = StaffRecord.of(item)
                staff[member.email] = member
            elif sort_key.startswith(layout.GATE_PREFIX):
                gates.append(GateRecord.of(item))
            elif sort_key == layout.SEATS:
                left = int(item.get("left", 0))
        gates.sort(key=lambda g: (g.position, g.gate_id))
        return DoorState(event=event, staff=staff, gates=gates, left=left)

    def staff_events(self, email: str) -> list[StaffRecord]:
        items = self._query(
            IndexName=layout.HOLDER_TICKETS_INDEX,
            KeyConditionExpression=KeyCondition("gsi2pk").eq(layout.staff_partition(email)),
        )
        return [StaffRecord.of(item) for item in items if item.get("status") == "active"]

    def get_ticket(self, ticket_id: str) -> TicketRecord | None:
        item = (
            self._table()
            .get_item(Key=layout.ticket_key(ticket_id), ConsistentRead=True)
            .get("Item")
        )
        return ticket_record(item) if item else None

    def get_scan(self, event_id: str, nonce: str) -> dict[str, Any] | None:
        item = (
            self._table()
            .get_item(Key=layout.scan_key(event_id, nonce), ConsistentRead=True)
            .get("Item")
        )
        return dict(item["outcome"]) if item else None

    def issues(self, event_id: str, *, limit: int) -> list[ScanIssueRecord]:
        page = self._table().query(
            KeyConditionExpression=KeyCondition("pk").eq(layout.scans_partition(event_id))
            & KeyCondition("sk").begins_with(layout.ISSUE_PREFIX),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [ScanIssueRecord.of(item) for item in page.get("Items", [])]

    def tickets(self, event_id: str) -> list[TicketRecord]:
        """Every ticket of the event (its attendees index, all pages)."""
        items: list[dict[str, Any]] = []
        for partition in layout.event_tickets_partitions(
            event_id, stock.shard_count(self._table(), event_id)
        ):
            items += self._query(
                IndexName=layout.EVENT_TICKETS_INDEX,
                KeyConditionExpression=KeyCondition("gsi1pk").eq(partition),
            )
        return [ticket_record(item) for item in items]

    # ------------------------------------------------------------------ staff and gates

    def put_staff(self, member: StaffRecord, *, starts_at: str) -> None:
        self._table().put_item(
            Item={
                **layout.staff_key(member.event_id, member.email),
                **layout.staff_index_keys(member.event_id, member.email, starts_at=starts_at),
                "entity": "door_staff",
                **member.model_dump(exclude_none=True),
            }
        )

    def revoke_staff(self, event_id: str, email: str, *, at: str) -> StaffRecord | None:
        try:
            answer = self._table().update_item(
                Key=layout.staff_key(event_id, email),
                ConditionExpression="attribute_exists(pk)",
                UpdateExpression="SET #status = :revoked, revoked_at = :at",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":revoked": "revoked", ":at": at},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise
        return StaffRecord.of(answer["Attributes"])

    def put_gate(self, gate: GateRecord) -> None:
        item = {
            **layout.gate_key(gate.event_id, gate.gate_id),
            "entity": "gate",
            **gate.model_dump(exclude_none=True),
        }
        item["ticket_type_ids"] = list(gate.ticket_type_ids)
        self._table().put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")

    def update_gate(
        self, event_id: str, gate_id: str, set_fields: dict[str, Any]
    ) -> GateRecord | None:
        names = {f"#f{i}": name for i, name in enumerate(set_fields)}
        values: dict[str, Any] = {
            f":v{i}": list(value) if isinstance(value, tuple) else value
            for i, value in enumerate(set_fields.values())
        }
        assignments = [f"#f{i} = :v{i}" for i in range(len(set_fields))]
        values[":one"] = 1
        try:
            answer = self._table().update_item(
                Key=layout.gate_key(event_id, gate_id),
                ConditionExpression="attribute_exists(pk)",
                UpdateExpression=(
                    ("SET " + ", ".join(assignments) + " " if assignments else "")
                    + "ADD version :one"
                ),
                ExpressionAttributeNames=names or None,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise
        return GateRecord.of(answer["Attributes"])

    # ------------------------------------------------------------------ scans

    def scan(self, write: ScanWrite) -> None:
        table = self.table_name
        roles: list[str] = []
        items: list[dict[str, Any]] = []

        ticket_values: dict[str, Any] = {":version": write.ticket_version, ":one": 1}
        ticket_names: dict[str, str] = {"#version": "version", "#event_id": "event_id"}
        ticket_values[":event_id"] = write.event_id
        sets = []
        for i, (name, value) in enumerate(write.ticket_set.items()):
            ticket_names[f"#s{i}"] = name
            ticket_values[f":s{i}"] = value
            sets.append(f"#s{i} = :s{i}")
        adds = ["#version :one"]
        for i, (name, amount) in enumerate(write.ticket_add.items()):
            ticket_names[f"#a{i}"] = name
            ticket_values[f":a{i}"] = amount
            adds.append(f"#a{i} :a{i}")
        condition = "attribute_exists(pk) AND #event_id = :event_id AND #version = :version"
        if write.first_entry:
            ticket_names["#status"] = "status"
            ticket_values[":issued"] = "issued"
            condition += " AND #status = :issued"
        items.append(
            {
                "Update": {
                    "TableName": table,
                    "Key": layout.ticket_key(write.ticket_id),
                    "ConditionExpression": condition,
                    "UpdateExpression": "SET " + ", ".join(sets) + " ADD " + ", ".join(adds),
                    "ExpressionAttributeNames": ticket_names,
                    "ExpressionAttributeValues": ticket_values,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        )
        roles.append("ticket")

        seats = {name: amount for name, amount in write.totals.items() if amount}
        seats_names = {"#status": "status"}
        seats_values: dict[str, Any] = {":on_sale": "on_sale"}
        seats_condition = "attribute_exists(pk) AND #status = :on_sale"
        if seats:
            seats_values[":one"] = 1
            add_parts = ["version :one"]
            for i, (name, amount) in enumerate(seats.items()):
                seats_names[f"#t{i}"] = name
                seats_values[f":t{i}"] = amount
                add_parts.append(f"#t{i} :t{i}")
            items.append(
                {
                    "Update": {
                        "TableName": table,
                        "Key": layout.seats_key(write.event_id),
                        "ConditionExpression": seats_condition,
                        "UpdateExpression": "ADD " + ", ".join(add_parts),
                        "ExpressionAttributeNames": seats_names,
                        "ExpressionAttributeValues": seats_values,
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
        else:
            items.append(
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": layout.seats_key(write.event_id),
                        "ConditionExpression": seats_condition,
                        "ExpressionAttributeNames": seats_names,
                        "ExpressionAttributeValues": seats_values,
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
        roles.append("seats")

        if write.first_entry:
            items.append(
                {
                    "Update": {
                        "TableName": table,
                        "Key": layout.ticket_type_key(write.event_id, write.ticket_type_id),
                        "ConditionExpression": "attribute_exists(pk)",
                        "UpdateExpression": "ADD checked_in :one, version :one",
                        "ExpressionAttributeValues": {":one": 1},
                    }
                }
            )
            roles.append("type")

        for gate_id, deltas in write.gate_deltas.items():
            changed = {name: amount for name, amount in deltas.items() if amount}
            gate_names = {f"#g{i}": name for i, name in enumerate(changed)}
            gate_values: dict[str, Any] = {
                f":g{i}": amount for i, amount in enumerate(changed.values())
            }
            gate_values[":one"] = 1
            gate_condition = "attribute_exists(pk)"
            if gate_id == write.scan_gate:
                gate_names["#closed"] = "closed"
                gate_values[":true"] = True
                gate_condition += " AND NOT #closed = :true"
            adds = ["version :one", *(f"#g{i} :g{i}" for i in range(len(changed)))]
            items.append(
                {
                    "Update": {
                        "TableName": table,
                        "Key": layout.gate_key(write.event_id, gate_id),
                        "ConditionExpression": gate_condition,
                        "UpdateExpression": "ADD " + ", ".join(adds),
                        "ExpressionAttributeNames": gate_names,
                        "ExpressionAttributeValues": gate_values,
                    }
                }
            )
            roles.append("gate")

        if write.staff is not None:
            items.append(
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": layout.staff_key(write.event_id, write.staff),
                        "ConditionExpression": "#status = :active",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {":active": "active"},
                    }
                }
            )
            roles.append("staff")

        if write.record is not None:
            items.append(self._scan_put(write.event_id, write.record))
            roles.append("record")

        def refused(reasons: list[dict[str, Any]]) -> Exception:
            by_role: dict[str, list[dict[str, Any]]] = {}
            for role, reason in zip(roles, reasons, strict=False):
                by_role.setdefault(role, []).append(reason)

            def failed(role: str) -> bool:
                return any(condition_failed(r) for r in by_role.get(role, []))

            old_ticket = _old_item(by_role["ticket"][0])
            old_seats = _old_item(by_role["seats"][0])
            return ScanRefused(
                ticket=ticket_record(old_ticket) if old_ticket else None,
                ticket_changed=failed("ticket"),
                event_cancelled=old_seats is not None and old_seats.get("status") == "cancelled",
                event_missing=failed("seats") and old_seats is None,
                gate_refused=failed("gate") or failed("type"),
                staff_revoked=failed("staff"),
                duplicate=failed("record"),
            )

        transact(self._table().meta.client, items, refused)

    def record_refused_scan(
        self, event_id: str, nonce: str, record: dict[str, Any], issue: ScanIssueRecord | None
    ) -> bool:
        """Keep a scan that changed nothing (and the report of it); False if the nonce was
        already recorded, in which case nothing is written."""
        items = [self._scan_put(event_id, {**record, "nonce": nonce})]
        if issue is not None:
            items.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": {
                            **layout.scan_issue_key(event_id, issue.synced_at, nonce),
                            "entity": "scan_issue",
                            **issue.model_dump(exclude_none=True),
                        },
                    }
                }
            )
        try:
            transact(self._table().meta.client, items, lambda _reasons: _Duplicate())
        except _Duplicate:
            return False
        return True

    def _scan_put(self, event_id: str, record: dict[str, Any]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": {
                    **layout.scan_key(event_id, str(record["nonce"])),
                    "entity": "scan",
                    "outcome": {k: v for k, v in record.items() if v is not None},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _query(self, **args: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            page = self._table().query(**args)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class _Duplicate(Exception):
    pass


def _old_item(reason: dict[str, Any]) -> dict[str, Any] | None:
    raw = reason.get("Item")
    return _plain_item(raw) if raw else None
