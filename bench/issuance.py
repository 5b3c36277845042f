"""Ticket issuance: sign a ticket code with the event's own key and render its QR PNG, ready to
store, against the naive ``qrcode.make(<the ticket as JSON>)`` saved as PNG. Both outputs are read
back by ZXing.

Each event's key is random and sealed with KMS (docs/decisions/0064), as create-event stores it;
the Gatepass way opens it through ``gatepass.ticket_keys.EventTicketKeys`` exactly as
create-ticket does, against KMS in moto, in process. The suite counts the ``kms:Decrypt`` calls
(one per event per container is the goal, not one per ticket) and times the first ticket of an
event (the key opened) apart from the following ones (the key cached).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from collections.abc import Iterator
from typing import Any

from bench.common import summary

EVENTS = 5


class MemoryKeyStore:
    """``gatepass.dal.ticket_keys.TicketKeyStore`` in memory: the sealed keys as stored."""

    def __init__(self) -> None:
        self.sealed: dict[tuple[str, str], Any] = {}
        self.current: dict[str, str] = {}
        self.reads = 0

    def key_ring(self, event_id: str) -> Any:
        from gatepass.dal.ticket_keys import KeyRing

        key_id = self.current[event_id]
        public = self.sealed[(event_id, key_id)].public
        return KeyRing(event_id, "bench@example.com", key_id, {key_id: public})

    def sealed_key(self, event_id: str, key_id: str) -> Any:
        self.reads += 1
        return self.sealed.get((event_id, key_id))

    def add_key(self, current: Any, sealed: Any, *, at: str) -> Any:
        self.sealed[(sealed.event_id, sealed.key_id)] = sealed
        self.current[sealed.event_id] = sealed.key_id
        return self.key_ring(sealed.event_id)


class Kms:
    """moto's KMS in process with one symmetric key, and a count of the calls made to it."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        self.calls: list[str] = []


@contextlib.contextmanager
def kms() -> Iterator[Kms]:
    import boto3
    from botocore.client import BaseClient
    from moto import mock_aws

    from gatepass import clients, ticket_keys

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    # Every boto3 call goes through this method; wrapping it counts KMS calls without moto's
    # internals (the tests' aws_calls fixture does the same).
    method = "_make_api_call"
    original = getattr(BaseClient, method)
    with mock_aws():
        clients.reset()
        ticket_keys.reset()
        # Setup, on boto3's own client: Gatepass's clients have only the operations it calls.
        key = boto3.client("kms").create_key(Description="bench ticket keys")["KeyMetadata"]
        counted = Kms(key["Arn"])

        def counting(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
            if self.meta.service_model.service_name == "kms":
                counted.calls.append(operation_name)
            return original(self, operation_name, api_params)

        setattr(BaseClient, method, counting)
        try:
            yield counted
        finally:
            setattr(BaseClient, method, original)
            clients.reset()
            ticket_keys.reset()


def keys_for(events: list[str], kms_key_id: str) -> tuple[Any, MemoryKeyStore]:
    """Each event's key made and sealed as create-event does; a cold container's keys object."""
    from gatepass.ticket_keys import EventTicketKeys

    store = MemoryKeyStore()
    maker = EventTicketKeys(store, kms_key_id=kms_key_id)
    for event_id in events:
        _, sealed = maker.new_key(event_id)
        store.add_key(None, sealed, at="2026-11-22T09:00:00Z")
    return EventTicketKeys(store, kms_key_id=kms_key_id), store


def _event_ids() -> list[str]:
    from gatepass import ids

    return [ids.encode_id(bytes([number]) * ids.ID_BYTES) for number in range(EVENTS)]


def _ticket(number: int) -> dict[str, Any]:
    from gatepass import ids

    return {
        "ticket_id": ids.new_id(),
        # Tickets of a few events, as in a sale.
        "event_id": _event_ids()[number % EVENTS],
        "holder": f"buyer{number:05d}@example.com",
        "status": "issued",
        "issued_at": "2026-11-22T09:00:00Z",
    }


def gatepass_issue(keys: Any, store: MemoryKeyStore, ticket: dict[str, Any]) -> tuple[str, bytes]:
    """What create-ticket does between the sale and the S3 put."""
    from gatepass import qr

    event_id = ticket["event_id"]
    signing_key = keys.signing_key(event_id, store.current[event_id])
    code = signing_key.sign(event_id, ticket["ticket_id"])
    return code, qr.render_png(code)


def naive_issue(ticket: dict[str, Any]) -> tuple[str, bytes]:
    import qrcode

    text = json.dumps(ticket)
    buffer = io.BytesIO()
    qrcode.make(text).save(buffer)  # PIL image factory, automatic mask search
    return text, buffer.getvalue()


def decoded(png: bytes) -> list[str]:
    import zxingcpp
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    return [result.text for result in zxingcpp.read_barcodes(image)]


def check(tickets: int = 3) -> dict[str, Any]:
    """Both ways produce a symbol a real decoder reads back as what was encoded; ours verifies
    with the event's published key, and the event's sealed key was opened once."""
    from gatepass import ticket_codes

    outcome: dict[str, Any] = {"gatepass_decoded": 0, "naive_decoded": 0, "tickets": tickets}
    with kms() as counted:
        keys, store = keys_for(_event_ids(), counted.key_id)
        counted.calls.clear()
        for _ in range(tickets):
            ticket = _ticket(0)
            code, png = gatepass_issue(keys, store, ticket)
            if decoded(png) == [code]:
                event_id = ticket["event_id"]
                named = ticket_codes.verify(code, store.key_ring(event_id).verifying_keys)
                if (named.event_id, named.ticket_id) == (event_id, ticket["ticket_id"]):
                    outcome["gatepass_decoded"] += 1
            text, naive_png = naive_issue(ticket)
            if decoded(naive_png) == [text]:
                outcome["naive_decoded"] += 1
            outcome["gatepass_png_bytes"] = len(png)
            outcome["naive_png_bytes"] = len(naive_png)
        outcome["kms_decrypts"] = counted.calls.count("Decrypt")
    return outcome


def run(repeats: int, per_round: int = 50) -> dict[str, Any]:
    """Rounds alternate between the two ways; each round issues ``per_round`` tickets of
    ``EVENTS`` events. The first ticket of each event opens its key (timed apart)."""
    tickets = [_ticket(n) for n in range(per_round)]
    with kms() as counted:
        keys, store = keys_for(_event_ids(), counted.key_id)
        counted.calls.clear()
        naive_issue(tickets[0])  # warm imports
        first: list[float] = []
        for ticket in tickets[:EVENTS]:  # one per event: its key is opened
            started = time.perf_counter()
            gatepass_issue(keys, store, ticket)
            first.append(time.perf_counter() - started)
        ours: list[float] = []
        naive: list[float] = []
        for round_number in range(repeats):
            batch = tickets[round_number % 2 :] + tickets[: round_number % 2]
            started = time.perf_counter()
            for ticket in batch:
                gatepass_issue(keys, store, ticket)
            ours.append((time.perf_counter() - started) / len(batch))
            started = time.perf_counter()
            for ticket in batch:
                naive_issue(ticket)
            naive.append((time.perf_counter() - started) / len(batch))
        issued = EVENTS + repeats * len(tickets)
        decrypts = counted.calls.count("Decrypt")
        sealed_reads = store.reads
    ours_s, naive_s = summary(ours), summary(naive)
    return {
        "gatepass_seconds": ours_s,
        "naive_seconds": naive_s,
        "first_ticket_of_event_seconds": summary(first),
        "speedup": naive_s["median"] / ours_s["median"],
        "tickets_per_round": per_round,
        "events": EVENTS,
        "tickets_issued": issued,
        "kms_decrypts": decrypts,
        "sealed_key_reads": sealed_reads,
        "check": check(),
    }
