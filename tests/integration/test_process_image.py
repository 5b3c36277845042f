"""The S3-triggered image pipeline against moto: create-event writes the upload, the
process_image handler gets the S3 notification for it, and the event settles."""

from __future__ import annotations

import base64
import copy
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import pytest
from PIL import Image

from functions.create_event import app as create_event_app
from functions.events_read import app as events_read_app
from functions.process_image import app as process_image_app
from gatepass import clients, ids
from gatepass.logic.images import EventNotRecordedYet
from tests.conftest import aws_client, load_event
from tests.support import images
from tests.support.api import api_event, json_body
from tests.support.factories import get_item, settings

pytestmark = pytest.mark.integration

MB = 1024 * 1024


def s3_event(*keys: str, bucket: str | None = None) -> dict[str, Any]:
    """The notification S3 sends for new objects, built from the events/ sample."""
    sample = load_event("process-image.json")
    records = []
    for key in keys:
        record = copy.deepcopy(sample["Records"][0])
        record["s3"]["bucket"]["name"] = bucket or settings().uploads_bucket
        record["s3"]["object"]["key"] = quote_plus(key, safe="/")
        records.append(record)
    return {"Records": records}


def create_event(lambda_context: Any, **image: Any) -> dict[str, Any]:
    starts = (datetime.now(UTC) + timedelta(days=14)).strftime("%Y-%m-%dT20:00:00Z")
    body = {"title": "Open Air Cinema", "starts_at": starts, "capacity": 300, **image}
    response = create_event_app.lambda_handler(
        api_event("POST", "/create-event", body=body, user="olivia@example.com"), lambda_context
    )
    assert response["statusCode"] == 201, response["body"]
    item = get_item(f"EVENT#{json_body(response)['event']['event_id']}")
    assert item is not None
    return item


def create_with_inline(lambda_context: Any, data: bytes, content_type: str) -> dict[str, Any]:
    encoded = base64.b64encode(data).decode("ascii")
    return create_event(lambda_context, image={"content_type": content_type, "data": encoded})


def process(lambda_context: Any, *keys: str) -> dict[str, Any]:
    result: dict[str, Any] = process_image_app.lambda_handler(s3_event(*keys), lambda_context)
    return result


def media_objects() -> dict[str, bytes]:
    s3, bucket = aws_client("s3"), settings().media_bucket
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def upload_exists(key: str) -> bool:
    listed = aws_client("s3").list_objects_v2(Bucket=settings().uploads_bucket, Prefix=key)
    return bool(listed.get("Contents"))


def put_upload(key: str, data: bytes, content_type: str = "image/jpeg") -> None:
    clients.client("s3").put_object(
        Bucket=settings().uploads_bucket, Key=key, Body=data, ContentType=content_type
    )


@pytest.fixture
def fixed_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """The event and upload ids the events/process-image.json sample names (and the id of the
    event's one ticket type)."""
    pending = ["mfrggzdfmztwq2lk", "nbswy3dpo5xxe3de", "onxw2zlunbqxe2lt"]
    monkeypatch.setattr(ids, "new_id", lambda: pending.pop(0))


def test_the_sample_notification_settles_a_browser_upload(aws, lambda_context, fixed_ids) -> None:
    # Given an event waiting for the upload the sample notification names
    event = create_event(lambda_context, image_upload={"content_type": "image/jpeg", "size": MB})
    assert event["image_upload_key"] == "events/mfrggzdfmztwq2lk/nbswy3dpo5xxe3de"
    # And the browser has uploaded its JPEG with the pre-signed POST
    put_upload(event["image_upload_key"], images.jpeg((2000, 1500)))

    # When S3 notifies the function with the sample event
    result = process_image_app.lambda_handler(load_event("process-image.json"), lambda_context)

    # Then the event's image is ready, with renditions in the media bucket
    assert [r["result"] for r in result["results"]] == ["ready"]
    item = get_item("EVENT#mfrggzdfmztwq2lk")
    assert item is not None
    assert item["image_status"] == "ready"
    assert "image_reason" not in item
    assert item["image_display_key"] == "events/mfrggzdfmztwq2lk/display.jpg"
    assert item["image_thumbnail_key"] == "events/mfrggzdfmztwq2lk/thumbnail.jpg"
    assert (item["image_width"], item["image_height"], item["version"]) == (1600, 1200, 2)
    assert set(media_objects()) == {item["image_display_key"], item["image_thumbnail_key"]}
    # And the raw upload is gone
    assert not upload_exists(event["image_upload_key"])


def test_an_inline_photo_is_oriented_resized_and_stripped(aws, lambda_context) -> None:
    # Given an event created with a camera photo: 2400x1600 stored sideways (EXIF orientation
    # 6), with the camera make and a GPS position in its EXIF
    event = create_with_inline(
        lambda_context, images.jpeg((2400, 1600), orientation=6), "image/jpeg"
    )
    assert event["image_status"] == "processing"

    # When the pipeline gets the notification for the object create-event wrote
    process(lambda_context, event["image_upload_key"])

    # Then the event is ready and both renditions stand upright within their limits
    item = get_item(event["pk"])
    assert item is not None
    assert item["image_status"] == "ready"
    stored = media_objects()
    display = Image.open(io.BytesIO(stored[item["image_display_key"]]))
    thumbnail = Image.open(io.BytesIO(stored[item["image_thumbnail_key"]]))
    assert display.size == (1067, 1600)
    assert thumbnail.size == (267, 400)
    assert (item["image_width"], item["image_height"]) == display.size
    # And nothing of the camera's metadata is left in them
    for rendition in (display, thumbnail):
        assert rendition.format == "JPEG"
        assert len(rendition.getexif()) == 0
        assert "exif" not in rendition.info
        assert "icc_profile" not in rendition.info
        assert b"Gatepass Test Camera" not in stored[item["image_display_key"]]


def test_a_ready_image_is_served_through_presigned_urls(aws, lambda_context) -> None:
    # Given an event whose PNG cover has been processed
    event = create_with_inline(lambda_context, images.png((900, 600)), "image/png")
    process(lambda_context, event["image_upload_key"])

    # When anyone reads the event
    response = events_read_app.lambda_handler(
        api_event(
            "GET",
            f"/events/{event['event_id']}",
            resource="/events/{event_id}",
            path_parameters={"event_id": event["event_id"]},
        ),
        lambda_context,
    )

    # Then it links to both renditions with short-lived pre-signed GETs
    assert response["statusCode"] == 200
    image = json_body(response)["image"]
    assert (image["width"], image["height"]) == (900, 600)
    ttl = settings().presigned_url_ttl_seconds
    bucket = settings().media_bucket
    for name, url in (("display", image["display_url"]), ("thumbnail", image["thumbnail_url"])):
        assert bucket in url
        assert f"events/{event['event_id']}/{name}.jpg" in url
        assert f"X-Amz-Expires={ttl}" in url
        assert "X-Amz-Signature=" in url


def test_a_transparent_png_keeps_its_transparency_as_webp(aws, lambda_context) -> None:
    event = create_with_inline(lambda_context, images.png((640, 480), mode="RGBA"), "image/png")
    process(lambda_context, event["image_upload_key"])
    item = get_item(event["pk"])
    assert item is not None
    assert item["image_status"] == "ready"
    assert item["image_display_key"].endswith("/display.webp")
    display = Image.open(io.BytesIO(media_objects()[item["image_display_key"]]))
    assert display.format == "WEBP"
    assert display.mode == "RGBA"


REJECTED = [
    pytest.param(images.gif(), "image/jpeg", "not a JPEG, PNG or WebP", id="gif-sent-as-jpeg"),
    pytest.param(b"BEGIN:VCALENDAR\r\n", "image/jpeg", "not a JPEG, PNG or WebP", id="text.jpg"),
    pytest.param(images.png((300, 200)), "image/jpeg", "sent as JPEG but it is a PNG", id="lie"),
    pytest.param(images.webp((300, 200)), "image/png", "sent as PNG but it is a WebP", id="lie2"),
    pytest.param(images.png_claiming(60_000, 60_000), "image/png", "megapixels", id="header"),
    pytest.param(images.decompression_bomb(), "image/png", "megapixels", id="bomb"),
    pytest.param(images.truncated_jpeg(), "image/jpeg", "damaged or incomplete", id="truncated"),
]


@pytest.mark.parametrize(("data", "content_type", "reason"), REJECTED)
def test_a_bad_image_is_recorded_as_rejected(
    aws, lambda_context, data: bytes, content_type: str, reason: str
) -> None:
    # Given an event created with a file that is not an acceptable image
    event = create_with_inline(lambda_context, data, content_type)

    # When the pipeline gets its notification
    result = process(lambda_context, event["image_upload_key"])

    # Then the handler returns normally and the event says why the image was refused
    assert [r["result"] for r in result["results"]] == ["rejected"]
    item = get_item(event["pk"])
    assert item is not None
    assert item["image_status"] == "rejected"
    assert reason in item["image_reason"]
    assert item["version"] == 2
    # And nothing was published, and the raw upload is gone
    assert media_objects() == {}
    assert not upload_exists(event["image_upload_key"])
    # And the public event shows the reason
    public = events_read_app.lambda_handler(
        api_event(
            "GET",
            f"/events/{event['event_id']}",
            resource="/events/{event_id}",
            path_parameters={"event_id": event["event_id"]},
        ),
        lambda_context,
    )
    body = json_body(public)
    assert body["image_status"] == "rejected"
    assert body["image_reason"] == item["image_reason"]
    assert body["image"] is None


def test_an_upload_over_5_mb_is_rejected_from_its_size(aws, lambda_context) -> None:
    # Given a browser upload larger than announced (moto does not enforce POST policies)
    event = create_event(lambda_context, image_upload={"content_type": "image/jpeg", "size": MB})
    put_upload(event["image_upload_key"], b"\xff\xd8\xff" + b"\0" * (5 * MB))

    # When the pipeline gets its notification
    process(lambda_context, event["image_upload_key"])

    # Then the event says the image is too large
    item = get_item(event["pk"])
    assert item is not None
    assert item["image_status"] == "rejected"
    assert "larger than 5 MB" in item["image_reason"]


def test_an_older_upload_never_overwrites_the_current_one(aws, lambda_context) -> None:
    # Given an event whose current upload is K, and an older upload O of the same event
    event = create_event(lambda_context, image_upload={"content_type": "image/jpeg", "size": MB})
    current = event["image_upload_key"]
    older = f"events/{event['event_id']}/{ids.new_id()}"
    put_upload(older, images.jpeg((800, 600)))

    # When the older upload's notification arrives
    result = process(lambda_context, older)

    # Then nothing changes: the event still waits for K and no rendition is written
    assert [r["result"] for r in result["results"]] == ["superseded"]
    assert get_item(event["pk"]) == event
    assert media_objects() == {}

    # And when K has been processed, a late older upload still changes nothing
    put_upload(current, images.jpeg((1000, 500)))
    process(lambda_context, current)
    ready = get_item(event["pk"])
    assert ready is not None
    assert ready["image_status"] == "ready"
    renditions = media_objects()
    put_upload(older, images.jpeg((640, 640)))
    process(lambda_context, older)
    assert get_item(event["pk"]) == ready
    assert media_objects() == renditions


def test_a_repeated_notification_changes_nothing(aws, lambda_context) -> None:
    event = create_with_inline(lambda_context, images.jpeg((800, 600)), "image/jpeg")
    process(lambda_context, event["image_upload_key"])
    ready = get_item(event["pk"])

    result = process(lambda_context, event["image_upload_key"])

    assert [r["result"] for r in result["results"]] == ["skipped"]
    assert get_item(event["pk"]) == ready


def test_every_record_of_a_notification_is_processed(aws, lambda_context) -> None:
    # Given two events with uploads, and a stray object that is no event image
    first = create_with_inline(lambda_context, images.jpeg((640, 480)), "image/jpeg")
    second = create_with_inline(lambda_context, images.png((300, 300)), "image/png")
    put_upload("events/notes from the venue.txt", b"hello", "text/plain")

    # When one notification names all three (keys URL-encoded as S3 sends them)
    result = process(
        lambda_context,
        first["image_upload_key"],
        "events/notes from the venue.txt",
        second["image_upload_key"],
    )

    # Then both events are ready and the stray object is skipped
    assert [r["result"] for r in result["results"]] == ["ready", "skipped", "ready"]
    assert result["results"][1]["key"] == "events/notes from the venue.txt"
    for event in (first, second):
        item = get_item(event["pk"])
        assert item is not None
        assert item["image_status"] == "ready"


def test_an_upload_seen_before_its_event_is_retried(aws, lambda_context) -> None:
    # Given an upload whose event has not been written yet
    key = f"events/{ids.new_id()}/{ids.new_id()}"
    put_upload(key, images.jpeg((640, 480)))

    # When the notification arrives, the invocation fails so that Lambda retries it later
    with pytest.raises(EventNotRecordedYet):
        process(lambda_context, key)

    # And the upload is kept for that retry
    assert upload_exists(key)


def test_an_infrastructure_failure_is_raised_for_lambda_to_retry(aws, lambda_context) -> None:
    # Given an event with a good image, and a media bucket that has become unavailable
    event = create_with_inline(lambda_context, images.jpeg((640, 480)), "image/jpeg")
    aws_client("s3").delete_bucket(Bucket=settings().media_bucket)

    # When the notification arrives, the handler raises (retries, then the dead-letter queue)
    with pytest.raises(Exception, match="NoSuchBucket"):
        process(lambda_context, event["image_upload_key"])

    # And the event is not marked rejected: the image was fine, and the upload is kept
    item = get_item(event["pk"])
    assert item is not None
    assert item["image_status"] == "processing"
    assert upload_exists(event["image_upload_key"])
