"""Apple Wallet pass files in the private TicketsBucket (``passes/<ticket_id>.pkpass``), read
through short-lived pre-signed GETs like the QR images. Each download writes the pass anew, so
it always says whether the ticket still admits (``voided``)."""

from __future__ import annotations

from typing import Protocol

from gatepass import clients
from gatepass.dal.storage import StorageUnavailable

PKPASS_CONTENT_TYPE = "application/vnd.apple.pkpass"


def pass_object_key(ticket_id: str) -> str:
    return f"passes/{ticket_id}.pkpass"


class PassStore(Protocol):
    def put_pass(self, ticket_id: str, data: bytes) -> None: ...

    def pass_url(self, ticket_id: str, ttl_seconds: int) -> str: ...


class S3PassStore:
    def __init__(self, bucket_name: str) -> None:
        self.bucket_name = bucket_name

    def put_pass(self, ticket_id: str, data: bytes) -> None:
        try:
            clients.client("s3").put_object(
                Bucket=self.bucket_name,
                Key=pass_object_key(ticket_id),
                Body=data,
                ContentType=PKPASS_CONTENT_TYPE,
                ContentDisposition=f'attachment; filename="ticket-{ticket_id}.pkpass"',
                CacheControl="no-store",
            )
        except Exception as exc:
            raise StorageUnavailable("The pass could not be stored; please try again.") from exc

    def pass_url(self, ticket_id: str, ttl_seconds: int) -> str:
        url: str = clients.client("s3").generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket_name, "Key": pass_object_key(ticket_id)},
            ExpiresIn=ttl_seconds,
        )
        return url
