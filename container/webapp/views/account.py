"""The account page: who is signed in, this session's deadlines, and "Sign out everywhere"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from werkzeug.wrappers.response import Response

from webapp.api_client import ApiError
from webapp.auth import ENDED_MESSAGE, current_viewer, login_required, sign_out_here
from webapp.services import services

bp = Blueprint("account", __name__)

METHODS = {
    "otp-email": "a code sent by email",
    "link-email": "a link sent by email",
    "oidc": "your identity provider",
}


def _when(epoch: Any) -> str | None:
    if not isinstance(epoch, int):
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


@bp.get("/account")
@login_required
def home() -> Response | str:
    viewer = current_viewer()
    assert viewer is not None
    notice = None
    try:
        live = services().api.session(viewer.token)
    except ApiError as exc:
        if exc.status in (401, 403):
            response = redirect(url_for("auth.sign_in"))
            sign_out_here(response)
            flash(ENDED_MESSAGE, "notice")
            return response
        live = {}
        notice = "Your session's details cannot be shown right now; signing out still works."
    methods = [METHODS.get(m, m) for m in live.get("methods", []) if m in METHODS]
    return render_template(
        "account.html",
        email=viewer.email,
        methods=methods,
        created_at=_when(live.get("created_at")),
        last_seen_at=_when(live.get("last_seen_at")),
        idle_expires_at=_when(live.get("idle_expires_at")),
        expires_at=_when(live.get("expires_at") or viewer.expires_at),
        idle_minutes=(live.get("idle_timeout_seconds") or 0) // 60,
        notice=notice,
    )


@bp.post("/account/sign-out-everywhere")
def sign_out_everywhere() -> Response:
    # Without a live session there is nothing to end: the visitor is signed out already.
    if current_viewer() is None:
        return redirect(url_for("auth.sign_in"))
    response = redirect(url_for("catalog.index"))
    if not sign_out_here(response, everywhere=True):
        flash(
            "Gatepass could not reach the ticketing service, so nothing was signed out. "
            "Try again in a moment.",
            "error",
        )
        return redirect(url_for("account.home"))
    flash("Signed out everywhere: every session of your account has ended.", "success")
    return response
