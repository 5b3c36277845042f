"""Sign in through the stack's identity provider (Cognito's managed login or an organization's
OIDC issuer): the authorization code flow with PKCE (S256), state and nonce, all by Authlib.

The provider's ID token is then exchanged at the API (``/verify-id-token``) for a Gatepass
session, so the site and the API keep one kind of session whatever the sign-in. A callback with
an error, a missing or mismatched state, or a token the API refuses shows a page saying so and
signs nobody in.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, abort, current_app, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers.response import Response

from webapp.api_client import ApiError
from webapp.auth import safe_next, set_session_cookie
from webapp.errors import error_response
from webapp.services import services

bp = Blueprint("oidc", __name__)
_NEXT = "gp_oidc_next"
_EXTENSION = "gatepass_oidc"


def init_app(app: Flask) -> None:
    """One Authlib registry per app (each app may name another provider)."""
    if app.config.get("SIGN_IN_METHOD", "email-code") == "email-code":
        return
    oauth = OAuth(app)
    issuer = str(app.config["OIDC_ISSUER"]).rstrip("/")
    app.extensions[_EXTENSION] = oauth.register(
        "provider",
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email", "code_challenge_method": "S256"},
    )


def enabled() -> bool:
    return _EXTENSION in current_app.extensions


def _provider() -> Any:
    return current_app.extensions[_EXTENSION]


@bp.get("/signin/oidc")
def start() -> Response:
    if not enabled():
        abort(404)
    session[_NEXT] = safe_next(request.args.get("next"), url_for("catalog.index"))
    redirect_uri = url_for("oidc.callback", _external=True)
    response: Response = _provider().authorize_redirect(redirect_uri)
    return response


@bp.get("/signin/oidc/callback")
def callback() -> ResponseReturnValue:
    if not enabled():
        abort(404)
    if request.args.get("error"):
        return _refused("The sign-in was not completed at the identity provider. Try again.")
    try:
        token = _provider().authorize_access_token()
    except MismatchingStateError:
        return _refused(
            "This sign-in did not start in this browser, or it was already used. Start again."
        )
    except OAuthError:
        return _refused("The identity provider did not confirm the sign-in. Start again.")
    id_token = token.get("id_token") if isinstance(token, dict) else None
    if not id_token:
        return _refused("The identity provider did not confirm the sign-in. Start again.")
    try:
        grant = services().api.verify_id_token(str(id_token))
    except ApiError as exc:
        if exc.status >= 500:
            raise
        return _refused(exc.message, status=exc.status)
    response = redirect(safe_next(session.pop(_NEXT, None), url_for("catalog.index")))
    set_session_cookie(response, grant.token, grant.expires_in)
    flash("Signed in.", "success")
    return response


def _refused(message: str, status: int = 400) -> ResponseReturnValue:
    session.pop(_NEXT, None)
    return error_response(status, "sign_in_failed", message)
