"""What the mail topic was asked to deliver to one address, read from moto (in-process)."""

from __future__ import annotations

from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends


def sent_to(email: str, region: str = "us-east-1") -> list[dict[str, Any]]:
    """Every message published with ``recipient`` = ``email`` (what its filter lets through)."""
    found = []
    for topic in sns_backends[DEFAULT_ACCOUNT_ID][region].topics.values():
        for message_id, message, subject, attributes, _group in topic.sent_notifications:
            recipient = (attributes or {}).get("recipient", {})
            if recipient.get("Value", recipient.get("StringValue")) == email:
                found.append({"MessageId": message_id, "Subject": subject, "Message": message})
    return found
