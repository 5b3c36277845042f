"""Session authorizer (REST API, TOKEN type) for the protected routes.

A token that is missing, malformed, expired, tampered with or unsigned makes the function raise
``Exception("Unauthorized")``, API Gateway's documented way to answer 401: the caller must sign
in (again). A Deny policy would answer 403, which means "signed in but not allowed", and no
route here is refused to a signed-in caller by the authorizer (ownership is checked by the
route itself).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gatepass.config import AuthorizerSettings
from gatepass.errors import Unauthorized
from gatepass.logic.sign_in import authorize
from gatepass.observability import logger, metrics, tracer
from gatepass.sessions import KmsSessionVerifier

settings = AuthorizerSettings.load()
keys = KmsSessionVerifier(settings.session_signing_key_id)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        policy = authorize(
            event.get("authorizationToken"), str(event.get("methodArn", "")), keys=keys
        )
    except Unauthorized as exc:
        logger.info("session token refused", extra={"reason": exc.message})
        # API Gateway answers 401 for exactly this message and nothing else.
        raise Exception("Unauthorized") from None
    return policy.model_dump(by_alias=True)
