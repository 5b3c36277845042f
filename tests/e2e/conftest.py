"""The whole local stack (``python -m devstack``, what ``make dev`` runs) on free ports, and a
headless Chromium driven by Playwright. Screenshots go to test-artifacts/e2e/ (a folder per
test), the stack's output to a log per xdist worker there."""

from __future__ import annotations

import io
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import requests
from PIL import Image, ImageDraw, ImageFilter
from playwright.sync_api import Browser, Page, sync_playwright

from devstack.process import DevStackProcess
from devstack.servers import free_port
from devstack.template import ROOT
from tests.support.parallel import per_worker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"


@dataclass(frozen=True)
class Stack:
    aws_url: str
    api_url: str
    web_url: str

    @property
    def mailbox_url(self) -> str:
        return f"{self.api_url}/_mailbox"

    @property
    def clock_url(self) -> str:
        return f"{self.api_url}/_clock"

    def now(self) -> datetime:
        """The instant the stack's rules read (devstack's movable clock)."""
        return self._clock(requests.get(self.clock_url, timeout=30))

    def advance_clock(self, seconds: float) -> datetime:
        """Move the stack's clock ``seconds`` ahead, instead of waiting for them."""
        answer = requests.post(self.clock_url, json={"advance_seconds": seconds}, timeout=30)
        return self._clock(answer)

    def reset_clock(self) -> datetime:
        return self._clock(requests.delete(self.clock_url, timeout=30))

    @staticmethod
    def _clock(answer: requests.Response) -> datetime:
        answer.raise_for_status()
        return datetime.fromisoformat(str(answer.json()["now"]).replace("Z", "+00:00"))


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """make dev's stack, asking for email confirmations like AWS does (links in the mailbox)."""
    ports = {"moto": free_port(), "api": free_port(), "web": free_port()}
    process = DevStackProcess(
        "--confirm-subscriptions",
        "manual",
        env={
            "GATEPASS_MOTO_PORT": str(ports["moto"]),
            "GATEPASS_API_PORT": str(ports["api"]),
            "GATEPASS_WEB_PORT": str(ports["web"]),
        },
    )
    try:
        process.wait_ready(limit=240)
        yield Stack(
            aws_url=process.address("AWS stand-in"),
            api_url=process.address("API"),
            web_url=process.address("Web app"),
        )
    finally:
        process.stop()
        log = per_worker(ARTIFACTS / "devstack.log")
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(process.output)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


class Camera:
    """Saves a full-page screenshot of each page a test visits, numbered in visiting order."""

    def __init__(self, test_name: str) -> None:
        self.folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_-]+", "-", test_name)
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.count = 0

    def shoot(self, page: Page, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def camera(request: pytest.FixtureRequest) -> Camera:
    return Camera(request.node.name)


@pytest.fixture(scope="session")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-megapixel camera-like JPEG, stored sideways with an EXIF orientation (6: rotate
    90° clockwise to display), as phones write them."""
    width, height = 4000, 3000
    ramp = Image.linear_gradient("L").resize((width, height))
    image = Image.merge(
        "RGB", (ramp, ramp.rotate(90).resize((width, height)), Image.new("L", (width, height), 120))
    )
    draw = ImageDraw.Draw(image)
    rng = random.Random(7)
    for _ in range(30):
        x, y, size = rng.randrange(width), rng.randrange(height), rng.randrange(80, 400)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse([x - size, y - size, x + size, y + size], fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(6))
    image = Image.blend(image, Image.effect_noise((width, height), 25).convert("RGB"), 0.08)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif[0x010F] = "Gatepass"  # Make
    exif[0x0110] = "E2E Camera"  # Model
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=82, exif=exif.tobytes())
    path = tmp_path_factory.mktemp("photos") / "stage-photo.jpg"
    path.write_bytes(buffer.getvalue())
    return path
