"""Errors in one place: JSON ``{"error": {"code", "message"}}`` under /api and for scripts,
a friendly page otherwise. Never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from webapp.api_client import ApiError
from webapp.auth import is_api_request
from webapp.degraded import DATABASE_DOWN, DatabaseUnavailable

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}
MESSAGES = {
    401: "Sign in first.",
    403: "You are not allowed to do that.",
    404: "There is nothing here.",
    405: "That method is not allowed here.",
    429: "Too many requests. Wait a moment and try again.",
    500: "Something went wrong on our side.",
}


def error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    **details: Any,
) -> tuple[Response, int, dict[str, str]]:
    if is_api_request():
        body = jsonify({"error": {"code": code, "message": message, **details}})
    else:
        body = Response(
            render_template("error.html", status=status, code=code, message=message),
            mimetype="text/html",
        )
    return body, status, headers or {}


def init_app(app: Flask) -> None:
    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc: RateLimitExceeded) -> tuple[Response, int, dict[str, str]]:
        retry = str(getattr(exc, "retry_after", "") or 60)
        return error_response(
            429, "rate_limited", MESSAGES[429], {"Retry-After": retry}, limit=str(exc.description)
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        if status < 400:
            return exc
        code = getattr(exc, "code_name", None) or CODES.get(status, "error")
        message = MESSAGES.get(status) or exc.description or "The request failed."
        if getattr(exc, "code_name", None):
            message = exc.description or message
        headers = dict(exc.get_headers()) if status == 405 else {}
        headers.pop("Content-Type", None)
        return error_response(status, code, message, headers)

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> tuple[Response, int, dict[str, str]]:
        headers = {"Retry-After": exc.retry_after} if exc.retry_after else {}
        return error_response(exc.status, exc.code, exc.message, headers, **exc.details)

    # A page that needs the read model while PostgreSQL is down: a readable 503, not a crash.
    @app.errorhandler(DatabaseUnavailable)
    def _no_read_model(exc: DatabaseUnavailable) -> tuple[Response, int, dict[str, str]]:
        return error_response(503, "service_unavailable", str(exc), {"Retry-After": "30"})

    for down in DATABASE_DOWN:

        @app.errorhandler(down)
        def _database_down(exc: Exception) -> tuple[Response, int, dict[str, str]]:
            log.warning("read model unavailable", exc_info=exc)
            return error_response(
                503,
                "service_unavailable",
                "This page needs data that is unavailable right now. The catalog, sign-in and "
                "your tickets still work; try this page again in a few minutes.",
                {"Retry-After": "30"},
            )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int, dict[str, str]]:
        log.exception("unhandled error")
        return error_response(500, "internal_error", MESSAGES[500])
