"""Personal mail (sign-in codes) through SNS or SES, behind one interface.

SNS email delivers only to confirmed subscribers of the mail topic; each subscription's filter
policy is ``{"$or": [{"audience": ["all"]}, {"recipient": ["<email>"]}]}``, so a message with the
``recipient`` attribute reaches that one address. SES sends straight from a verified sender.
"""

from __future__ import annotations

from typing import Literal, Protocol

from gatepass import clients


class Mailer(Protocol):
    def send(self, recipient: str, subject: str, text: str) -> None: ...


class SnsMailer:
    def __init__(self, topic_arn: str) -> None:
        self.topic_arn = topic_arn

    def send(self, recipient: str, subject: str, text: str) -> None:
        clients.client("sns").publish(
            TopicArn=self.topic_arn,
            Subject=subject,
            Message=text,
            MessageAttributes={"recipient": {"DataType": "String", "StringValue": recipient}},
        )


class SesMailer:
    def __init__(self, from_address: str) -> None:
        self.from_address = from_address

    def send(self, recipient: str, subject: str, text: str) -> None:
        clients.client("ses").send_email(
            Source=self.from_address,
            Destination={"ToAddresses": [recipient]},
            Message={
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
            },
        )


def mailer_for(
    channel: Literal["SNS", "SES"], *, topic_arn: str | None, from_address: str | None
) -> Mailer:
    """The mailer of ``channel``; the settings model makes sure its address is given."""
    if channel == "SES":
        return SesMailer(str(from_address))
    return SnsMailer(str(topic_arn))
