"""Event images in S3: raw uploads (UploadsBucket) and processed renditions (MediaBucket)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from gatepass import clients
from gatepass.dal.storage import StorageUnavailable, object_missing

_UPLOAD_KEY = re.compile(r"^events/(?P<event_id>[a-z2-7]{16})/(?P<upload_id>[a-z2-7]{16})$")


def upload_key(event_id: str, upload_id: str) -> str:
    """Where an event's cover image is uploaded (UploadsBucket)."""
    return f"events/{event_id}/{upload_id}"


def event_of_upload(key: str) -> str | None:
    """The event an uploaded object's key belongs to, None for any other key."""
    match = _UPLOAD_KEY.match(key)
    return match["event_id"] if match else None


def rendition_key(event_id: str, name: str, extension: str) -> str:
    """Where a processed rendition of an event's image goes (MediaBucket)."""
    return f"events/{event_id}/{name}.{extension}"


@dataclass(frozen=True)
class PresignedPost:
    """Where and with which form fields a browser posts one upload."""

    url: str
    fields: dict[str, str]


@dataclass(frozen=True)
class UploadInfo:
    size: int
    content_type: str | None


class MediaStore(Protocol):
    def put_upload(self, key: str, data: bytes, content_type: str) -> None: ...

    def delete_upload(self, key: str) -> None: ...

    def presigned_upload(
        self, key: str, content_type: str, max_bytes: int, expires_in: int
    ) -> PresignedPost: ...

    def head_upload(self, key: str) -> UploadInfo | None: ...

    def read_upload(self, key: str, max_bytes: int) -> bytes | None: ...

    def put_rendition(self, key: str, data: bytes, content_type: str) -> None: ...

    def rendition_url(self, key: str, expires_in: int) -> str: ...


class S3MediaStore:
    def __init__(self, uploads_bucket: str | None, media_bucket: str | None) -> None:
        self._uploads = uploads_bucket
        self._media = media_bucket

    @property
    def uploads_bucket(self) -> str:
        if not self._uploads:
            raise RuntimeError("no uploads bucket configured")
        return self._uploads

    @property
    def media_bucket(self) -> str:
        if not self._media:
            raise RuntimeError("no media bucket configured")
        return self._media

    @property
    def _s3(self) -> Any:
        return clients.client("s3")

    def put_upload(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self._s3.put_object(
                Bucket=self.uploads_bucket, Key=key, Body=data, ContentType=content_type
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable("The image could not be stored; please try again.") from exc

    def delete_upload(self, key: str) -> None:
        self._s3.delete_object(Bucket=self.uploads_bucket, Key=key)

    def presigned_upload(
        self, key: str, content_type: str, max_bytes: int, expires_in: int
    ) -> PresignedPost:
        # botocore adds the bucket and the exact key to the policy's conditions.
        presigned: dict[str, Any] = self._s3.generate_presigned_post(
            Bucket=self.uploads_bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"Content-Type": content_type},
                ["content-length-range", 1, max_bytes],
            ],
            ExpiresIn=expires_in,
        )
        fields = {str(name): str(value) for name, value in presigned["fields"].items()}
        return PresignedPost(url=str(presigned["url"]), fields=fields)

    def head_upload(self, key: str) -> UploadInfo | None:
        try:
            head = self._s3.head_object(Bucket=self.uploads_bucket, Key=key)
        except ClientError as exc:
            if object_missing(exc):
                return None
            raise
        return UploadInfo(size=int(head["ContentLength"]), content_type=head.get("ContentType"))

    def read_upload(self, key: str, max_bytes: int) -> bytes | None:
        """At most ``max_bytes`` of the object; None when it is gone."""
        try:
            body = self._s3.get_object(Bucket=self.uploads_bucket, Key=key)["Body"]
        except ClientError as exc:
            if object_missing(exc):
                return None
            raise
        try:
            data: bytes = body.read(max_bytes)
        finally:
            body.close()
        return data

    def put_rendition(self, key: str, data: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self.media_bucket, Key=key, Body=data, ContentType=content_type)

    def rendition_url(self, key: str, expires_in: int) -> str:
        url: str = self._s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.media_bucket, "Key": key},
            ExpiresIn=expires_in,
        )
        return url
