"""Sign in with what the email brings: first the address, then the link in the mail (opened in
this browser) or the code in it.

The browser that asks keeps a random nonce in an HttpOnly cookie (``__Host-gp_signin``); the API
binds the address's sign-in links to it, so a link signs in only a browser that asked for it
(docs/security.md)."""

from __future__ import annotations

import re
import secrets

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response

from gatepass import tokens
from gatepass.errors import Unauthorized
from gatepass.models.common import normalize_email
from webapp.api_client import ApiError
from webapp.auth import safe_next, set_session_cookie, sign_out_here
from webapp.extensions import limiter, sign_in_limit
from webapp.security import cookie_name
from webapp.services import services
from webapp.views import oidc

bp = Blueprint("auth", __name__)

BROWSER_COOKIE_BASE = "gp_signin"
BROWSER_COOKIE_MAX_AGE = 30 * 86_400
_NONCE = re.compile(r"^[A-Za-z0-9_-]{43,128}$")
LINK_PROBLEMS = {
    "invalid_sign_in_link": "This sign-in link is not valid",
    "sign_in_link_used": "This sign-in link was already used",
    "sign_in_link_expired": "This sign-in link has expired",
    "sign_in_link_other_browser": "Open this link in the browser where you asked for it",
}


def browser_cookie() -> str:
    return cookie_name(BROWSER_COOKIE_BASE, bool(current_app.config["SESSION_COOKIE_SECURE"]))


def browser_nonce() -> str | None:
    value = request.cookies.get(browser_cookie(), "")
    return value if _NONCE.match(value) else None


def _ensure_browser_nonce() -> str:
    """This browser's nonce, made now if it has none (the response then sets the cookie)."""
    existing = browser_nonce()
    if existing:
        return existing
    g.new_browser_nonce = secrets.token_urlsafe(32)
    return str(g.new_browser_nonce)


@bp.after_app_request
def _remember_browser(response: Response) -> Response:
    nonce = g.get("new_browser_nonce")
    if nonce:
        response.set_cookie(
            browser_cookie(),
            nonce,
            max_age=BROWSER_COOKIE_MAX_AGE,
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            samesite="Lax",
            path="/",
        )
    return response


def _email(raw: str) -> str | None:
    try:
        return normalize_email(raw)
    except ValueError:
        return None


@bp.get("/signin")
def sign_in() -> str:
    return render_template(
        "signin.html",
        email="",
        next=request.args.get("next", ""),
        provider=oidc.enabled(),
        method=current_app.config.get("SIGN_IN_METHOD", "email-code"),
    )


@bp.before_request
def _only_for_email_codes() -> Response | None:
    # With an identity provider, people sign in there; the code pages lead to it.
    if oidc.enabled() and request.endpoint not in {"auth.sign_in", "auth.sign_out"}:
        return redirect(url_for("oidc.start", next=request.values.get("next") or None))
    return None


@bp.post("/signin")
@limiter.shared_limit(sign_in_limit, scope="sign-in")
def send_code() -> Response | tuple[str, int]:
    next_path = request.form.get("next", "")
    email = _email(request.form.get("email", ""))
    if email is None:
        flash("Enter a valid email address.", "error")
        page = render_template("signin.html", email=request.form.get("email", ""), next=next_path)
        return page, 400
    try:
        services().api.send_otp(email, _ensure_browser_nonce())
    except ApiError as exc:
        if exc.status >= 500:
            raise
        flash(exc.message, "error")
        return render_template("signin.html", email=email, next=next_path), exc.status
    return redirect(url_for("auth.enter_code", email=email, next=next_path or None))


@bp.get("/signin/code")
def enter_code() -> str:
    return render_template(
        "signin_code.html", email=request.args.get("email", ""), next=request.args.get("next", "")
    )


@bp.post("/signin/code")
@limiter.shared_limit(sign_in_limit, scope="sign-in")
def verify_code() -> Response | tuple[str, int]:
    next_path = request.form.get("next", "")
    email = _email(request.form.get("email", ""))
    code = "".join(request.form.get("code", "").split())
    if email is None or not (code.isdigit() and len(code) == 6):
        flash("Enter the 6-digit code from the email.", "error")
        return render_template("signin_code.html", email=email or "", next=next_path), 400
    try:
        grant = services().api.verify_otp(email, code)
    except ApiError as exc:
        if exc.status >= 500:
            raise
        flash(exc.message, "error")
        return render_template("signin_code.html", email=email, next=next_path), exc.status
    response = redirect(safe_next(next_path, url_for("catalog.index")))
    set_session_cookie(response, grant.token, grant.expires_in)
    flash(f"Signed in as {email}.", "success")
    return response


@bp.get("/signin/link")
def open_link() -> tuple[str, int, dict[str, str]]:
    """The link in the mail lands here. Signing in takes a POST (one click), so a mail scanner
    that follows links cannot spend it."""
    token = request.args.get("token", "")
    no_referrer = {"Referrer-Policy": "no-referrer"}
    if not _NONCE.match(token):
        return _link_problem("invalid_sign_in_link", 400, headers=no_referrer)
    return render_template("signin_link.html", token=token), 200, no_referrer


@bp.post("/signin/link")
@limiter.shared_limit(sign_in_limit, scope="sign-in")
def finish_link() -> Response | tuple[str, int, dict[str, str]]:
    token = request.form.get("token", "")
    if not _NONCE.match(token):
        return _link_problem("invalid_sign_in_link", 400)
    nonce = browser_nonce()
    if nonce is None:
        # This browser never asked for sign-in mail: nothing to ask the API.
        return _link_problem("sign_in_link_other_browser", 403)
    try:
        grant = services().api.verify_link(token, nonce)
    except ApiError as exc:
        if exc.status >= 500:
            raise
        if exc.code in LINK_PROBLEMS:
            return _link_problem(exc.code, exc.status, detail=exc.message)
        return _link_problem("invalid_sign_in_link", exc.status, detail=exc.message)
    response = redirect(url_for("catalog.index"))
    set_session_cookie(response, grant.token, grant.expires_in)
    flash(f"Signed in as {_subject(grant.token)}.", "success")
    return response


def _subject(token: str) -> str:
    try:
        return tokens.verify_session_token(services().session_key(), token).subject
    except Unauthorized:
        return "you"


def _link_problem(
    code: str, status: int, *, detail: str = "", headers: dict[str, str] | None = None
) -> tuple[str, int, dict[str, str]]:
    page = render_template(
        "signin_link_problem.html",
        code=code,
        title=LINK_PROBLEMS[code],
        detail=detail,
        status=status,
    )
    return page, status, headers or {}


@bp.post("/signout")
def sign_out() -> Response:
    """Ends the session at the API too: its token stops working there within a minute."""
    response = redirect(url_for("catalog.index"))
    sign_out_here(response)
    flash("Signed out.", "success")
    return response
