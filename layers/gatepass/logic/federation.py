"""Sign-in through the stack's identity provider (Cognito or any OIDC issuer): the web sends the
ID token it received (authorization code flow with PKCE), and gets a Gatepass session for the
verified address, so sessions end, expire and are revoked the same way whatever the sign-in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gatepass.dal.federation import IdTokenLedger
from gatepass.dal.sessions import SessionStore
from gatepass.errors import NotFound, Unauthorized
from gatepass.federation import IdTokenVerifier
from gatepass.logic.sessions import start_session
from gatepass.models.common import normalize_email
from gatepass.models.identity import SessionTokenResponse, VerifyIdTokenRequest
from gatepass.models.sessions import SessionPolicy
from gatepass.observability import MetricUnit, metrics

if TYPE_CHECKING:
    from gatepass import tokens


def verify_id_token(
    request: VerifyIdTokenRequest,
    *,
    verifier: IdTokenVerifier | None,
    ledger: IdTokenLedger,
    signer: tokens.Signer,
    sessions: SessionStore,
    policy: SessionPolicy,
) -> SessionTokenResponse:
    if verifier is None:
        raise NotFound("This stack does not sign people in through an identity provider.")
    identity = verifier.verify(request.id_token)
    try:
        email = normalize_email(identity.email)
    except ValueError as exc:
        raise Unauthorized("The identity provider's address is not usable.") from exc
    if not ledger.use_once(identity.fingerprint, expires_at=identity.expires_at):
        metrics.add_metric(name="IdTokensReplayed", unit=MetricUnit.Count, value=1)
        raise Unauthorized("This sign-in was already used; sign in again.")
    return start_session(
        email, methods=identity.methods, signer=signer, store=sessions, policy=policy
    )
