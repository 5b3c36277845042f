"""POST /create-event against moto: validation, the stored item, inline images and pre-signed
uploads, and that a failed write never leaves half an event behind."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devstack.template import ROOT
from functions.create_event import app as create_event_app
from gatepass import clients, ids, ticket_codes
from tests.conftest import aws_client, load_event
from tests.support import images
from tests.support.api import api_event, json_body
from tests.support.factories import get_item, settings, ticket_seed

pytestmark = pytest.mark.integration

ORGANIZER = "olivia@example.com"
MB = 1024 * 1024


def future(days: int = 30, offset: str = "+02:00") -> str:
    moment = datetime.now(UTC) + timedelta(days=days)
    return moment.strftime("%Y-%m-%dT19:30:00") + offset


def event_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Harbour Lights",
        "description": "Chamber music by the water.",
        "venue": "Old Customs House, Gothenburg",
        "starts_at": future(),
        "capacity": 180,
    }
    body.update(overrides)
    return body


def inline(data: bytes, content_type: str = "image/jpeg") -> dict[str, str]:
    return {"content_type": content_type, "data": base64.b64encode(data).decode("ascii")}


def post(body: Any, lambda_context: Any, user: str | None = ORGANIZER) -> dict[str, Any]:
    event = api_event("POST", "/create-event", body=body, user=user)
    response: dict[str, Any] = create_event_app.lambda_handler(event, lambda_context)
    return response


def all_events() -> list[dict[str, Any]]:
    table = clients.dynamodb_table(settings().ticketing_table)
    return [i for i in table.scan()["Items"] if i.get("entity") == "event"]


def uploads() -> list[str]:
    listed = aws_client("s3").list_objects_v2(Bucket=settings().uploads_bucket)
    return [o["Key"] for o in listed.get("Contents", [])]


@pytest.fixture
def fixed_ids(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    # The event, its upload and its one ticket type.
    chosen = ["mfrggzdfmztwq2lk", "nbswy3dpo5xxe3de", "onxw2zlunbqxe2lt"]
    pending = list(chosen)
    monkeypatch.setattr(ids, "new_id", lambda: pending.pop(0))
    return chosen


def test_an_event_without_an_image_is_stored_as_documented(aws, lambda_context) -> None:
    # Given a signed-in organizer
    # When she creates an event without an image
    starts_at = future(days=10, offset="+02:00")
    response = post(event_body(starts_at=starts_at), lambda_context)

    # Then she gets the public event back, without her address in it
    assert response["statusCode"] == 201
    body = json_body(response)
    assert body["upload"] is None
    event = body["event"]
    assert "organizer" not in json.dumps(body)
    assert ORGANIZER not in json.dumps(body)
    assert event["image_status"] == "none"
    assert event["image"] is None
    assert (event["capacity"], event["sold"], event["seats_left"], event["checked_in"]) == (
        180,
        0,
        180,
        0,
    )
    # And the item holds exactly the documented keys and attributes
    event_id = event["event_id"]
    assert ids.is_id(event_id)
    item = get_item(f"EVENT#{event_id}")
    assert item is not None
    expected_utc = datetime.fromisoformat(starts_at).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert item["starts_at"] == expected_utc == event["starts_at"]
    assert item["starts_at_local"] == starts_at == event["starts_at_local"]
    assert item["gsi1pk"] == "EVENTS"
    assert item["gsi1sk"] == f"{expected_utc}#{event_id}"
    assert item["gsi2pk"] == f"ORGANIZER#{ORGANIZER}"
    assert item["gsi2sk"] == f"{item['created_at']}#{event_id}"
    assert item["organizer"] == ORGANIZER
    assert item["entity"] == "event"
    assert item["version"] == 1
    # and its seats and its one type ("General admission", the capacity as quota) beside it
    seats = get_item(f"EVENT#{event_id}", "SEATS")
    assert seats is not None
    assert (seats["capacity"], seats["available"], seats["sold"], seats["checked_in"]) == (
        event["capacity"],
        event["capacity"],
        0,
        0,
    )
    (kind,) = event["ticket_types"]
    stored_type = get_item(f"EVENT#{event_id}", f"TYPE#{kind['ticket_type_id']}")
    assert stored_type is not None
    assert (stored_type["name"], stored_type["quota"], stored_type["available"]) == (
        "General admission",
        event["capacity"],
        event["capacity"],
    )
    assert item["image_status"] == "none"
    assert "image_upload_key" not in item
    # and its own signing key: the public half published, the private half only sealed
    key_id = item["signing_key_id"]
    assert ticket_codes.KEY_ID_PATTERN.match(key_id)
    assert item["verifying_keys"] == {key_id: item["verifying_key"]}
    assert event["verifying_key"] == item["verifying_key"]
    sealed = get_item(f"SIGNINGKEY#{event_id}", f"KEY#{key_id}")
    assert sealed is not None
    assert sealed["public_key"] == item["verifying_key"]
    assert len(bytes(sealed["ciphertext"].value)) == 32 + 16  # AES-GCM of the 32 private bytes
    assert item["verifying_key"] != ticket_codes.event_verifying_key(ticket_seed(), event_id)


def test_the_sample_event_asks_for_a_presigned_upload(aws, lambda_context) -> None:
    # Given the events/ sample that asks to upload a 2.4 MB JPEG from the browser
    event = load_event("create-event.json")

    # When it is sent as sam local invoke would
    response = create_event_app.lambda_handler(event, lambda_context)

    # Then the event waits for its upload, and the pre-signed POST pins key, type and size
    assert response["statusCode"] == 201
    body = json_body(response)
    assert body["event"]["image_status"] == "awaiting_upload"
    upload = body["upload"]
    item = get_item(f"EVENT#{body['event']['event_id']}")
    assert item is not None
    assert item["organizer"] == "organizer@example.com"
    key = item["image_upload_key"]
    assert key.startswith(f"events/{body['event']['event_id']}/")
    bucket = settings().uploads_bucket
    assert bucket in upload["url"]
    fields = upload["fields"]
    assert fields["key"] == key
    assert fields["Content-Type"] == "image/jpeg"
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert {"bucket": bucket} in conditions
    assert {"key": key} in conditions
    assert {"Content-Type": "image/jpeg"} in conditions
    assert ["content-length-range", 1, 2_400_000] in conditions
    # And the policy and the answer expire after PRESIGNED_URL_TTL_SECONDS
    ttl = settings().presigned_url_ttl_seconds
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    expires_at = datetime.fromisoformat(upload["expires_at"].replace("Z", "+00:00"))
    now = datetime.now(UTC)
    assert timedelta(seconds=ttl - 60) < expiration - now <= timedelta(seconds=ttl)
    assert abs((expires_at - expiration).total_seconds()) <= 2


def test_the_sample_inline_image_lands_in_the_uploads_bucket(aws, lambda_context) -> None:
    # Given the events/ sample with a small inline JPEG
    event = load_event("create-event-inline-image.json")
    sent = json.loads(event["body"])["image"]

    # When it is sent
    response = create_event_app.lambda_handler(event, lambda_context)

    # Then the event is processing, and the image waits in the uploads bucket for the pipeline
    assert response["statusCode"] == 201
    body = json_body(response)
    assert body["event"]["image_status"] == "processing"
    assert body["upload"] is None
    item = get_item(f"EVENT#{body['event']['event_id']}")
    assert item is not None
    assert item["image_status"] == "processing"
    stored = clients.client("s3").get_object(
        Bucket=settings().uploads_bucket, Key=item["image_upload_key"]
    )
    assert stored["ContentType"] == "image/jpeg"
    assert stored["Body"].read() == base64.b64decode(sent["data"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 141}, "title"),
        ({"title": None}, "title"),
        ({"description": "x" * 5001}, "description"),
        ({"venue": "x" * 201}, "venue"),
        ({"starts_at": "2031-06-20T19:30:00"}, "starts_at"),
        ({"starts_at": "2031-06-20"}, "starts_at"),
        ({"starts_at": "next friday"}, "starts_at"),
        ({"starts_at": "2020-06-20T19:30:00Z"}, "starts_at"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 100_001}, "capacity"),
        ({"capacity": "100"}, "capacity"),
        ({"capacity": 12.5}, "capacity"),
        ({"image": {"content_type": "image/gif", "data": "R0lGODlhAQABAAAAACw="}}, "image"),
        ({"image": {"content_type": "image/jpeg", "data": "not*base64!"}}, "image.data"),
        ({"image_upload": {"content_type": "image/svg+xml", "size": 1000}}, "image_upload"),
        ({"image_upload": {"content_type": "image/png", "size": 0}}, "image_upload"),
        ({"ticket_price": 10}, "ticket_price"),
    ],
)
def test_invalid_requests_answer_400_and_store_nothing(
    aws, lambda_context, change: dict[str, Any], field: str
) -> None:
    # Given a request with one thing wrong
    body = event_body(**change)

    # When it is sent
    response = post(body, lambda_context)

    # Then it answers 400 naming the field, and nothing is stored
    assert response["statusCode"] == 400
    error = json_body(response)["error"]
    assert error["code"] == "validation_error"
    assert any(p["field"].startswith(field) for p in error["problems"]), error
    assert all_events() == []
    assert uploads() == []


def test_a_required_field_that_is_missing_answers_400(aws, lambda_context) -> None:
    body = event_body()
    del body["capacity"]
    response = post(body, lambda_context)
    assert response["statusCode"] == 400
    assert json_body(response)["error"]["problems"][0]["field"] == "capacity"
    assert all_events() == []


def test_both_image_sources_at_once_answer_400(aws, lambda_context) -> None:
    body = event_body(
        image=inline(images.jpeg((64, 64))),
        image_upload={"content_type": "image/jpeg", "size": 1000},
    )
    response = post(body, lambda_context)
    assert response["statusCode"] == 400
    assert "not both" in json.dumps(json_body(response))
    assert all_events() == []
    assert uploads() == []


def test_an_inline_image_over_5_mb_answers_413(aws, lambda_context) -> None:
    # Given an inline image one byte over 5 MB once decoded
    body = event_body(image=inline(b"\xff\xd8\xff" + b"\0" * (5 * MB - 2)))

    # When it is sent
    response = post(body, lambda_context)

    # Then it answers 413 and stores neither event nor upload
    assert response["statusCode"] == 413
    assert json_body(response)["error"]["code"] == "payload_too_large"
    assert all_events() == []
    assert uploads() == []


def test_an_inline_image_of_exactly_5_mb_is_accepted(aws, lambda_context) -> None:
    body = event_body(image=inline(b"\xff\xd8\xff" + b"\0" * (5 * MB - 3)))
    response = post(body, lambda_context)
    assert response["statusCode"] == 201
    assert len(uploads()) == 1


def test_an_announced_upload_over_5_mb_answers_413(aws, lambda_context) -> None:
    body = event_body(image_upload={"content_type": "image/png", "size": 5 * MB + 1})
    response = post(body, lambda_context)
    assert response["statusCode"] == 413
    assert json_body(response)["error"]["code"] == "payload_too_large"
    assert all_events() == []


def test_signing_in_is_required(aws, lambda_context) -> None:
    response = post(event_body(), lambda_context, user=None)
    assert response["statusCode"] == 401
    assert json_body(response)["error"]["code"] == "unauthorized"
    assert all_events() == []


def test_when_the_image_cannot_be_stored_no_event_exists(aws, lambda_context) -> None:
    # Given the uploads bucket is unavailable
    aws_client("s3").delete_bucket(Bucket=settings().uploads_bucket)

    # When an organizer creates an event with an inline image
    response = post(event_body(image=inline(images.jpeg((320, 200)))), lambda_context)

    # Then she is told to try again, and there is no event without its image
    assert response["statusCode"] == 503
    assert json_body(response)["error"]["code"] == "service_unavailable"
    assert all_events() == []


def test_when_the_event_cannot_be_saved_its_upload_is_removed(
    aws, lambda_context, fixed_ids
) -> None:
    # Given the table refuses the write (here: an event with the same id already exists)
    event_id = fixed_ids[0]
    table = clients.dynamodb_table(settings().ticketing_table)
    table.put_item(Item={"pk": f"EVENT#{event_id}", "sk": "META", "title": "Earlier event"})

    # When an organizer creates an event with an inline image
    response = post(event_body(image=inline(images.jpeg((320, 200)))), lambda_context)

    # Then the request fails cleanly and the already stored image is taken back
    assert response["statusCode"] == 503
    assert uploads() == []
    earlier = get_item(f"EVENT#{event_id}")
    assert earlier is not None
    assert earlier["title"] == "Earlier event"


def test_create_event_does_not_load_pillow() -> None:
    """Create-event stays quick to cold-start: image work happens in the pipeline."""
    code = (
        "import sys; import functions.create_event.app; sys.exit(1 if 'PIL' in sys.modules else 0)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers")])}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
