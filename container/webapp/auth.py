"""Who is signed in: the API's session token, kept in an HttpOnly, Secure, SameSite=Lax cookie.

The web verifies the token with the public half of the key the API signs it with, so a forged or
expired cookie is simply "not signed in"; every write still goes to the API with the token, where
the authorizer checks it again. Sessions also end before their token expires (docs/decisions/
0046 and 0047): the site confirms the session with the API (``GET /session``, which also counts
as activity there) at most once per ``SESSION_CHECK_SECONDS``, and keeps the time of the
visitor's last request in its own signed cookie, so a session signed out elsewhere, ended
everywhere or left idle is signed out on the site too, with a message saying why. The session
cookie's own lifetime slides with activity: a browser left alone drops it after the idle period.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, request, session, url_for
from werkzeug.exceptions import Unauthorized as HttpUnauthorized
from werkzeug.wrappers import Response

from gatepass import clock, tokens
from gatepass.errors import Unauthorized
from webapp.api_client import ApiError
from webapp.security import cookie_name
from webapp.services import services

log = logging.getLogger(__name__)

SESSION_COOKIE_BASE = "gp_session"
# In Flask's own signed cookie: the session it describes, the visitor's last request, the last
# confirmation by the API, and the idle period the API reported.
ACTIVITY_KEY = "gp_activity"
ENDED_MESSAGE = (
    "You have been signed out: this session was ended (signed out on another device, or "
    "everywhere). Sign in again to continue."
)
EXPIRED_MESSAGE = "Your session has expired. Sign in again to continue."
F = TypeVar("F", bound=Callable[..., Any])


def idle_message(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return (
        f"You have been signed out after {minutes} minutes without activity. "
        "Sign in again to continue."
    )


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


def session_binding_id() -> str | None:
    """The session id the visitor's cookie names, even when that session has just ended: a form
    posted after the session ended is answered "signed out", not refused as forged."""
    current_viewer()
    sid: str | None = g.get("cookie_session_id")
    return sid


def _digest(session_id: str) -> str:
    return hashlib.sha256(f"activity\n{session_id}".encode()).hexdigest()[:32]


def _viewer_from_cookie() -> Viewer | None:
    token = request.cookies.get(session_cookie())
    if not token:
        return None
    try:
        claims = tokens.verify_session_token(services().session_key(), token)
    except Unauthorized:
        _end(EXPIRED_MESSAGE)
        return None
    g.cookie_session_id = claims.session_id
    viewer = Viewer(
        email=claims.subject,
        token=token,
        expires_at=claims.expires_at,
        session_id=claims.session_id,
    )
    return viewer if _still_live(viewer) else None


def _still_live(viewer: Viewer) -> bool:
    """Whether the session is live: not idle here, and confirmed by the API within the last
    ``SESSION_CHECK_SECONDS``. Records this request as activity."""
    now = clock.epoch()
    record = session.get(ACTIVITY_KEY)
    if not isinstance(record, dict) or record.get("sid") != _digest(viewer.session_id):
        # A session this browser has not seen yet: confirm it now.
        record = {"sid": _digest(viewer.session_id), "seen": now, "checked": 0, "idle": None}
    idle = record.get("idle")
    if isinstance(idle, int) and now - int(record["seen"]) >= idle:
        _end_at_api(viewer.token)
        _end(idle_message(idle))
        return False
    if now - int(record["checked"]) >= int(current_app.config["SESSION_CHECK_SECONDS"]):
        try:
            live = services().api.session(viewer.token)
        except ApiError as exc:
            if exc.status in (401, 403):
                _end(ENDED_MESSAGE)
                return False
            # The API is unreachable: keep the visitor signed in (every write still meets the
            # authorizer) and ask again on the next request.
            log.warning("session check failed: %s %s", exc.status, exc.code)
        else:
            record["checked"] = now
            record["idle"] = int(live.get("idle_timeout_seconds") or 0) or None
    record["seen"] = now
    session[ACTIVITY_KEY] = record
    g.session_idle = record.get("idle")
    return True


def _end(message: str) -> None:
    """Sign the visitor out on the site for this answer on, saying why."""
    g.session_ended = True
    session.pop(ACTIVITY_KEY, None)
    flash(message, "notice")


def _end_at_api(token: str) -> None:
    try:
        services().api.sign_out(token)
    except ApiError as exc:
        # The site forgets the session either way; the API's own deadlines still hold.
        log.warning("ending the session at the API failed: %s %s", exc.status, exc.code)


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
    """Sign the visitor in with a token the API just issued: the session the browser held
    before, if any, is ended at the API (a new sign-in never leaves the old session alive)."""
    previous = request.cookies.get(session_cookie())
    if previous and previous != token:
        _end_at_api(previous)
    try:
        claims = tokens.verify_session_token(services().session_key(), token)
    except Unauthorized:
        claims = None
    if claims is not None:
        # Just issued, so live: the next check with the API is due in SESSION_CHECK_SECONDS.
        now = clock.epoch()
        session[ACTIVITY_KEY] = {
            "sid": _digest(claims.session_id),
            "seen": now,
            "checked": now,
            "idle": None,
        }
    g.session_cookie_set = True
    _write_session_cookie(response, token, max_age)


def _write_session_cookie(response: Response, token: str, max_age: int) -> None:
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
    g.session_cookie_set = True
    session.pop(ACTIVITY_KEY, None)
    secure = bool(current_app.config["SESSION_COOKIE_SECURE"])
    response.delete_cookie(session_cookie(), httponly=True, secure=secure, samesite="Lax")


def sign_out_here(response: Response, *, everywhere: bool = False) -> bool:
    """End the visitor's session at the API (``/sign-out``, or ``/sign-out-everywhere``) and
    forget it here; False when the API could not be reached for "everywhere" (nothing ended)."""
    token = request.cookies.get(session_cookie())
    if token and everywhere:
        try:
            services().api.sign_out_everywhere(token)
        except ApiError as exc:
            if exc.status not in (401, 403):
                log.warning("sign-out everywhere failed: %s %s", exc.status, exc.code)
                return False
    elif token:
        _end_at_api(token)
    clear_session_cookie(response)
    return True


def keep_session_cookie(response: Response) -> Response:
    """After each answer: forget an ended session's cookie, or let a live one's lifetime slide
    with this request (the browser drops it after the idle period without activity)."""
    if g.get("session_cookie_set"):
        return response
    if g.get("session_ended"):
        clear_session_cookie(response)
        return response
    viewer: Viewer | None = g.get("viewer")
    idle = g.get("session_idle")
    if viewer is not None and isinstance(idle, int):
        remaining = viewer.expires_at - clock.epoch()
        if remaining > 0:
            _write_session_cookie(response, viewer.token, min(idle, remaining))
    return response


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
