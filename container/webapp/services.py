"""What the views use, built once per app by ``create_app`` and found through ``services()``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app

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
        """An event as docs/architecture.md's public shape, with pre-signed image URLs."""
        image = None
        if row.get("image_status") == "ready" and row.get("image_display_key"):
            thumbnail = row.get("image_thumbnail_key")
            image = {
                "display_url": self.media.url(row["image_display_key"]),
                "thumbnail_url": self.media.url(thumbnail) if thumbnail else None,
                "width": row.get("image_width"),
                "height": row.get("image_height"),
            }
        return {
            "event_id": row["event_id"],
            "title": row["title"],
            "description": row["description"],
            "venue": row["venue"],
            "starts_at": row["starts_at"],
            "starts_at_local": row.get("starts_at_local"),
            "capacity": row["capacity"],
            "sold": row["sold"],
            "seats_left": max(0, row["capacity"] - row["sold"]),
            "checked_in": row["checked_in"],
            "image_status": row["image_status"],
            "image_reason": row.get("image_reason"),
            "image": image,
            "verifying_key": row.get("verifying_key"),
            "created_at": row.get("created_at"),
        }

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
