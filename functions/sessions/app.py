"""GET /session, POST /sign-out and POST /sign-out-everywhere: a person's sessions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.sessions import DynamoSessionStore
from gatepass.http import caller_session, make_resolver
from gatepass.logic.sessions import describe_session, end_all_sessions, end_session
from gatepass.models.sessions import SessionView, SignOutRequest, SignOutResponse
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.sessions import KmsSessionVerifier
from gatepass.settings.sessions import SessionsSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = SessionsSettings.load()
store = DynamoSessionStore(settings.identity_table)
keys = KmsSessionVerifier(settings.session_signing_key_id)
policy = settings.session_policy()
app = make_resolver(settings.allowed_web_origin)


@app.get("/session")
def session() -> SessionView:
    person, session_id = caller_session(app)
    return describe_session(person, session_id, store=store, policy=policy)


@app.post("/sign-out")
def sign_out(body: SignOutRequest) -> SignOutResponse:
    return end_session(
        app.current_event.headers.get("Authorization"),
        key=keys.session_verifying_key(),
        store=store,
    )


@app.post("/sign-out-everywhere")
def sign_out_everywhere(body: SignOutRequest) -> SignOutResponse:
    person, session_id = caller_session(app)
    return end_all_sessions(person, session_id, store=store)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
