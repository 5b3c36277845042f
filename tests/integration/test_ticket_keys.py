"""Per-event ticket keys against moto (KMS included): each event's own random key, sealed in the
table; rotation that keeps issued codes valid; reissuing one leaked code; version 1 codes of
events created before per-event keys (docs/decisions/0064)."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import pytest
from botocore.client import BaseClient

from functions.events_read import app as events_read_app
from functions.reissue_ticket import app as reissue_ticket_app
from functions.rotate_event_key import app as rotate_event_key_app
from gatepass import ids, ticket_codes, ticket_keys
from gatepass.dal.ticket_keys import DynamoTicketKeyStore
from tests.conftest import load_event
from tests.support import factories
from tests.support.api import LambdaContext, json_body
from tests.support.mail import sent_to
from tests.support.ticketing import (
    ORGANIZER,
    create_event,
    event_keys,
    order,
    post,
    revocations,
)

pytestmark = pytest.mark.integration

ALICE = "alice@example.com"
BOB = "bob@example.com"


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every AWS call made, as (service, operation)."""
    calls: list[tuple[str, str]] = []
    original = BaseClient._make_api_call

    def recording(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        calls.append((self.meta.service_model.service_name, operation_name))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    return calls


def _ticket(event: dict[str, Any], buyer: str = ALICE, name: str = "") -> dict[str, Any]:
    kind = event["ticket_types"][0]["ticket_type_id"]
    placed = order(event["event_id"], [(kind, name)], buyer=buyer)
    assert placed.status == 201, placed
    ticket: dict[str, Any] = placed.body["ticket"]
    return ticket


def _scan(event_id: str, code: str) -> Any:
    return post("/check-in", {"event_id": event_id, "code": code}, user=ORGANIZER)


def _table_items() -> list[dict[str, Any]]:
    from gatepass import clients

    table = clients.dynamodb_table(factories.settings().ticketing_table)
    items: list[dict[str, Any]] = table.scan()["Items"]
    return items


def test_each_event_gets_its_own_random_key_and_only_its_ciphertext_is_stored(aws: Any) -> None:
    # Given two events created through the API
    first, second = create_event(), create_event()

    # When their published keys are read
    one = event_keys(first["event_id"]).body
    two = event_keys(second["event_id"]).body

    # Then each has one Ed25519 key of its own, the one that signs, published by key id
    assert one["algorithm"] == two["algorithm"] == "Ed25519"
    assert list(one["verifying_keys"]) == [one["signing_key_id"]]
    assert one["verifying_keys"] != two["verifying_keys"]
    assert one["signing_key_id"] != two["signing_key_id"]
    assert one["verifying_keys"][one["signing_key_id"]] == first["verifying_key"]
    # and neither is the key the shared seed would derive
    derived = ticket_codes.event_verifying_key(factories.ticket_seed(), first["event_id"])
    assert derived not in one["verifying_keys"].values()
    # and the private halves are nowhere in the table in clear, only sealed
    items = _table_items()
    for event, keys in ((first, one), (second, two)):
        private = factories.ticket_keys().signing_key(event["event_id"], keys["signing_key_id"])
        raw = ticket_codes.private_bytes(private)
        stored = repr(items)
        for form in (raw.hex(), base64.b64encode(raw).decode(), base64.b32encode(raw).decode()):
            assert form not in stored
        assert all(raw not in bytes(getattr(v, "value", b"")) for i in items for v in i.values())
        sealed = [i for i in items if i.get("entity") == "ticket_signing_key"]
        assert {s["event_id"] for s in sealed} == {first["event_id"], second["event_id"]}


def test_a_sealed_key_does_not_open_for_another_event(aws: Any) -> None:
    # Given an event's sealed key, copied as if it belonged to another event
    event = factories.put_event()
    store = DynamoTicketKeyStore(factories.settings().ticketing_table)
    sealed = store.sealed_key(event["event_id"], event["signing_key_id"])
    assert sealed is not None
    moved = dataclasses.replace(sealed, event_id=ids.new_id())

    # When it is opened, then it is refused (KMS context and AES-GCM data name the event)
    with pytest.raises(ticket_keys.TicketKeyUnavailable):
        ticket_keys.unseal(moved, kms_key_id=factories.settings().ticket_keys_key_id)


def test_rotation_signs_new_tickets_with_a_new_key_and_old_codes_stay_valid(aws: Any) -> None:
    # Given an event with a ticket sold under its first key, and another event
    event = create_event(capacity=10)
    other = create_event(capacity=10)
    other_keys_before = event_keys(other["event_id"]).body
    before = _ticket(event)
    first_key = event_keys(event["event_id"]).body["signing_key_id"]

    # When the organizer rotates the event's key
    rotated = post("/rotate-event-key", {"event_id": event["event_id"]}, user=ORGANIZER)

    # Then a new key signs, and both keys are published
    assert rotated.status == 200, rotated
    new_key = rotated.body["signing_key_id"]
    assert new_key != first_key
    assert set(rotated.body["verifying_keys"]) == {first_key, new_key}
    assert event_keys(event["event_id"]).body == rotated.body
    # and a ticket sold now names the new key, the earlier one still names the first
    after = _ticket(event, buyer=BOB)
    assert factories.verify_code(after["code"]).key_id == new_key
    assert factories.verify_code(before["code"]).key_id == first_key
    # and both are admitted at the door
    assert _scan(event["event_id"], before["code"]).status == 200
    assert _scan(event["event_id"], after["code"]).status == 200
    # and the other event's keys did not move
    assert event_keys(other["event_id"]).body == other_keys_before


def test_a_scanner_that_cached_the_keys_before_a_rotation_admits_the_new_codes(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a check-in container that has already scanned (and cached) the event's keys
    event = create_event(capacity=10)
    assert _scan(event["event_id"], _ticket(event)["code"]).status == 200
    # When the key is rotated elsewhere and a ticket is sold under the new key
    assert post("/rotate-event-key", {"event_id": event["event_id"]}, user=ORGANIZER).status == 200
    fresh = _ticket(event, buyer=BOB)
    monkeypatch.setattr(ticket_keys, "REFRESH_SECONDS", 0.0)  # (time has passed since)
    # Then its code is admitted: the unknown key id makes the container read the keys again
    assert _scan(event["event_id"], fresh["code"]).status == 200


def test_a_code_naming_a_key_the_event_does_not_have_is_refused_with_that_reason(
    aws: Any,
) -> None:
    # Given a ticket really sold, and a code for it signed by a key the event never had
    event = factories.put_event(organizer=ORGANIZER)
    ticket = factories.put_ticket(event)
    stranger = ticket_codes.generate_signing_key()
    code = stranger.sign(event["event_id"], ticket["ticket_id"])

    # When it is scanned
    answer = _scan(event["event_id"], code)

    # Then it is refused, naming the unknown key, and the ticket is not checked in
    assert (answer.status, answer.code) == (400, "unknown_ticket_key"), answer
    assert answer.body["error"]["key_id"] == stranger.key_id
    stored = factories.get_item(ticket["pk"])
    assert stored is not None
    assert stored["status"] == "issued"


def test_a_reissued_code_is_revoked_the_holder_emailed_and_no_other_ticket_touched(
    aws: Any,
) -> None:
    # Given Alice's leaked ticket and Bob's ticket for the same event
    event = create_event(capacity=10)
    leaked = _ticket(event, name="Alice Liddell")
    bobs = _ticket(event, buyer=BOB)
    counts_before = factories.stock_counts(event["event_id"])
    bobs_before = factories.get_item(f"TICKET#{bobs['ticket_id']}")

    # When the organizer reissues Alice's ticket
    answer = post("/reissue-ticket", {"ticket_id": leaked["ticket_id"]}, user=ORGANIZER)

    # Then Alice holds a new ticket, same order, type and name, with a new genuine code
    assert answer.status == 200, answer
    new = answer.body["ticket"]
    assert answer.body["reissued"] == leaked["ticket_id"]
    assert new["ticket_id"] != leaked["ticket_id"]
    assert new["code"] != leaked["code"]
    assert (new["holder"], new["status"], new["attendee_name"]) == (
        ALICE,
        "issued",
        "Alice Liddell",
    )
    assert (new["order_id"], new["ticket_type_id"]) == (
        leaked["order_id"],
        leaked["ticket_type_id"],
    )
    assert factories.verify_code(new["code"]).ticket_id == new["ticket_id"]
    # and its new QR image scans as the new code
    assert factories.decode_qr_png(factories.stored_qr(new["ticket_id"])) == [new["code"]]
    # and she is emailed the new code
    (mail,) = sent_to(ALICE)
    assert new["code"] in mail["Message"]
    assert leaked["code"] not in mail["Message"]
    # and the old code is in the event's revocation list and refused at the door, with why
    listed = revocations(event["event_id"]).body["revocations"]
    assert [(r["ticket_id"], r["reason"]) for r in listed] == [(leaked["ticket_id"], "reissued")]
    refused = _scan(event["event_id"], leaked["code"])
    assert (refused.status, refused.code) == (409, "ticket_revoked")
    assert refused.body["error"]["reason"] == "reissued"
    assert "replaced by a new one" in refused.body["error"]["message"]
    # while the new code is admitted
    assert _scan(event["event_id"], new["code"]).status == 200
    # and Bob's ticket, the seats and the buyers' counts did not change (before check-in)
    assert factories.get_item(f"TICKET#{bobs['ticket_id']}") == bobs_before
    assert sent_to(BOB) == []
    counts_after = factories.stock_counts(event["event_id"])
    assert counts_after["buyers"] == counts_before["buyers"]
    assert counts_after["seats"]["sold"] == counts_before["seats"]["sold"]


def test_a_ticket_can_be_reissued_after_the_doors_open(aws: Any) -> None:
    event = create_event(capacity=5)
    ticket = _ticket(event)
    factories.start_event(event["event_id"])
    answer = post("/reissue-ticket", {"ticket_id": ticket["ticket_id"]}, user=ORGANIZER)
    assert answer.status == 200, answer
    assert _scan(event["event_id"], answer.body["ticket"]["code"]).status == 200


@pytest.mark.parametrize(
    ("situation", "status", "code"),
    [
        ("not-the-organizer", 403, "forbidden"),
        ("no-such-ticket", 404, "not_found"),
        ("malformed", 400, "validation_error"),
        ("already-checked-in", 409, "ticket_not_active"),
        ("already-reissued", 409, "ticket_not_active"),
        ("event-cancelled", 409, "ticket_not_active"),
    ],
)
def test_reissues_that_are_not_allowed_change_nothing(
    aws: Any, situation: str, status: int, code: str
) -> None:
    event = create_event(capacity=5)
    ticket = _ticket(event)
    body: dict[str, Any] = {"ticket_id": ticket["ticket_id"]}
    caller = ORGANIZER
    if situation == "not-the-organizer":
        caller = ALICE
    elif situation == "no-such-ticket":
        body["ticket_id"] = ids.new_id()
    elif situation == "malformed":
        body["ticket_id"] = "not an id"
    elif situation == "already-checked-in":
        assert _scan(event["event_id"], ticket["code"]).status == 200
    elif situation == "already-reissued":
        assert post("/reissue-ticket", body, user=ORGANIZER).status == 200
    elif situation == "event-cancelled":
        cancelled = post("/cancel-event", {"event_id": event["event_id"]}, user=ORGANIZER)
        assert cancelled.status == 200, cancelled
    before = _table_items()
    mails_before = len(sent_to(ALICE))

    answer = post("/reissue-ticket", body, user=caller)

    assert (answer.status, answer.code) == (status, code), answer
    assert _table_items() == before
    assert len(sent_to(ALICE)) == mails_before


@pytest.mark.parametrize(
    ("situation", "status", "code"),
    [
        ("not-the-organizer", 403, "forbidden"),
        ("no-such-event", 404, "not_found"),
        ("malformed", 400, "validation_error"),
    ],
)
def test_rotations_that_are_not_allowed_change_nothing(
    aws: Any, situation: str, status: int, code: str
) -> None:
    event = create_event(capacity=5)
    body: dict[str, Any] = {"event_id": event["event_id"]}
    caller = ORGANIZER
    if situation == "not-the-organizer":
        caller = ALICE
    elif situation == "no-such-event":
        body["event_id"] = ids.new_id()
    elif situation == "malformed":
        body = {"event_id": event["event_id"], "key_id": "mine"}
    before = _table_items()

    answer = post("/rotate-event-key", body, user=caller)

    assert (answer.status, answer.code) == (status, code), answer
    assert _table_items() == before


def test_the_keys_of_an_unknown_event_answer_404(aws: Any) -> None:
    assert event_keys(ids.new_id()).status == 404
    assert event_keys("not-an-id").status == 404


def test_an_event_from_before_per_event_keys_keeps_its_v1_codes_through_a_rotation(
    aws: Any,
) -> None:
    # Given an event created before per-event keys, with a version 1 ticket already issued
    event = factories.put_event(organizer=ORGANIZER, legacy=True, capacity=10)
    old = factories.put_ticket(event, holder=ALICE)
    assert len(old["code"]) == ticket_codes.LEGACY_CODE_LENGTH
    assert event_keys(event["event_id"]).body["verifying_keys"] == {
        "v1": ticket_codes.event_verifying_key(factories.ticket_seed(), event["event_id"])
    }
    # and a ticket sold before the backfill is still a version 1 code
    kind = event["ticket_type_id"]
    sold = order(event["event_id"], [(kind, "")], buyer=BOB).body["ticket"]
    assert ticket_codes.parse(sold["code"]).claims.key_id == "v1"

    # When the organizer (or the backfill) rotates its key
    rotated = post("/rotate-event-key", {"event_id": event["event_id"]}, user=ORGANIZER)

    # Then the event publishes v1 and its new key, and new tickets are version 2 codes
    assert rotated.status == 200, rotated
    assert set(rotated.body["verifying_keys"]) == {"v1", rotated.body["signing_key_id"]}
    new = order(event["event_id"], [(kind, "")], buyer="carol@example.com").body["ticket"]
    assert factories.verify_code(new["code"]).key_id == rotated.body["signing_key_id"]
    # and old, sold-before and new codes are all admitted
    for code in (old["code"], sold["code"], new["code"]):
        assert _scan(event["event_id"], code).status == 200


def test_tickets_of_one_event_open_its_key_once_per_container_and_check_in_never_calls_kms(
    aws: Any, aws_calls: list[tuple[str, str]]
) -> None:
    # Given an event, in a cold container
    event = create_event(capacity=20)
    ticket_keys.reset()
    aws_calls.clear()

    # When three orders are taken and their tickets scanned
    codes = [_ticket(event, buyer=f"buyer{n}@example.com")["code"] for n in range(3)]
    for code in codes:
        assert _scan(event["event_id"], code).status == 200

    # Then KMS opened the event's key once, and no scan called KMS
    assert aws_calls.count(("kms", "Decrypt")) == 1
    assert [call for call in aws_calls if call[0] == "kms" and call[1] != "Decrypt"] == []


def test_the_sample_rotation_runs(aws: Any) -> None:
    factories.put_event(event_id="gq4tmzbx7k2nw5hd", organizer=ORGANIZER)
    answer = rotate_event_key_app.lambda_handler(
        load_event("rotate-event-key.json"), LambdaContext()
    )
    assert answer["statusCode"] == 200, answer["body"]
    assert len(json_body(answer)["verifying_keys"]) == 2


def test_the_sample_reissue_runs_and_emails_the_holder(aws: Any) -> None:
    event = factories.put_event(event_id="gq4tmzbx7k2nw5hd", organizer=ORGANIZER)
    factories.put_ticket(event, holder=ALICE, ticket_id="oruwg23foqydambr")
    answer = reissue_ticket_app.lambda_handler(load_event("reissue-ticket.json"), LambdaContext())
    assert answer["statusCode"] == 200, answer["body"]
    new = json_body(answer)["ticket"]
    assert [new["code"] in mail["Message"] for mail in sent_to(ALICE)] == [True]


def test_the_sample_keys_read_runs(aws: Any) -> None:
    sample = load_event("events-read-keys.json")
    assert sample["resource"] == "/events/{event_id}/keys"
    event = factories.put_event(event_id=sample["pathParameters"]["event_id"])
    answer = events_read_app.lambda_handler(sample, LambdaContext())
    assert answer["statusCode"] == 200, answer["body"]
    assert json_body(answer)["verifying_keys"] == {event["signing_key_id"]: event["verifying_key"]}


def test_the_backfill_gives_each_old_event_a_key_once_and_leaves_the_others(aws: Any) -> None:
    from ops.backfill_ticket_keys import backfill

    # Given two events from before per-event keys, one with a v1 ticket, and a new event
    old = factories.put_event(organizer=ORGANIZER, legacy=True)
    older = factories.put_event(organizer="oscar@example.com", legacy=True)
    ticket = factories.put_ticket(old, holder=ALICE)
    new = create_event()
    new_keys = event_keys(new["event_id"]).body
    stack = factories.settings()

    # When the backfill runs (a dry run first, then twice)
    dry = backfill(stack.ticketing_table, stack.ticket_keys_key_id, dry_run=True)
    first = backfill(stack.ticketing_table, stack.ticket_keys_key_id)
    second = backfill(stack.ticketing_table, stack.ticket_keys_key_id)

    # Then the dry run changed nothing, the first run rotated exactly the old events, the
    # second found nothing left
    assert dry["pending"] == sorted([old["event_id"], older["event_id"]])
    assert dry["rotated"] == {}
    assert set(first["rotated"]) == {old["event_id"], older["event_id"]}
    assert first["failed"] == {}
    assert second == {"pending": [], "rotated": {}, "failed": {}, "dry_run": False}
    # and each old event now signs with its own key and still publishes v1
    published = event_keys(old["event_id"]).body
    assert published["signing_key_id"] == first["rotated"][old["event_id"]]
    assert set(published["verifying_keys"]) == {"v1", published["signing_key_id"]}
    # so its v1 ticket is still admitted; the new event's keys did not move
    assert _scan(old["event_id"], ticket["code"]).status == 200
    assert event_keys(new["event_id"]).body == new_keys
