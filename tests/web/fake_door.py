"""The door in the stand-in API: the real rules (``gatepass.logic.door``, ``check_in``,
``bundle``) over a store that keeps DynamoDB-shaped items in the fake's dict, so what the web
shows is what the API would answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from gatepass import bundles, ticket_codes
from gatepass.dal import layout
from gatepass.dal.door import DoorState, ScanRefused, ScanWrite
from gatepass.dal.events import event_of
from gatepass.dal.tickets import TicketRecord, ticket_record
from gatepass.errors import GatepassError
from gatepass.models.records import GateRecord, ScanIssueRecord, StaffRecord
from webapp.api_client import ApiError

BUNDLE_SEED = b"b" * 32


class TicketSeedKeys:
    """``gatepass.keys.TicketKeys`` for the stand-in: every event has one key, ``v1``, derived
    from a seed, as events created before per-event keys do (docs/decisions/0064)."""

    def __init__(self, seed: bytes) -> None:
        self._seed = seed

    def verifying_keys(
        self, event_id: str, *, key_id: str | None = None, fresh: bool = False
    ) -> dict[str, str]:
        return {ticket_codes.LEGACY_KEY_ID: ticket_codes.event_verifying_key(self._seed, event_id)}

    def signing_key(self, event_id: str, key_id: str) -> ticket_codes.SigningKey:
        return ticket_codes.legacy_signing_key(self._seed, event_id)

    def current_signing_key(self, event_id: str) -> ticket_codes.SigningKey:
        return ticket_codes.legacy_signing_key(self._seed, event_id)

    def new_key(self, event_id: str) -> Any:
        raise NotImplementedError("the stand-in's events keep their derived key")


class SeedBundleSigner:
    def sign(self, content: dict[str, Any]) -> Any:
        return bundles.sign_with_seed(BUNDLE_SEED, content)

    def public_key(self) -> Any:
        return bundles.public_key_of(BUNDLE_SEED)


class ItemsDoorStore:
    """``gatepass.dal.door.DoorStore`` over ``items`` ((pk, sk) → item); ``put`` delivers each
    write to the projector as the stream would."""

    def __init__(
        self, items: dict[tuple[str, str], dict[str, Any]], put: Callable[[dict[str, Any]], None]
    ) -> None:
        self.items = items
        self.put = put

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        return self.items.get((key["pk"], key["sk"]))

    def door(self, event_id: str) -> DoorState | None:
        partition = [
            i for (pk, _), i in self.items.items() if pk == layout.event_partition(event_id)
        ]
        event = event_of(partition)
        if event is None:
            return None
        staff = {
            i["email"]: StaffRecord.of(i)
            for i in partition
            if str(i["sk"]).startswith(layout.STAFF_PREFIX)
        }
        gates = sorted(
            (GateRecord.of(i) for i in partition if str(i["sk"]).startswith(layout.GATE_PREFIX)),
            key=lambda g: g.position,
        )
        seats = self._get(layout.seats_key(event_id)) or {}
        return DoorState(event=event, staff=staff, gates=gates, left=int(seats.get("left", 0)))

    def put_staff(self, member: StaffRecord, *, starts_at: str) -> None:
        self.put(
            {
                **layout.staff_key(member.event_id, member.email),
                **layout.staff_index_keys(member.event_id, member.email, starts_at=starts_at),
                "entity": "door_staff",
                **member.model_dump(exclude_none=True),
            }
        )

    def revoke_staff(self, event_id: str, email: str, *, at: str) -> StaffRecord | None:
        item = self._get(layout.staff_key(event_id, email))
        if item is None:
            return None
        changed = {**item, "status": "revoked", "revoked_at": at}
        self.put(changed)
        return StaffRecord.of(changed)

    def staff_events(self, email: str) -> list[StaffRecord]:
        return [
            StaffRecord.of(i)
            for i in self.items.values()
            if i.get("gsi2pk") == layout.staff_partition(email) and i.get("status") == "active"
        ]

    def put_gate(self, gate: GateRecord) -> None:
        self.put(
            {
                **layout.gate_key(gate.event_id, gate.gate_id),
                "entity": "gate",
                **gate.model_dump(),
                "ticket_type_ids": list(gate.ticket_type_ids),
            }
        )

    def update_gate(
        self, event_id: str, gate_id: str, set_fields: dict[str, Any]
    ) -> GateRecord | None:
        item = self._get(layout.gate_key(event_id, gate_id))
        if item is None:
            return None
        changed = {
            **item,
            **{k: list(v) if isinstance(v, tuple) else v for k, v in set_fields.items()},
        }
        changed["version"] = int(item.get("version", 1)) + 1
        self.put(changed)
        return GateRecord.of(changed)

    def get_ticket(self, ticket_id: str) -> TicketRecord | None:
        item = self._get(layout.ticket_key(ticket_id))
        return ticket_record(item) if item else None

    def tickets(self, event_id: str) -> list[TicketRecord]:
        return [
            ticket_record(i)
            for i in self.items.values()
            if i.get("entity") == "ticket" and i.get("event_id") == event_id
        ]

    def scan(self, write: ScanWrite) -> None:
        ticket = self._get(layout.ticket_key(write.ticket_id))
        if ticket is None or int(ticket.get("version", 1)) != write.ticket_version:
            raise ScanRefused(ticket=ticket_record(ticket) if ticket else None, ticket_changed=True)
        if write.staff is not None:
            member = self._get(layout.staff_key(write.event_id, write.staff))
            if member is None or member.get("status") != "active":
                raise ScanRefused(ticket=ticket_record(ticket), staff_revoked=True)
        if write.record is not None and self._get(
            layout.scan_key(write.event_id, str(write.record["nonce"]))
        ):
            raise ScanRefused(ticket=ticket_record(ticket), duplicate=True)
        changed = {**ticket, **write.ticket_set}
        for name, amount in write.ticket_add.items():
            changed[name] = int(changed.get(name, 0)) + amount
        changed["version"] = write.ticket_version + 1
        self.put(changed)
        self._add(layout.seats_key(write.event_id), write.totals)
        if write.first_entry:
            self._add(
                layout.ticket_type_key(write.event_id, write.ticket_type_id), {"checked_in": 1}
            )
        for gate_id, deltas in write.gate_deltas.items():
            self._add(layout.gate_key(write.event_id, gate_id), deltas)
        if write.record is not None:
            self._put_scan(write.event_id, write.record)

    def _add(self, key: dict[str, str], deltas: dict[str, int]) -> None:
        item = self._get(key)
        if item is None or not any(deltas.values()):
            return
        changed = dict(item)
        for name, amount in deltas.items():
            changed[name] = int(changed.get(name, 0)) + amount
        changed["version"] = int(item.get("version", 1)) + 1
        self.put(changed)

    def _put_scan(self, event_id: str, record: dict[str, Any]) -> None:
        self.put(
            {
                **layout.scan_key(event_id, str(record["nonce"])),
                "entity": "scan",
                "outcome": {k: v for k, v in record.items() if v is not None},
            }
        )

    def get_scan(self, event_id: str, nonce: str) -> dict[str, Any] | None:
        item = self._get(layout.scan_key(event_id, nonce))
        return dict(item["outcome"]) if item else None

    def record_refused_scan(
        self, event_id: str, nonce: str, record: dict[str, Any], issue: ScanIssueRecord | None
    ) -> bool:
        if self._get(layout.scan_key(event_id, nonce)):
            return False
        self._put_scan(event_id, {**record, "nonce": nonce})
        if issue is not None:
            self.put(
                {
                    **layout.scan_issue_key(event_id, issue.synced_at, nonce),
                    "entity": "scan_issue",
                    **issue.model_dump(exclude_none=True),
                }
            )
        return True

    def issues(self, event_id: str, *, limit: int) -> list[ScanIssueRecord]:
        found = sorted(
            (
                (sk, i)
                for (pk, sk), i in self.items.items()
                if pk == layout.scans_partition(event_id) and sk.startswith(layout.ISSUE_PREFIX)
            ),
            reverse=True,
        )
        return [ScanIssueRecord.of(i) for _, i in found[:limit]]


def answered(call: Callable[[], Any]) -> dict[str, Any]:
    """What the API answers: the model as JSON, or the error as ``ApiError``."""
    try:
        result = call()
    except GatepassError as exc:
        raise ApiError(exc.status, exc.code, exc.message, exc.details) from exc
    except ValidationError as exc:
        raise ApiError(400, "validation_error", "The request is not valid.") from exc
    answer: dict[str, Any] = result.model_dump(mode="json")
    return answer
