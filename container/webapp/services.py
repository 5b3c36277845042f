"""What the views use, built once per app by ``create_app`` and found through ``services()``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app

from gatepass.models.events import EventRecord, public_event
from webapp.api_client import ApiClient
from webapp.cache import ReadCache
from webapp.media import MediaUrls
from webapp.readmodel import ReadModel


@dataclass
class Services:
    read_model: ReadModel
    cache: ReadCache
    api: ApiClient
    media: MediaUrls
    session_key: Callable[[], bytes]

    def public_event(self, row: dict[str, Any]) -> dict[str, Any]:
        """An event as the API shows it (``gatepass.models.events.public_event``), with
        pre-signed image URLs."""
        return public_event(EventRecord.of(row), self.media.url).model_dump()

    def catalog(self, query: str | None, page: int, per_page: int) -> dict[str, Any]:
        found = self.cache.catalog(
            query, page, per_page, lambda: self.read_model.catalog(query, page, per_page)
        )
        return {**found, "events": [self.public_event(row) for row in found["events"]]}

    def event_row(self, event_id: str) -> dict[str, Any] | None:
        return self.cache.event(event_id, lambda: self.read_model.event(event_id))


def services() -> Services:
    found: Services = current_app.extensions["gatepass"]
    return found
