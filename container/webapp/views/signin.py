"""Sign in with a code sent by email: first the address, then the code."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response

from gatepass.models.common import normalize_email
from webapp.api_client import ApiError
from webapp.auth import clear_session_cookie, safe_next, set_session_cookie
from webapp.extensions import limiter, sign_in_limit
from webapp.services import services
from webapp.views import oidc

bp = Blueprint("auth", __name__)


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
        services().api.send_otp(email)
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


@bp.post("/signout")
def sign_out() -> Response:
    response = redirect(url_for("catalog.index"))
    clear_session_cookie(response)
    flash("Signed out.", "success")
    return response
