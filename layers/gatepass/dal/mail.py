"""Personal mail (sign-in codes, tickets) through SNS or SES, behind one interface.

SNS email delivers only to confirmed subscribers of the mail topic; each subscription's filter
policy is ``{"$or": [{"audience": ["all"]}, {"recipient": ["<email>"]}]}``, so a message with the
``recipient`` attribute reaches that one address. SNS email is plain text. SES sends straight from
a verified sender, and takes raw MIME: a ticket goes as HTML with its QR image inline (a
``cid:`` reference to a ``multipart/related`` part), with the plain text beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Literal, Protocol

from gatepass import clients


@dataclass(frozen=True)
class InlineImage:
    """A PNG shown inside the HTML body, referenced there as ``cid:<content_id>``."""

    content_id: str
    png: bytes
    filename: str


@dataclass(frozen=True)
class RichMail:
    """A message with a plain-text body and, where the channel carries it, an HTML one."""

    subject: str
    text: str
    html: str | None = None
    images: tuple[InlineImage, ...] = field(default_factory=tuple)


class Mailer(Protocol):
    def send(self, recipient: str, subject: str, text: str) -> None: ...


class RichMailer(Protocol):
    # Whether the channel delivers ``RichMail.html`` and its images; where it does not, the
    # sender need not make them (a ticket's QR image is rendered only for a channel that shows
    # it).
    @property
    def carries_html(self) -> bool: ...

    def send_rich(self, recipient: str, mail: RichMail) -> str:
        """Sends ``mail``; answers the channel's message id."""
        ...


class SnsMailer:
    carries_html = False

    def __init__(self, topic_arn: str) -> None:
        self.topic_arn = topic_arn

    def send(self, recipient: str, subject: str, text: str) -> None:
        self._publish(recipient, subject, text, kind=None)

    def send_rich(self, recipient: str, mail: RichMail) -> str:
        """SNS email carries text only: the HTML and its images are left out."""
        return self._publish(recipient, mail.subject, mail.text, kind="ticket")

    def _publish(self, recipient: str, subject: str, text: str, *, kind: str | None) -> str:
        attributes = {"recipient": {"DataType": "String", "StringValue": recipient}}
        if kind:
            attributes["kind"] = {"DataType": "String", "StringValue": kind}
        answer = clients.client("sns").publish(
            TopicArn=self.topic_arn,
            # SNS subjects are at most 100 characters of printable ASCII-ish text.
            Subject=subject[:100],
            Message=text,
            MessageAttributes=attributes,
        )
        return str(answer.get("MessageId", ""))


class SesMailer:
    carries_html = True

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

    def send_rich(self, recipient: str, mail: RichMail) -> str:
        raw = mime_message(self.from_address, recipient, mail)
        answer = clients.client("ses").send_raw_email(
            Source=self.from_address,
            Destinations=[recipient],
            RawMessage={"Data": raw},
        )
        return str(answer.get("MessageId", ""))


def mime_message(sender: str, recipient: str, mail: RichMail) -> bytes:
    """``multipart/alternative`` (text, then ``multipart/related`` HTML with its images)."""
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = sender
    message["To"] = recipient
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
        html_part = message.get_body(preferencelist=("html",))
        assert isinstance(html_part, EmailMessage)
        for image in mail.images:
            html_part.add_related(
                image.png,
                maintype="image",
                subtype="png",
                cid=f"<{image.content_id}>",
                filename=image.filename,
                disposition="inline",
            )
    return message.as_bytes()


def mailer_for(
    channel: Literal["SNS", "SES"], *, topic_arn: str | None, from_address: str | None
) -> SnsMailer | SesMailer:
    """The mailer of ``channel``; the settings model makes sure its address is given."""
    if channel == "SES":
        return SesMailer(str(from_address))
    return SnsMailer(str(topic_arn))
