"""POST /send-otp: mail a sign-in link and code to an address that can receive mail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.mail import mailer_for
from gatepass.dal.sign_in import DynamoSignInStore
from gatepass.equalise import StandIn
from gatepass.http import make_resolver
from gatepass.logic.sign_in import send_code
from gatepass.models.identity import SendOtpRequest, SendOtpResponse
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.resolver import Response
from gatepass.sessions import SecretSessionKeys
from gatepass.settings.send_otp import SendOtpSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = SendOtpSettings.load()
store = DynamoSignInStore(settings.identity_table, settings.mail_topic_arn)
mailer = mailer_for(
    settings.mail_channel,
    topic_arn=settings.mail_topic_arn,
    from_address=settings.mail_from_address,
)
keys = SecretSessionKeys(settings.session_key_secret_arn)
policy = settings.sign_in_policy()
# How long sending takes here: an address that is sent nothing waits as long.
mail_time = StandIn(0.05)
app = make_resolver(settings.allowed_web_origin)


@app.post("/send-otp")
def send_otp(body: SendOtpRequest) -> Response[SendOtpResponse]:
    answer = send_code(
        body.email,
        browser=body.browser or None,
        store=store,
        mailer=mailer,
        keys=keys,
        policy=policy,
        site=settings.allowed_web_origin,
        mail_time=mail_time,
    )
    return Response(status_code=202, content_type="application/json", body=answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
