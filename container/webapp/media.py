"""URLs for event images: the read model stores media keys. Behind CloudFront the site links to
the distribution's cached ``/media/<key>`` (``MEDIA_BASE_URL``; origin access control lets only
CloudFront read the bucket); elsewhere (``make dev``, tests) it pre-signs short-lived GETs with its
task role (``s3:GetObject`` on the media bucket). Neither makes a request to S3."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote

from gatepass import clients


class MediaUrls(Protocol):
    def url(self, key: str) -> str: ...


class S3MediaUrls:
    def __init__(self, bucket: str, ttl_seconds: int) -> None:
        self.bucket = bucket
        self.ttl = ttl_seconds

    def url(self, key: str) -> str:
        url: str = clients.client("s3").generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self.ttl
        )
        return url


class CdnMediaUrls:
    """``<base>/<key>``: the same URL for everyone, cacheable, and no expiry in cached pages."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")

    def url(self, key: str) -> str:
        return f"{self.base}/{quote(key, safe='/')}"


class NoMedia:
    """Without a media bucket configured, events show no image."""

    def url(self, key: str) -> str:
        return ""
