"""CSRF protection and security headers.

CSRF: a signed double-submit token bound to the session. A random value lives in the
``__Host-gp_csrf`` cookie; forms carry it signed with SECRET_KEY together with a digest of the
signed-in session's id (``csrf_token`` field, or the ``X-CSRF-Token`` header for scripts). Every
POST, PUT, PATCH and DELETE must bring a token that verifies, matches the cookie and names the
session it is sent with: a token from before a sign-in, or from another session, is refused.

Cookies are ``__Host-`` prefixed (Secure, Path=/, no Domain: no sibling subdomain can set or
shadow them). Only local plain-HTTP development (``SESSION_COOKIE_SECURE`` false) drops the
prefix, which browsers accept only with Secure.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import Flask, Response, current_app, g, request
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.exceptions import Forbidden

from webapp.config import Config

CSRF_COOKIE_BASE = "gp_csrf"
HOST_PREFIX = "__Host-"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_MAX_AGE = 12 * 3600
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_SALT = "gatepass-csrf"


class CsrfRefused(Forbidden):
    code_name = "csrf_failed"
    description = "The form has expired or did not come from this site. Reload and try again."


def cookie_name(base: str, secure: bool) -> str:
    return f"{HOST_PREFIX}{base}" if secure else base


def csrf_cookie_name(secure: bool) -> str:
    return cookie_name(CSRF_COOKIE_BASE, secure)


def _secure() -> bool:
    return bool(current_app.config["SESSION_COOKIE_SECURE"])


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CSRF_SALT)


def _raw_token() -> str:
    if "csrf_raw" not in g:
        existing = request.cookies.get(csrf_cookie_name(_secure()))
        if existing and 20 <= len(existing) <= 100:
            g.csrf_raw = existing
        else:
            g.csrf_raw = secrets.token_urlsafe(32)
            g.csrf_new = True
    raw: str = g.csrf_raw
    return raw


def csrf_token() -> str:
    return str(_serializer().dumps(bound_value(_raw_token(), _session_binding())))


def bound_value(raw: str, binding: str) -> str:
    """What a token signs: the cookie's value, and the session it belongs to (if any)."""
    return f"{raw}.{binding}" if binding else raw


def _session_binding() -> str:
    # Here, not at the top: webapp.auth imports this module.
    from webapp.auth import session_binding_id

    session_id = session_binding_id()
    if session_id is None:
        return ""
    return hashlib.sha256(f"csrf\n{session_id}".encode()).hexdigest()[:32]


def check_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    cookie = request.cookies.get(csrf_cookie_name(_secure()))
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    if not cookie or not sent:
        raise CsrfRefused()
    try:
        value = _serializer().loads(sent, max_age=CSRF_MAX_AGE)
    except BadData as exc:
        raise CsrfRefused() from exc
    expected = bound_value(cookie, _session_binding())
    if not isinstance(value, str) or not hmac.compare_digest(value, expected):
        raise CsrfRefused()


def content_security_policy(config: Config) -> str:
    s3: list[str] = []
    for bucket in (config.UPLOADS_BUCKET, config.MEDIA_BUCKET, config.TICKETS_BUCKET):
        if bucket:
            s3.append(f"https://{bucket}.s3.{config.AWS_REGION}.amazonaws.com")
            s3.append(f"https://{bucket}.s3.amazonaws.com")
    if config.AWS_ENDPOINT_URL:
        s3.append(config.AWS_ENDPOINT_URL.rstrip("/"))
    if config.MEDIA_BASE_URL and config.MEDIA_BASE_URL.startswith("https://"):
        # A CDN on another origin (a path, such as /media, is 'self' already).
        s3.append("https://" + config.MEDIA_BASE_URL.removeprefix("https://").split("/", 1)[0])
    extra = " ".join([*s3, *config.EXTRA_CSP_ORIGINS])
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src 'self' data: blob: {extra}".strip(),
        f"connect-src 'self' {extra}".strip(),
        "media-src 'self' blob:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        f"form-action 'self' {extra}".strip(),
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def init_app(app: Flask, config: Config) -> None:
    policy = content_security_policy(config)

    @app.before_request
    def _csrf() -> None:
        check_csrf()

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers["X-Frame-Options"] = "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        # A page may ask for less (the sign-in link page sends none: its URL carries a token).
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=()"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if request.is_secure:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        if not request.path.startswith("/static/"):
            # Pages can show who is signed in and carry tokens: never store them in shared caches.
            headers.setdefault("Cache-Control", "no-store")
        if g.get("csrf_new"):
            response.set_cookie(
                csrf_cookie_name(config.SESSION_COOKIE_SECURE),
                g.csrf_raw,
                httponly=True,
                secure=config.SESSION_COOKIE_SECURE,
                samesite="Lax",
            )
        return response

    app.jinja_env.globals["csrf_token"] = csrf_token
