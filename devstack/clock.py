"""The local stack's clock, movable forward: ``/_clock`` on the API's port.

Every rule of Gatepass reads the time through ``gatepass.clock``, and the whole local stack (the
functions, the stream and notification pumps, the web app) runs in this process, so one offset
here moves the time they all read, together. A developer or an end-to-end test brings a
deadline to now (a waiting room's opening and its draw, an offer's expiry) instead of sleeping
until it comes; what the rules do at that instant is what they do in a deployment, with the
deployment's own delays. Nothing outside this process moves: moto, Redis's expiries and a
browser's own timers keep the real time.

- ``GET /_clock``: ``{"now": "...Z", "offset_seconds": 0.0}``
- ``POST /_clock`` with ``{"advance_seconds": N}`` (0 < N <= 366 days): the clock jumps N
  seconds ahead, and runs on from there at the real pace.
- ``DELETE /_clock``: back to the system clock.

A refused request answers ``{"error": {"code", "message"}}`` and moves nothing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import _patch, patch

from werkzeug.wrappers import Request, Response

from gatepass import clock

MAX_ADVANCE_SECONDS = 366 * 24 * 3600


class MovableClock:
    """``gatepass.clock.now`` for the local stack: the system clock plus an offset."""

    def __init__(self, prefix: str = "/_clock") -> None:
        self.prefix = prefix
        self._offset = 0.0
        self._lock = threading.Lock()
        self._patch: _patch[Any] | None = None
        self._system: Callable[[], datetime] = clock.now

    @property
    def offset_seconds(self) -> float:
        return self._offset

    def now(self) -> datetime:
        return self._system() + timedelta(seconds=self._offset)

    def install(self) -> None:
        if self._patch is None:
            self._patch = patch.object(clock, "now", self.now)
            self._patch.start()

    def uninstall(self) -> None:
        if self._patch is not None:
            self._patch.stop()
            self._patch = None

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._offset += seconds
        return self.now()

    def reset(self) -> datetime:
        with self._lock:
            self._offset = 0.0
        return self.now()

    # ------------------------------------------------------------------ WSGI

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        if request.path not in (self.prefix, self.prefix + "/"):
            response = _error(404, "not_found", "No such page of the local clock.")
        elif request.method == "GET":
            response = self._state()
        elif request.method == "POST":
            response = self._advance(request)
        elif request.method == "DELETE":
            self.reset()
            response = self._state()
        else:
            response = _error(405, "method_not_allowed", "Use GET, POST or DELETE.")
        return response(environ, start_response)

    def _advance(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            return _error(400, "invalid_json", "The body is not JSON.")
        seconds = body.get("advance_seconds") if isinstance(body, dict) else None
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not 0 < seconds <= MAX_ADVANCE_SECONDS
        ):
            return _error(
                400,
                "validation_error",
                f"advance_seconds must be a number of seconds above 0 and at most "
                f"{MAX_ADVANCE_SECONDS} (a year); the clock only moves forward (DELETE /_clock "
                f"goes back to the system clock).",
            )
        self.advance(float(seconds))
        return self._state()

    def _state(self) -> Response:
        now = self.now().astimezone(UTC).isoformat(timespec="milliseconds")
        payload = {"now": now.replace("+00:00", "Z"), "offset_seconds": self._offset}
        return Response(json.dumps(payload), content_type="application/json")


def _error(status: int, code: str, message: str) -> Response:
    payload = {"error": {"code": code, "message": message}}
    return Response(json.dumps(payload), status=status, content_type="application/json")
