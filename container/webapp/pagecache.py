"""Rendered catalog reads for anonymous visitors, kept in each worker's memory.

The catalog (``/``) and ``/api/events`` look the same to every visitor who is not signed in
and is not searching, so their rendered responses are kept per worker, keyed by what the
request asks for, and served without entering Flask: a look at the catalog's cache generation,
which the projector bumps and announces on every change (``webapp.generations``: no round trip to
Redis between changes), instead of the app's routing, rate-limit check, cache lookup and template
rendering. An entry is used only while the generation it was rendered at is current, so an
invalidation takes effect on the next read after its notice, and for at most
``CACHE_TTL_SECONDS`` (if Redis ever lost its generations, as it loses its entries). Seat counts
change without a new generation (sales do not invalidate the catalog, ADR 0071), so an entry is
also rendered again after ``AVAILABILITY_SECONDS``: once a second per worker, rush or not.

What is not shared is never served from here: signed-in visitors (``gp_session``), pending flash
messages (``gp_flash``), searches (which are rate-limited and recorded), other methods and
paths, and answers that are not 200, that set a cookie or that were served without the read
model (``X-Gatepass-Degraded``). Anonymous catalog pages carry no form and no CSRF token (the
forms that need one are on pages this cache does not keep), so an entry is the app's answer byte
for byte.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import redis

from webapp.generations import CatalogGeneration

log = logging.getLogger(__name__)

PATHS = frozenset({"/", "/api/events"})
PERSONAL_COOKIES = ("gp_session", "gp_flash")
MAX_ENTRIES = 512
# After a Redis error, leave reads to the app (which falls back to PostgreSQL) for a while
# instead of paying a timeout here too on every request.
PAUSE_AFTER_ERROR_SECONDS = 5.0

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class Entry:
    generation: int
    expires: float
    status: str
    headers: list[tuple[str, str]]
    body: bytes


class AnonymousPageCache:
    def __init__(
        self,
        app: WsgiApp,
        generation: CatalogGeneration,
        *,
        ttl_seconds: int,
        fresh_seconds: float = 1.0,
    ) -> None:
        self.app = app
        self.generation = generation
        # Seat counts are read apart and may change without a new generation (ADR 0071): an
        # entry is rendered again once they may have moved, at most once a second per worker.
        self.ttl = min(float(ttl_seconds), fresh_seconds)
        self.entries: dict[tuple[str, ...], Entry] = {}
        self.paused_until = 0.0

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not self._shareable(environ):
            return self.app(environ, start_response)
        now = time.monotonic()
        if now < self.paused_until:
            return self.app(environ, start_response)
        try:
            generation = self.generation.current()
        except (redis.RedisError, ValueError):
            log.warning("cache unavailable, rendering catalog reads in the app", exc_info=True)
            self.paused_until = now + PAUSE_AFTER_ERROR_SECONDS
            return self.app(environ, start_response)
        key = (
            environ.get("wsgi.url_scheme", "http"),
            environ.get("HTTP_HOST", ""),
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
        )
        entry = self.entries.get(key)
        if entry is None or entry.generation != generation or entry.expires <= now:
            entry = self._render(environ, generation, now)
            if entry is None:
                return self.app(environ, start_response)
            if len(self.entries) >= MAX_ENTRIES:
                self.entries.clear()
            self.entries[key] = entry
        start_response(entry.status, list(entry.headers))
        return [entry.body]

    @staticmethod
    def _shareable(environ: dict[str, Any]) -> bool:
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("PATH_INFO") not in PATHS:
            return False
        query = environ.get("QUERY_STRING", "")
        if "q" in query and any(
            name == "q" and value.strip()
            for name, value in parse_qsl(query, keep_blank_values=True)
        ):
            return False
        cookie = environ.get("HTTP_COOKIE", "")
        return not (cookie and any(name in cookie for name in PERSONAL_COOKIES))

    def _render(self, environ: dict[str, Any], generation: int, now: float) -> Entry | None:
        """The app's answer for every anonymous visitor, or None if it is not one to share."""
        answer: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer["status"], answer["headers"] = status, headers
            return lambda data: None  # the app returns its body; nothing uses write()

        # Not this visitor's cookies: what is rendered for everyone must not depend on them.
        shared = {name: value for name, value in environ.items() if name != "HTTP_COOKIE"}
        chunks = self.app(shared, capture)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        headers = answer.get("headers", [])
        if not str(answer.get("status", "")).startswith("200 ") or any(
            name.lower() in ("set-cookie", "x-gatepass-degraded") or "ratelimit" in name.lower()
            for name, _ in headers
        ):
            return None
        return Entry(
            generation=generation,
            expires=now + self.ttl,
            status=answer["status"],
            headers=[
                *((n, v) for n, v in headers if n.lower() != "content-length"),
                ("Content-Length", str(len(body))),
            ],
            body=body,
        )
