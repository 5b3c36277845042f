"""POST /verify-otp: exchange a correct sign-in code for a session token."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gatepass.config import VerifyOtpSettings
from gatepass.dal.sign_in import DynamoSignInStore
from gatepass.http import make_resolver
from gatepass.logic.sign_in import verify_code
from gatepass.models.identity import SessionTokenResponse, VerifyOtpRequest
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.sessions import SecretSessionKeys

settings = VerifyOtpSettings.load()
store = DynamoSignInStore(settings.identity_table)
keys = SecretSessionKeys(settings.session_key_secret_arn, settings.session_signing_key_id)
policy = settings.sign_in_policy()
app = make_resolver(settings.allowed_web_origin)


@app.post("/verify-otp")
def verify_otp(body: VerifyOtpRequest) -> SessionTokenResponse:
    return verify_code(body.email, body.code, store=store, keys=keys, policy=policy)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
