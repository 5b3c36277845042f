"""Who is signed in: the API's session token, kept in an HttpOnly, Secure, SameSite=Lax cookie.

The web verifies the token with the same key the API signs it with (read from Secrets Manager
through ``gatepass.keys``), so a forged or expired cookie is simply "not signed in"; every write
still goes to the API with the token, where the authorizer checks it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, url_for
from werkzeug.exceptions import Unauthorized as HttpUnauthorized
from werkzeug.wrappers import Response

from gatepass import tokens
from gatepass.errors import Unauthorized
from webapp.security import cookie_name
from webapp.services import services

SESSION_COOKIE_BASE = "gp_session"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Viewer:
    email: str
    token: str
    expires_at: int
    session_id: str


def current_viewer() -> Viewer | None:
    if "viewer" not in g:
        g.viewer = _viewer_from_cookie()
    viewer: Viewer | None = g.viewer
    return viewer


def _viewer_from_cookie() -> Viewer | None:
    token = request.cookies.get(session_cookie())
    if not token:
        return None
    try:
        claims = tokens.verify_session_token(services().session_key(), token)
    except Unauthorized:
        return None
    return Viewer(
        email=claims.subject,
        token=token,
        expires_at=claims.expires_at,
        session_id=claims.session_id,
    )


def session_cookie() -> str:
    """``__Host-gp_session`` (``gp_session`` only for local plain-HTTP development)."""
    return cookie_name(SESSION_COOKIE_BASE, bool(current_app.config["SESSION_COOKIE_SECURE"]))


def is_api_request() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def login_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_viewer() is None:
            if is_api_request():
                raise HttpUnauthorized("Sign in first.")
            return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return cast(F, wrapper)


def set_session_cookie(response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        session_cookie(),
        token,
        max_age=max_age,
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        samesite="Lax",
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    secure = bool(current_app.config["SESSION_COOKIE_SECURE"])
    response.delete_cookie(session_cookie(), httponly=True, secure=secure, samesite="Lax")


def safe_next(target: str | None, default: str) -> str:
    """Only paths on this site: an open redirect would make sign-in a phishing tool."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target
