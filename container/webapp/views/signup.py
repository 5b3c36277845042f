"""Sign up on the site: an address, then a page that says what happens next.

The API answers every address alike (``POST /subscribe``), and so do these pages: whether an
address is new, pending, expired, failed or already subscribed is told only to its mailbox (the
confirmation from AWS Notifications, then Gatepass's welcome), never to whoever typed it. The
"what happens next" page describes every state, and sending the form again is the resend: an
expired, failed or externally ended subscription starts over (docs/web.md)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response

from gatepass.models.common import normalize_email
from webapp.api_client import ApiError
from webapp.extensions import limiter, sign_in_limit
from webapp.services import services
from webapp.views import oidc

bp = Blueprint("signup", __name__)


@bp.before_request
def _only_for_email_codes() -> Response | None:
    # With an identity provider, people sign up there (Cognito's managed sign-up page).
    if oidc.enabled():
        return redirect(url_for("oidc.start"))
    return None


@bp.get("/signup")
def form() -> str:
    return render_template("signup.html", email=request.args.get("email", ""))


@bp.post("/signup")
@limiter.shared_limit(sign_in_limit, scope="sign-in")
def submit() -> Response | tuple[str, int]:
    try:
        email = normalize_email(request.form.get("email", ""))
    except ValueError:
        flash("Enter a valid email address.", "error")
        return render_template("signup.html", email=request.form.get("email", "")), 400
    try:
        services().api.subscribe(email)
    except ApiError as exc:
        if exc.status >= 500:
            raise
        flash(exc.message, "error")
        return render_template("signup.html", email=email), exc.status
    return redirect(url_for("signup.sent", email=email))


@bp.get("/signup/sent")
def sent() -> str:
    return render_template("signup_sent.html", email=request.args.get("email", ""))
