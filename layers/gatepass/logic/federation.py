"""Sign-in through the stack's identity provider (Cognito or any OIDC issuer): the web sends the
ID token it received (authorization code flow with PKCE), and gets a Gatepass session for the
verified address, so sessions end, expire and are revoked the same way whatever the sign-in.
"""

from __future__ import annotations

from gatepass import tokens
from gatepass.dal.federation import IdTokenLedger
from gatepass.errors import NotFound, Unauthorized
from gatepass.federation import IdTokenVerifier
from gatepass.models.common import normalize_email
from gatepass.models.identity import SessionTokenResponse, VerifyIdTokenRequest
from gatepass.observability import MetricUnit, metrics


def verify_id_token(
    request: VerifyIdTokenRequest,
    *,
    verifier: IdTokenVerifier | None,
    ledger: IdTokenLedger,
    signer: tokens.Signer,
    session_ttl_seconds: int,
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
    issued = tokens.issue_session_token(
        signer, email, ttl_seconds=session_ttl_seconds, methods=identity.methods
    )
    metrics.add_metric(name="SessionsIssued", unit=MetricUnit.Count, value=1)
    return SessionTokenResponse(
        token=issued.token, expires_in=issued.expires_in, expires_at=issued.expires_at
    )
