"""POST /verify-otp: exchange a correct sign-in code for a session token."""

from __future__ import annotations

from typing import Any

from gatepass import tokens
from gatepass.config import Settings
from gatepass.dal.sign_in import DynamoSignInStore
from gatepass.http import make_resolver
from gatepass.logic.sign_in import SignInPolicy, code_key, verify_code
from gatepass.models.identity import SessionTokenResponse, VerifyOtpRequest
from gatepass.observability import correlation_paths, logger, metrics, tracer

settings = Settings.from_env(required=("identity_table", "session_key_secret_arn"))
store = DynamoSignInStore(settings.need("identity_table"))
policy = SignInPolicy.from_settings(settings)
app = make_resolver(settings.allowed_web_origin)


@app.post("/verify-otp")
def verify_otp(body: VerifyOtpRequest) -> SessionTokenResponse:
    return verify_code(
        body.email,
        body.code,
        store=store,
        hash_key=lambda: code_key(settings),
        session_key=lambda: tokens.session_key(settings),
        policy=policy,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
