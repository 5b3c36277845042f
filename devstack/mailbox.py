"""What SNS would have emailed, read from moto's own records and shown as a page.

moto's SNS accepts ``email`` subscriptions but delivers nothing; it keeps every message published
to a topic (``Topic.sent_notifications``) and every subscription with its filter policy. The moto
server runs in this process, so its backends are ours to read: the mailbox goes through what was
published since it last looked and records it once for each email subscription whose filter
policy lets it through, as SNS would fan it out, and records each new email subscription as the
message SNS would send about it. It looks whenever the mailbox is read and before a confirmation
link is honoured, so a subscription's state when it looks is its state when the message went out
(the stack publishes to one address at a time, and only to confirmed ones).

moto confirms email subscriptions by itself (``PendingConfirmation`` is false at once). That is
the default here too and the page says so. With ``confirm="manual"`` new email subscriptions stay
pending until the link in the confirmation message is opened, like real SNS: the one place the
mailbox changes moto (``SNSBackend.subscribe``), since a subscription must be pending from the
moment it exists.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from unittest.mock import _patch, patch
from urllib.parse import quote

from moto.sns.models import SNSBackend, Subscription, Topic, sns_backends
from werkzeug.wrappers import Request, Response

EMAIL_PROTOCOLS = ("email", "email-json")
_URL = re.compile(r"https?://[^\s<>\"']+")
_CODE = re.compile(r"\b\d{6}\b")
_LINK_OR_CODE = re.compile(rf"(?P<url>{_URL.pattern})|(?P<code>{_CODE.pattern})")


def _mark_up(found: re.Match[str]) -> str:
    if found.group("url"):
        return f'<a href="{found.group(0)}">{found.group(0)}</a>'
    return f'<strong class="code">{found.group(0)}</strong>'


@dataclass
class MailMessage:
    to: str
    subject: str
    body: str
    kind: str  # "confirmation-request", "auto-confirmed" or "notification"
    topic_arn: str
    message_id: str
    attributes: dict[str, str] = field(default_factory=dict)
    confirm_url: str | None = None
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))


def _topics() -> Iterator[Topic]:
    for regions in list(sns_backends.values()):
        for backend in list(regions.values()):
            yield from list(backend.topics.values())


def _email_subscriptions() -> Iterator[Subscription]:
    for regions in list(sns_backends.values()):
        for backend in list(regions.values()):
            for subscription in list(backend.subscriptions.values()):
                if subscription.protocol in EMAIL_PROTOCOLS:
                    yield subscription


def _pending(subscription: Subscription) -> bool:
    return str(subscription.attributes.get("PendingConfirmation")).lower() == "true"


class Mailbox:
    """Records SNS email deliveries; serves them at ``<prefix>`` (HTML) and ``<prefix>.json``."""

    def __init__(self, *, confirm: str = "auto", base_url: str = "", prefix: str = "/_mailbox"):
        if confirm not in ("auto", "manual"):
            raise ValueError("confirm must be 'auto' or 'manual'")
        self.confirm = confirm
        self.base_url = base_url.rstrip("/")
        self.prefix = prefix
        self._messages: list[MailMessage] = []
        self._pending: dict[str, Subscription] = {}  # confirmation token -> subscription
        self._lock = threading.RLock()
        # What has been read from moto: per topic, how many of its notifications (a topic made
        # anew, as when a test's mock starts over, is read from its start); subscriptions seen.
        self._read: dict[str, tuple[Topic, int]] = {}
        self._seen: dict[str, Subscription] = {}
        self._patch: _patch[Any] | None = None

    # ------------------------------------------------------------------ moto

    def install(self) -> None:
        """Start from what moto holds now; in manual mode, make new email subscriptions wait."""
        with self._lock:
            self._catch_up(record=False)
        if self.confirm != "manual" or self._patch is not None:
            return
        original = SNSBackend.subscribe
        mailbox = self

        def subscribe(
            backend: SNSBackend, topic_arn: str, endpoint: str, protocol: str
        ) -> Subscription:
            existed = backend._find_subscription(topic_arn, endpoint, protocol) is not None
            subscription = original(backend, topic_arn, endpoint, protocol)
            if protocol in EMAIL_PROTOCOLS and not existed:
                mailbox._hold(subscription)
            return subscription

        self._patch = patch.object(SNSBackend, "subscribe", subscribe)
        self._patch.start()

    def uninstall(self) -> None:
        if self._patch is not None:
            self._patch.stop()
            self._patch = None

    def _hold(self, subscription: Subscription) -> None:
        """A new email subscription waits for its link (manual mode), as on AWS."""
        with self._lock:
            # Strings, as SNS answers them.
            subscription.attributes["PendingConfirmation"] = "true"
            subscription.attributes["ConfirmationWasAuthenticated"] = "false"
            token = secrets.token_urlsafe(24)
            self._pending[token] = subscription
        topic = subscription.topic
        link = f"{self.base_url}{self.prefix}/confirm?token={quote(token)}"
        name = topic.display_name or "AWS Notification"
        self._record(
            MailMessage(
                to=subscription.endpoint,
                subject=f"{name} - Subscription Confirmation",
                body=(
                    f"You have chosen to subscribe to the topic:\n{topic.arn}\n\n"
                    f"To confirm this subscription, click or visit the link below "
                    f"(If this was in error no action is necessary):\n{link}"
                ),
                kind="confirmation-request",
                topic_arn=topic.arn,
                message_id=secrets.token_hex(8),
                confirm_url=link,
            )
        )

    def _catch_up(self, *, record: bool = True) -> None:
        """Record what moto has that the mailbox has not read yet (call with the lock held)."""
        subscriptions = list(_email_subscriptions())
        for subscription in subscriptions:
            if self._seen.get(subscription.arn) is not subscription:
                self._seen[subscription.arn] = subscription
                if record and self.confirm == "auto":
                    self._auto_confirmed(subscription)
        for topic in _topics():
            known, done = self._read.get(topic.arn, (None, 0))
            start = done if known is topic else 0
            sent = topic.sent_notifications[start:]
            self._read[topic.arn] = (topic, start + len(sent))
            if not record:
                continue
            for message_id, message, subject, attributes, _group in sent:
                for subscription in subscriptions:
                    if subscription.topic is topic and self._lets_through(
                        subscription, message, attributes
                    ):
                        self._delivered(subscription, message, message_id, subject, attributes)

    @staticmethod
    def _lets_through(
        subscription: Subscription, message: str, attributes: dict[str, Any] | None
    ) -> bool:
        if _pending(subscription):
            return False  # SNS delivers nothing to an address that has not confirmed
        matcher = subscription._filter_policy_matcher
        return matcher is None or matcher.matches(attributes, message)

    def _auto_confirmed(self, subscription: Subscription) -> None:
        topic = subscription.topic
        self._record(
            MailMessage(
                to=subscription.endpoint,
                subject="Subscription confirmed automatically (local stand-in)",
                body=(
                    f"The local AWS stand-in (moto) confirms email subscriptions by itself:\n"
                    f"{subscription.endpoint} is subscribed to {topic.arn} "
                    "without a link to click.\n"
                    "Real SNS would send a confirmation request here instead."
                ),
                kind="auto-confirmed",
                topic_arn=topic.arn,
                message_id=secrets.token_hex(8),
            )
        )

    def _delivered(
        self,
        subscription: Subscription,
        message: str,
        message_id: str,
        subject: str | None,
        attributes: dict[str, Any] | None,
    ) -> None:
        self._record(
            MailMessage(
                to=subscription.endpoint,
                subject=subject or "AWS Notification Message",
                body=message,
                kind="notification",
                topic_arn=subscription.topic.arn,
                message_id=message_id,
                attributes={k: str(v.get("Value", v)) for k, v in (attributes or {}).items()},
            )
        )

    def _record(self, message: MailMessage) -> None:
        with self._lock:
            self._messages.append(message)

    def confirm_subscription(self, token: str) -> str | None:
        """Confirm the pending subscription a link points to; its address, or None."""
        with self._lock:
            # What was published while it waited stays undelivered.
            self._catch_up()
            subscription = self._pending.pop(token, None)
            if subscription is None:
                return None
            subscription.attributes["PendingConfirmation"] = "false"
            subscription.attributes["ConfirmationWasAuthenticated"] = "true"
        return str(subscription.endpoint)

    def confirmation_link(self, address: str) -> str | None:
        """The newest unused confirmation link sent to ``address`` (manual mode)."""
        with self._lock:
            pending = {id(sub) for sub in self._pending.values()}
        for message in self.messages(address):
            if message.kind == "confirmation-request" and message.confirm_url:
                token = message.confirm_url.rsplit("token=", 1)[-1]
                with self._lock:
                    subscription = self._pending.get(token)
                if subscription is not None and id(subscription) in pending:
                    return message.confirm_url
        return None

    def messages(self, to: str | None = None) -> list[MailMessage]:
        """Newest first."""
        with self._lock:
            self._catch_up()
            found = [m for m in self._messages if to is None or m.to.lower() == to.lower()]
        return list(reversed(found))

    # ------------------------------------------------------------------ pages

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        path = request.path
        if path == f"{self.prefix}.json":
            payload = {
                "confirm": self.confirm,
                "messages": [asdict(m) for m in self.messages(request.args.get("to"))],
            }
            response = Response(json.dumps(payload, indent=2), content_type="application/json")
        elif path == f"{self.prefix}/confirm":
            response = self._confirm_page(request.args.get("token", ""))
        elif path in (self.prefix, self.prefix + "/"):
            response = Response(self._page(request.args.get("to")), content_type="text/html")
        else:
            response = Response("Not found", status=404, content_type="text/plain")
        return response(environ, start_response)

    def _confirm_page(self, token: str) -> Response:
        address = self.confirm_subscription(token)
        if address is None:
            body = "<h1>Unknown or used confirmation link</h1>"
            return Response(self._layout(body), status=404, content_type="text/html")
        body = (
            f"<h1>Subscription confirmed!</h1><p>You have successfully subscribed "
            f"<strong>{html.escape(address)}</strong>.</p>"
            f'<p><a href="{self.prefix}">Back to the mailbox</a></p>'
        )
        return Response(self._layout(body), content_type="text/html")

    def _page(self, to: str | None) -> str:
        if self.confirm == "auto":
            note = (
                "The local AWS stand-in (moto) <strong>confirms email subscriptions by "
                "itself</strong>: there is no confirmation link to click, and a subscription "
                "becomes active at the workflow's next check. Run <code>make dev</code> with "
                "<code>GATEPASS_CONFIRM_SUBSCRIPTIONS=manual</code> to confirm through links here."
            )
        else:
            note = (
                "New email subscriptions <strong>wait for confirmation</strong>, as on AWS: "
                "open the link in the confirmation message below to confirm."
            )
        items = []
        for m in self.messages(to):
            body = html.escape(m.body)
            # One pass, so digits inside a link (a sign-in link's token) stay part of the link.
            body = _LINK_OR_CODE.sub(_mark_up, body)
            items.append(
                f'<li class="message {m.kind}" data-to="{html.escape(m.to)}">'
                f'<div class="meta"><span class="to">To: {html.escape(m.to)}</span> '
                f'<time datetime="{m.at}">{m.at}</time></div>'
                f'<h2 class="subject">{html.escape(m.subject)}</h2>'
                f'<pre class="body">{body}</pre></li>'
            )
        listing = "".join(items) or '<li class="empty">No mail yet.</li>'
        return self._layout(
            f'<h1>Local mailbox</h1><p class="note">{note}</p>'
            f"<p>Everything SNS would have emailed, newest first. "
            f'<a href="{self.prefix}.json">JSON</a></p><ol class="messages">{listing}</ol>',
            refresh=True,
        )

    @staticmethod
    def _layout(body: str, refresh: bool = False) -> str:
        meta = '<meta http-equiv="refresh" content="10">' if refresh else ""
        return (
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>Gatepass local mailbox</title>{meta}<style>"
            "body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}"
            ".note{background:#fff8e1;padding:.75rem;border-radius:6px}"
            ".messages{list-style:none;padding:0}.message{border:1px solid #ddd;border-radius:6px;"
            "padding:.75rem;margin:.75rem 0}.meta{color:#555;font-size:.9rem;display:flex;"
            "justify-content:space-between}.subject{font-size:1.1rem;margin:.4rem 0}"
            "pre{white-space:pre-wrap;word-break:break-word}.code{font-size:1.3rem;"
            "letter-spacing:.15rem;background:#e8f5e9;padding:0 .3rem}"
            f"</style></head><body>{body}</body></html>"
        )
