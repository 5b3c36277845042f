"""What visitors do, sent to the API's /log-activity after the page has been sent, so a slow or
failing API never delays or breaks a page. It feeds the organizers' dashboards."""

from __future__ import annotations

import logging
from typing import Any

from flask import after_this_request
from flask.typing import ResponseReturnValue

from gatepass import clock
from webapp.api_client import ApiError
from webapp.auth import current_viewer
from webapp.services import services

log = logging.getLogger(__name__)


def record(kind: str, event_id: str | None = None, **properties: str | int) -> None:
    viewer = current_viewer()
    token = viewer.token if viewer else None
    api = services().api
    entry: dict[str, Any] = {"type": kind, "at": clock.iso(clock.now()), "properties": properties}
    if event_id:
        entry["event_id"] = event_id

    def send() -> None:
        try:
            api.log_activity(token, [entry])
        except ApiError as exc:
            log.info("activity not recorded: %s", exc.code)

    @after_this_request
    def _after(response: ResponseReturnValue) -> ResponseReturnValue:
        if getattr(response, "status_code", 500) < 400:
            response.call_on_close(send)  # type: ignore[union-attr]
        return response
