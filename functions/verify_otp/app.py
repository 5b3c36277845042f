"""POST /verify-otp and POST /verify-link: exchange a correct sign-in code, or a sign-in link
opened in the browser that asked for it, for a session token.

Both routes live in the one function that may sign sessions (``kms:Sign``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.sessions import DynamoSessionStore
from gatepass.dal.sign_in import DynamoSignInStore
from gatepass.http import make_resolver
from gatepass.logic.sign_in import verify_code, verify_link
from gatepass.models.identity import SessionTokenResponse, VerifyLinkRequest, VerifyOtpRequest
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.sessions import SecretSessionKeys
from gatepass.settings.verify_otp import VerifyOtpSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = VerifyOtpSettings.load()
store = DynamoSignInStore(settings.identity_table)
sessions = DynamoSessionStore(settings.identity_table)
keys = SecretSessionKeys(settings.session_key_secret_arn, settings.session_signing_key_id)
policy = settings.sign_in_policy()
app = make_resolver(settings.allowed_web_origin)


@app.post("/verify-otp")
def verify_otp(body: VerifyOtpRequest) -> SessionTokenResponse:
    return verify_code(
        body.email, body.code, store=store, keys=keys, policy=policy, sessions=sessions
    )


@app.post("/verify-link")
def verify_sign_in_link(body: VerifyLinkRequest) -> SessionTokenResponse:
    return verify_link(
        body.token, body.browser, store=store, keys=keys, policy=policy, sessions=sessions
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
