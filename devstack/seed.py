"""Demo data, made through the local API itself so that every demo thing took the real path:
an organizer subscribes, signs in with the code from the mailbox, and creates a few events with
cover images; the image function and the projector then do the rest."""

from __future__ import annotations

import base64
import io
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from PIL import Image, ImageDraw, ImageFilter

from devstack.mailbox import Mailbox

log = logging.getLogger("devstack.seed")

DEMO_ORGANIZER = "organizer@example.com"


@dataclass(frozen=True)
class DemoEvent:
    title: str
    description: str
    venue: str
    days_ahead: int
    capacity: int
    palette: tuple[tuple[int, int, int], tuple[int, int, int]]


DEMO_EVENTS = (
    DemoEvent(
        "Harbour Lights Jazz Night",
        "An evening of quartet jazz on the old pier, with the city lights on the water.",
        "Pier 9 Warehouse, Lisbon",
        12,
        120,
        ((18, 32, 71), (236, 164, 61)),
    ),
    DemoEvent(
        "Serverless Days Meetup",
        "Talks on event-driven design, Step Functions patterns and cost control. Pizza after.",
        "Tech Hub Auditorium, Berlin",
        20,
        80,
        ((26, 94, 99), (203, 232, 150)),
    ),
    DemoEvent(
        "Spring Night Market",
        "Street food, makers and live music in the botanical gardens.",
        "Botanic Garden, Edinburgh",
        33,
        300,
        ((90, 24, 70), (255, 199, 206)),
    ),
)


def demo_image(palette: tuple[tuple[int, int, int], tuple[int, int, int]], seed: int) -> bytes:
    """A photo-like JPEG: a sky gradient, soft lights and a skyline, with a little grain."""
    rng = random.Random(seed)  # noqa: S311 - pictures, not secrets
    width, height = 1600, 1000
    top, bottom = palette
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / (height - 1)
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    lights = Image.new("RGB", (width, height))
    glow = ImageDraw.Draw(lights)
    for _ in range(40):
        x, y, r = rng.randrange(width), rng.randrange(height // 2), rng.randrange(10, 60)
        glow.ellipse([x - r, y - r, x + r, y + r], fill=(255, 236, 200))
    image = Image.blend(image, lights.filter(ImageFilter.GaussianBlur(24)), 0.25)
    draw = ImageDraw.Draw(image)
    x = 0
    while x < width:
        w, h = rng.randrange(60, 160), rng.randrange(150, 420)
        draw.rectangle([x, height - h, x + w, height], fill=(20, 20, 28))
        for wy in range(height - h + 15, height - 20, 28):
            for wx in range(x + 10, x + w - 10, 22):
                if rng.random() < 0.4:
                    draw.rectangle([wx, wy, wx + 8, wy + 12], fill=(250, 220, 140))
        x += w + rng.randrange(0, 20)
    noise = Image.effect_noise((width, height), 18).convert("RGB")
    image = Image.blend(image, noise, 0.06)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


class Seeder:
    def __init__(
        self,
        api_url: str,
        mailbox: Mailbox,
        subscription_status: Callable[[str], str | None],
        timeout: float = 60,
        web_url: str | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.web_url = web_url.rstrip("/") if web_url else None
        self.mailbox = mailbox
        self.subscription_status = subscription_status
        self.timeout = timeout
        self.http = requests.Session()

    def _post(self, path: str, body: dict[str, Any], token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.http.post(f"{self.api_url}{path}", json=body, headers=headers, timeout=60)
        if response.status_code >= 400:
            raise RuntimeError(f"POST {path} answered {response.status_code}: {response.text}")
        return response.json()

    def _until(self, what: str, probe: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(0.3)
        raise TimeoutError(f"gave up waiting for {what}")

    def sign_in(self, email: str) -> str:
        self._post("/subscribe", {"email": email})
        if self.mailbox.confirm == "manual":
            link = self._until(
                "the confirmation mail", lambda: self.mailbox.confirmation_link(email)
            )
            self.http.get(link, timeout=10).raise_for_status()
        self._until("an active subscription", lambda: self.subscription_status(email) == "active")
        before = {m.message_id for m in self.mailbox.messages(email)}
        self._post("/send-otp", {"email": email})

        def code() -> str | None:
            for message in self.mailbox.messages(email):
                found = re.search(r"code: (\d{6})\b", message.body)
                if message.message_id not in before and found:
                    return found.group(1)
            return None

        answer = self._post("/verify-otp", {"email": email, "code": self._until("a code", code)})
        return str(answer["token"])

    def create_events(self, token: str) -> list[str]:
        ids = []
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        for index, demo in enumerate(DEMO_EVENTS):
            starts = now + timedelta(days=demo.days_ahead, hours=19 - now.hour)
            image = demo_image(demo.palette, seed=index)
            created = self._post(
                "/create-event",
                {
                    "title": demo.title,
                    "description": demo.description,
                    "venue": demo.venue,
                    "starts_at": starts.isoformat(),
                    "capacity": demo.capacity,
                    "image": {
                        "content_type": "image/jpeg",
                        "data": base64.b64encode(image).decode("ascii"),
                    },
                },
                token,
            )
            ids.append(str(created["event"]["event_id"]))
        return ids

    def wait_for_images(self, event_ids: list[str]) -> None:
        def settled() -> bool:
            for event_id in event_ids:
                event = self.http.get(f"{self.api_url}/events/{event_id}", timeout=10).json()
                if event.get("image_status") not in ("ready", "rejected"):
                    return False
            return True

        self._until("the demo images", settled)

    def wait_for_site(self, event_ids: list[str]) -> None:
        """The site reads a projection of the stream: ready means the site shows what was made."""
        if self.web_url is None:
            return

        def projected() -> bool:
            for event_id in event_ids:
                answer = self.http.get(f"{self.web_url}/api/events/{event_id}", timeout=10)
                if answer.status_code != 200:
                    return False
                if answer.json().get("image_status") not in ("ready", "rejected"):
                    return False
            return True

        self._until("the demo events on the site", projected)

    def run(self) -> list[str]:
        token = self.sign_in(DEMO_ORGANIZER)
        event_ids = self.create_events(token)
        self.wait_for_images(event_ids)
        self.wait_for_site(event_ids)
        return event_ids
