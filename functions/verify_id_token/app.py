"""POST /verify-id-token: exchange the identity provider's ID token for a Gatepass session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.federation import DynamoIdTokenLedger
from gatepass.dal.sessions import DynamoSessionStore
from gatepass.federation import IdTokenVerifier
from gatepass.http import make_resolver
from gatepass.logic.federation import verify_id_token
from gatepass.models.identity import SessionTokenResponse, VerifyIdTokenRequest
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.sessions import KmsSessionSigner
from gatepass.settings.verify_id_token import VerifyIdTokenSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = VerifyIdTokenSettings.load()
ledger = DynamoIdTokenLedger(settings.identity_table)
sessions = DynamoSessionStore(settings.identity_table)
policy = settings.sign_in_policy().sessions
signer = KmsSessionSigner(settings.session_signing_key_id)
# None when the stack signs people in with Gatepass's own emailed code only.
verifier = (
    IdTokenVerifier(settings.oidc_issuer, settings.oidc_client_id or "")
    if settings.oidc_issuer
    else None
)
app = make_resolver(settings.allowed_web_origin)


@app.post("/verify-id-token")
def verify(body: VerifyIdTokenRequest) -> SessionTokenResponse:
    return verify_id_token(
        body,
        verifier=verifier,
        ledger=ledger,
        signer=signer,
        sessions=sessions,
        policy=policy,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
