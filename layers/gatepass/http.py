"""The one place that turns errors into HTTP answers, and the resolver every API function uses.

Every error answers ``{"error": {"code": ..., "message": ...}}`` (plus optional detail fields)
with the status its domain error class declares; the data layer's ``StorageUnavailable``, which
knows nothing of HTTP, answers 503. Unknown exceptions are logged with their stack trace and
answer a generic 500: the caller never sees internals.
"""

from __future__ import annotations

import json
from typing import Any

from gatepass.dal.storage import StorageUnavailable
from gatepass.errors import GatepassError, ServiceUnavailable, Unauthorized
from gatepass.observability import logger
from gatepass.resolver import (
    CORS,
    NotFound,
    RequestInvalid,
    Response,
    RestResolver,
    UnsupportedMediaType,
)


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **details}}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **details: Any
) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(error_body(code, message, **details)),
        headers=headers or {},
    )


def _describe(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    described = []
    for err in errors:
        location = [str(part) for part in err.get("loc", ()) if part != "body"]
        if err.get("type") == "json_invalid":
            location = []
        described.append({"field": ".".join(location) or "body", "problem": str(err.get("msg"))})
    return described


def storage_error(exc: StorageUnavailable) -> ServiceUnavailable:
    """What a storage failure means to a caller: the service is unavailable for now."""
    return ServiceUnavailable(exc.message, details=exc.details)


def _domain_answer(exc: GatepassError) -> Response[str]:
    if exc.status >= 500:
        logger.exception("domain error", extra={"code": exc.code})
    else:
        logger.info("request refused", extra={"code": exc.code, "status": exc.status})
    return error_response(exc.status, exc.code, exc.message, exc.headers, **exc.details)


def make_resolver(allowed_origin: str = "*") -> RestResolver:
    """A ``RestResolver`` (pydantic validation at the edge) with CORS and the error mapping."""
    cors = CORS(
        allow_origin=allowed_origin,
        allow_headers=[
            "Authorization",
            "Content-Type",
            "Idempotency-Key",
            "X-Client-Id",
            "X-Queue-Token",
            "X-Admission-Token",
        ],
        max_age=600,
        allow_credentials=allowed_origin != "*",
    )
    app = RestResolver(cors)

    @app.exception_handler(StorageUnavailable)
    def _storage_error(exc: StorageUnavailable) -> Response[str]:
        return _domain_answer(storage_error(exc))

    @app.exception_handler(GatepassError)
    def _domain_error(exc: GatepassError) -> Response[str]:
        return _domain_answer(exc)

    @app.exception_handler(RequestInvalid)
    def _validation_error(exc: RequestInvalid) -> Response[str]:
        problems = _describe(exc.errors())
        logger.info("invalid request", extra={"problems": problems})
        return error_response(
            400, "validation_error", "The request is not valid.", problems=problems
        )

    @app.exception_handler(UnsupportedMediaType)
    def _unsupported_media_type(exc: UnsupportedMediaType) -> Response[str]:
        logger.info("unsupported media type", extra={"content_type": exc.content_type[:100]})
        return error_response(
            415, "unsupported_media_type", "Send the body as JSON (Content-Type: application/json)."
        )

    @app.exception_handler(NotFound)
    def _not_found(_exc: NotFound) -> Response[str]:
        return error_response(404, "not_found", "No such route.")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return error_response(500, "internal_error", "Something went wrong on our side.")

    return app


def caller_id(app: RestResolver) -> str:
    """The signed-in caller, as put in the request context by the session authorizer."""
    authorizer = app.current_event.authorizer
    principal = authorizer.get("principalId") if authorizer else None
    if not principal or principal == "anonymous":
        raise Unauthorized("Sign in first.")
    return str(principal)


def caller_session(app: RestResolver) -> tuple[str, str]:
    """The signed-in caller and the id of the session the authorizer found live."""
    person = caller_id(app)
    authorizer = app.current_event.authorizer
    session_id = authorizer.get("sid") if authorizer else None
    if not session_id:
        raise Unauthorized("Sign in first.")
    return person, str(session_id)
