"""URLs for event images: the read model stores media keys and the web pre-signs short-lived
GETs with its task role (``s3:GetObject`` on the media bucket). Signing is local computation;
no request to S3 is made."""

from __future__ import annotations

from typing import Protocol

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


class NoMedia:
    """Without a media bucket configured, events show no image."""

    def url(self, key: str) -> str:
        return ""
