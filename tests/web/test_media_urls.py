"""Event images: behind CloudFront (MEDIA_BASE_URL) pages and /api link to the distribution's
cached /media/<key>; without it (make dev, tests) they keep pre-signed S3 URLs."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.web.conftest import MEDIA_BUCKET
from tests.web.fake_api import FakeApi
from webapp.config import Config, WebConfigurationError

pytestmark = pytest.mark.web


def _client(make_app: Any, **changes: Any) -> FlaskClient:
    client: FlaskClient = make_app(**changes).test_client()
    client.environ_base["HTTP_X_FORWARDED_PROTO"] = "https"
    return client


def _event_with_image(fake_api: FakeApi) -> str:
    event = fake_api.publish(title="Harbour jazz night")
    fake_api.finish_image(event["event_id"])
    event_id: str = event["event_id"]
    return event_id


def _images(client: FlaskClient, event_id: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    page = client.get(f"/events/{event_id}")
    one = client.get(f"/api/events/{event_id}")
    catalog = client.get("/api/events")
    assert page.status_code == one.status_code == catalog.status_code == 200
    [listed] = [e for e in catalog.get_json()["events"] if e["event_id"] == event_id]
    return page.get_data(as_text=True), one.get_json()["image"], listed["image"]


def test_behind_cloudfront_pages_and_api_link_to_the_cached_media_path(
    make_app: Any, fake_api: FakeApi
) -> None:
    # Given the site as the nested stack's task definition configures it behind CloudFront
    client = _client(make_app, MEDIA_BASE_URL="/media")
    event_id = _event_with_image(fake_api)

    # When a visitor opens the event page, and a script reads the event and the catalog
    html, image, listed = _images(client, event_id)

    # Then every link is the distribution's /media/<key>: the same for everyone, cacheable
    display, thumbnail = (
        f"/media/events/{event_id}/display.jpg",
        f"/media/events/{event_id}/thumbnail.jpg",
    )
    assert f'src="{display}"' in html or f'src="{thumbnail}"' in html
    assert image["display_url"] == listed["display_url"] == display
    assert image["thumbnail_url"] == listed["thumbnail_url"] == thumbnail
    # And nothing points at the bucket or carries a signature
    assert MEDIA_BUCKET not in html
    assert "X-Amz-Signature" not in html
    assert MEDIA_BUCKET not in str(image) + str(listed)


def test_without_a_media_base_url_links_stay_pre_signed_s3_urls(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given the site as make dev and the tests run it (no CloudFront)
    event_id = _event_with_image(fake_api)

    # When the event is read as a page and as JSON
    html, image, listed = _images(client, event_id)

    # Then images are pre-signed GETs on the media bucket, as before
    for url in (image["display_url"], image["thumbnail_url"], listed["display_url"]):
        assert url.startswith(f"https://{MEDIA_BUCKET}.s3")
        assert "X-Amz-Signature=" in url
    assert f"events/{event_id}/display.jpg" in image["display_url"]
    assert "/media/events/" not in html
    assert "X-Amz-Signature=" in html


def test_a_cdn_on_another_origin_is_allowed_by_the_content_security_policy(
    make_app: Any, fake_api: FakeApi
) -> None:
    # Given media served from a separate https origin
    client = _client(make_app, MEDIA_BASE_URL="https://media.example.org/img/")
    event_id = _event_with_image(fake_api)

    # When the event is read
    page = client.get(f"/events/{event_id}")
    image = client.get(f"/api/events/{event_id}").get_json()["image"]

    # Then links name that origin, and the policy lets the browser load images from it
    assert image["display_url"] == f"https://media.example.org/img/events/{event_id}/display.jpg"
    img_src = next(
        d for d in page.headers["Content-Security-Policy"].split("; ") if d.startswith("img-src")
    )
    assert "https://media.example.org" in img_src.split()


@pytest.mark.parametrize("value", ["media", "http://media.example.org", "https://x/y?sig=1"])
def test_a_media_base_url_that_is_not_a_path_or_https_is_refused(
    web_config: Config, value: str
) -> None:
    env = {
        "SECRET_KEY": web_config.SECRET_KEY,
        "DATABASE_URL": "postgresql://gatepass@db.internal/gatepass",
        "REDIS_URL": "redis://cache.internal:6379/0",
        "API_URL": "https://api.invalid/dev",
        "MEDIA_BASE_URL": value,
    }
    with pytest.raises(WebConfigurationError, match="MEDIA_BASE_URL"):
        Config.from_env(env)
