"""Which tickets have been emailed: one small item per ticket (``TICKET#<id>`` / ``MAIL``).

Sending is claimed before it happens and recorded after, so a stream record delivered twice
(a retried batch, a replay) mails once in the normal case (docs/decisions/0067). The claim is a
conditional put; a claim that was never completed (the function died between claiming and
recording) can be taken again once it is older than the lease, which is the one way a ticket can
be mailed twice.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from botocore.exceptions import ClientError

from gatepass import clients
from gatepass.dal import layout
from gatepass.dal.storage import condition_failed

Claim = Literal["claimed", "sent", "in_flight"]


class DeliveryStore(Protocol):
    def claim(self, ticket_id: str, *, now: str, stale_before: str) -> Claim:
        """``claimed`` if this caller may send now; ``sent`` if it was sent already;
        ``in_flight`` if another caller claimed it less than a lease ago."""
        ...

    def mark_sent(self, ticket_id: str, *, now: str, message_id: str, channel: str) -> None: ...

    def release(self, ticket_id: str) -> None:
        """Gives up a claim whose send failed, so a retry can claim at once."""
        ...


class DynamoDeliveryStore:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def _table(self) -> Any:
        return clients.dynamodb_table(self.table_name)

    def claim(self, ticket_id: str, *, now: str, stale_before: str) -> Claim:
        try:
            self._table().put_item(
                Item={
                    **layout.ticket_mail_key(ticket_id),
                    "entity": "ticket_mail",
                    "ticket_id": ticket_id,
                    "status": "sending",
                    "claimed_at": now,
                },
                ConditionExpression="attribute_not_exists(pk) OR "
                "(#status = :sending AND claimed_at < :stale)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":sending": "sending", ":stale": stale_before},
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            held = (
                self._table()
                .get_item(Key=layout.ticket_mail_key(ticket_id), ConsistentRead=True)
                .get("Item", {})
            )
            return "sent" if held.get("status") == "sent" else "in_flight"
        return "claimed"

    def mark_sent(self, ticket_id: str, *, now: str, message_id: str, channel: str) -> None:
        self._table().update_item(
            Key=layout.ticket_mail_key(ticket_id),
            UpdateExpression="SET #status = :sent, sent_at = :now, message_id = :id, "
            "channel = :channel",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":sent": "sent",
                ":now": now,
                ":id": message_id,
                ":channel": channel,
            },
        )

    def release(self, ticket_id: str) -> None:
        try:
            self._table().delete_item(
                Key=layout.ticket_mail_key(ticket_id),
                ConditionExpression="#status = :sending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":sending": "sending"},
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
