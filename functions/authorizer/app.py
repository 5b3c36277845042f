"""Session authorizer (REST API, TOKEN type) for the protected routes.

A token that is missing, malformed, expired, tampered with or unsigned, or whose session was
signed out, ended everywhere or left idle, makes the function raise ``Exception("Unauthorized")``,
API Gateway's documented way to answer 401: the caller must sign in (again). A Deny policy would
answer 403, which means "signed in but not allowed", and no route here is refused to a signed-in
caller by the authorizer (ownership is checked by the route itself).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.sessions import DynamoSessionStore
from gatepass.errors import Unauthorized
from gatepass.logic.sign_in import authorize
from gatepass.observability import logger, metrics, tracer
from gatepass.sessions import KmsSessionVerifier
from gatepass.settings.authorizer import AuthorizerSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = AuthorizerSettings.load()
keys = KmsSessionVerifier(settings.session_signing_key_id)
sessions = DynamoSessionStore(settings.identity_table)
policy = settings.session_policy()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        answer = authorize(
            event.get("authorizationToken"),
            str(event.get("methodArn", "")),
            keys=keys,
            sessions=sessions,
            policy=policy,
        )
    except Unauthorized as exc:
        logger.info("session token refused", extra={"reason": exc.message})
        # API Gateway answers 401 for exactly this message and nothing else.
        raise Exception("Unauthorized") from None
    return answer.model_dump(by_alias=True)
