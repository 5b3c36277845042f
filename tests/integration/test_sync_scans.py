"""POST /sync-scans against moto: a scanner's queue recorded exactly once however often it is
resent, conflicts between offline gates kept and reported, a revoked member's queued scans
refused and reported (docs/decisions/0062)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.check_in import app as check_in_app
from functions.door import app as door_app
from gatepass import keys, ticket_codes
from tests.conftest import aws_client, load_event
from tests.support import factories
from tests.support.api import api_event, json_body

pytestmark = pytest.mark.integration

ORGANIZER = "olivia@example.com"
STAFF = "sam@example.com"


def sync(
    lambda_context: Any, event_id: str, scans: list[dict[str, Any]], user: str = ORGANIZER
) -> dict[str, Any]:
    request = api_event(
        "POST", "/sync-scans", body={"event_id": event_id, "scans": scans}, user=user
    )
    response: dict[str, Any] = check_in_app.lambda_handler(request, lambda_context)
    return response


def queued(
    nonce: str, code: str, at: str = "2026-12-02T19:00:00Z", **fields: Any
) -> dict[str, Any]:
    return {"nonce": nonce, "code": code, "scanned_at": at, **fields}


def door(lambda_context: Any, event_id: str) -> dict[str, Any]:
    request = api_event(
        "GET",
        f"/events/{event_id}/door",
        user=ORGANIZER,
        path_parameters={"event_id": event_id},
        resource="/events/{event_id}/door",
    )
    answer: dict[str, Any] = json_body(door_app.lambda_handler(request, lambda_context))
    return answer


def invite(lambda_context: Any, event_id: str, email: str, path: str = "/add-door-staff") -> None:
    request = api_event("POST", path, body={"event_id": event_id, "email": email}, user=ORGANIZER)
    assert door_app.lambda_handler(request, lambda_context)["statusCode"] == 200


def test_a_queue_resent_three_times_is_recorded_once(aws: Any, lambda_context: Any) -> None:
    # Given a scanner that admitted Alice and Bob offline
    event = factories.put_event(organizer=ORGANIZER)
    alice = factories.put_ticket(event, holder="alice@example.com", attendee_name="Alice")
    bob = factories.put_ticket(event, holder="bob@example.com", attendee_name="Bob")
    scans = [
        queued("scan-alice-0001", alice["code"]),
        queued("scan-bob-00002", bob["code"], "2026-12-02T19:00:05Z"),
    ]

    # When it sends its queue three times (the answer was lost twice)
    answers = [json_body(sync(lambda_context, event["event_id"], scans)) for _ in range(3)]

    # Then the first delivery admitted both, and the others answer the same without recording
    first, *again = answers
    assert [r["outcome"] for r in first["results"]] == ["admitted", "admitted"]
    assert [r["duplicate"] for r in first["results"]] == [False, False]
    for answer in again:
        assert [r["outcome"] for r in answer["results"]] == ["admitted", "admitted"]
        assert [r["duplicate"] for r in answer["results"]] == [True, True]
    # and two people arrived, once each, at the time the scanner saw them
    totals = door(lambda_context, event["event_id"])["totals"]
    assert (totals["arrived"], totals["inside"]) == (2, 2)
    stored = factories.get_item(alice["pk"])
    assert stored is not None
    assert stored["checked_in_at"] == "2026-12-02T19:00:00Z"
    assert stored["entries"] == 1


def test_two_offline_gates_admitting_one_ticket_keep_both_scans_and_report_the_conflict(
    aws: Any, lambda_context: Any
) -> None:
    # Given Sam at one gate and Olivia at another both admitted Alice's ticket offline
    event = factories.put_event(organizer=ORGANIZER)
    invite(lambda_context, event["event_id"], STAFF)
    alice = factories.put_ticket(event, holder="alice@example.com", attendee_name="Alice")

    # When Sam's scanner syncs first, then Olivia's
    by_sam = sync(
        lambda_context,
        event["event_id"],
        [queued("sam-scan-0001", alice["code"], "2026-12-02T19:00:00Z")],
        user=STAFF,
    )
    by_olivia = sync(
        lambda_context,
        event["event_id"],
        [queued("olivia-scan-01", alice["code"], "2026-12-02T19:01:00Z")],
    )

    # Then Sam's scan is the check-in, Olivia's is kept as a conflict naming the first
    assert json_body(by_sam)["results"][0]["outcome"] == "admitted"
    conflict = json_body(by_olivia)["results"][0]
    assert conflict["outcome"] == "conflict"
    assert conflict["first_checked_in_at"] == "2026-12-02T19:00:00Z"
    # and there is one check-in, one conflict the organizer sees
    shown = door(lambda_context, event["event_id"])
    assert shown["totals"]["arrived"] == 1
    [issue] = shown["issues"]
    assert issue["kind"] == "conflict"
    assert issue["scanned_by"] == ORGANIZER
    assert issue["first_checked_in_by"] == STAFF
    assert issue["attendee_name"] == "Alice"
    # and resending Olivia's scan changes nothing
    resent = json_body(
        sync(
            lambda_context,
            event["event_id"],
            [queued("olivia-scan-01", alice["code"], "2026-12-02T19:01:00Z")],
        )
    )
    assert resent["results"][0]["duplicate"] is True
    assert len(door(lambda_context, event["event_id"])["issues"]) == 1


def test_a_revoked_members_queued_scans_are_refused_and_reported(
    aws: Any, lambda_context: Any
) -> None:
    # Given Sam admitted Bob offline, and Olivia revoked Sam before his scanner came back
    event = factories.put_event(organizer=ORGANIZER)
    invite(lambda_context, event["event_id"], STAFF)
    bob = factories.put_ticket(event, holder="bob@example.com", attendee_name="Bob")
    invite(lambda_context, event["event_id"], STAFF, path="/remove-door-staff")

    # When Sam's scanner syncs
    response = sync(
        lambda_context, event["event_id"], [queued("sam-scan-bob1", bob["code"])], user=STAFF
    )

    # Then the scan is refused with the reason and Bob is not checked in
    assert response["statusCode"] == 200
    [result] = json_body(response)["results"]
    assert (result["outcome"], result["code"]) == ("refused", "staff_revoked")
    stored = factories.get_item(bob["pk"])
    assert stored is not None
    assert stored["status"] == "issued"
    # and the organizer sees it reported
    [issue] = door(lambda_context, event["event_id"])["issues"]
    assert (issue["kind"], issue["scanned_by"]) == ("staff_revoked", STAFF)


def test_someone_who_never_was_staff_cannot_sync(aws: Any, lambda_context: Any) -> None:
    event = factories.put_event(organizer=ORGANIZER)
    bob = factories.put_ticket(event, holder="bob@example.com")
    response = sync(
        lambda_context,
        event["event_id"],
        [queued("eve-scan-0001", bob["code"])],
        user="eve@example.com",
    )
    assert response["statusCode"] == 403
    assert json_body(response)["error"]["code"] == "not_door_staff"
    assert door(lambda_context, event["event_id"])["issues"] == []


def test_online_refusals_are_answers_not_conflicts(aws: Any, lambda_context: Any) -> None:
    # Given a VIP-only gate and a general-admission ticket, and a forged code
    event = factories.put_event(organizer=ORGANIZER)
    ticket = factories.put_ticket(event, attendee_name="Alice")
    factories.put_gate(event["event_id"], "nbswy3dpo5xxe3de", name="VIP", mode="entry")
    from gatepass.dal.door import DynamoDoorStore

    DynamoDoorStore(factories.settings().ticketing_table).update_gate(
        event["event_id"], "nbswy3dpo5xxe3de", {"ticket_type_ids": ["mfrggzdfmztwq2lk"]}
    )
    forged = ticket["code"][:-4] + ("AAAA" if not ticket["code"].endswith("AAAA") else "BBBB")

    # When a scanner online sends them for an answer
    answer = json_body(
        sync(
            lambda_context,
            event["event_id"],
            [
                queued("online-0000001", ticket["code"], gate_id="nbswy3dpo5xxe3de", offline=False),
                queued("online-0000002", forged, offline=False),
            ],
        )
    )

    # Then each is refused with its reason, and nothing is reported to the organizer
    assert [(r["outcome"], r["code"]) for r in answer["results"]] == [
        ("refused", "wrong_gate"),
        ("refused", "invalid_ticket_code"),
    ]
    assert answer["results"][0]["attendee_name"] == "Alice"
    assert door(lambda_context, event["event_id"])["issues"] == []


@pytest.mark.parametrize(
    "scans",
    [
        [],
        [{"nonce": "x", "code": "A", "scanned_at": "2026-12-02T19:00:00Z"}],
        [{"nonce": "abcdefgh1", "code": "A", "scanned_at": "yesterday"}],
    ],
    ids=["empty", "short-nonce", "bad-time"],
)
def test_a_malformed_queue_answers_400(aws: Any, lambda_context: Any, scans: list[Any]) -> None:
    event = factories.put_event(organizer=ORGANIZER)
    response = sync(lambda_context, event["event_id"], scans)
    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "validation_error"


SAMPLE_TICKET_SECRET = "gatepass-sample-ticket-key-for-the-events-folder-only"


def test_the_sample_sync_scans_event_records_its_scan(aws: Any, lambda_context: Any) -> None:
    # Given the deployment's ticket key is the one the sample code was signed with
    aws_client("secretsmanager").put_secret_value(
        SecretId=factories.settings().ticket_key_secret_arn, SecretString=SAMPLE_TICKET_SECRET
    )
    keys.reset()
    sample = load_event("check-in-sync-scans.json")
    body = json.loads(sample["body"])
    # (a version 1 code: its event was created before per-event keys, docs/decisions/0064)
    published = ticket_codes.event_verifying_key(factories.ticket_seed(), body["event_id"])
    scanned = ticket_codes.verify_with_public_key(published, body["scans"][0]["code"])
    organizer = sample["requestContext"]["authorizer"]["principalId"]
    event = factories.put_event(organizer=organizer, event_id=body["event_id"], legacy=True)
    factories.put_ticket(event, ticket_id=scanned.ticket_id)

    # When the sample runs twice
    first = check_in_app.lambda_handler(sample, lambda_context)
    second = check_in_app.lambda_handler(sample, lambda_context)

    # Then the scan is admitted once
    assert json_body(first)["results"][0]["outcome"] == "admitted"
    assert json_body(second)["results"][0]["duplicate"] is True
    assert factories.seats(body["event_id"])["checked_in"] == 1


def test_a_ticket_revoked_after_the_bundle_was_downloaded_is_reported(
    aws: Any, lambda_context: Any
) -> None:
    # Given a scanner admitted Carol offline, but her ticket was cancelled after its download
    event = factories.put_event(organizer=ORGANIZER)
    carol = factories.put_ticket(
        event, holder="carol@example.com", attendee_name="Carol", status="cancelled"
    )

    # When the scanner syncs
    answer = json_body(
        sync(lambda_context, event["event_id"], [queued("carol-scan-01", carol["code"])])
    )

    # Then the scan is refused as revoked, Carol is not counted, and the organizer sees it
    [result] = answer["results"]
    assert (result["outcome"], result["code"]) == ("refused", "ticket_revoked")
    shown = door(lambda_context, event["event_id"])
    assert shown["totals"]["arrived"] == 0
    [issue] = shown["issues"]
    assert (issue["kind"], issue["attendee_name"]) == ("ticket_revoked", "Carol")
