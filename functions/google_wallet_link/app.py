"""GET /google-wallet-link: a Google Wallet save link for the caller's own ticket, a JWT signed
with the issuer's service-account key from Secrets Manager."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from gatepass.dal.events import DynamoEventStore
from gatepass.dal.orders import DynamoOrderStore
from gatepass.http import caller_id, make_resolver
from gatepass.logic.wallet import google_wallet_link as save_link
from gatepass.models.tickets import GoogleWalletLink
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.resolver import Query
from gatepass.settings.google_wallet_link import GoogleWalletLinkSettings
from gatepass.wallet import SecretGoogleCredentials

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = GoogleWalletLinkSettings.load()
orders = DynamoOrderStore(settings.ticketing_table)
events = DynamoEventStore(settings.ticketing_table)
credentials = SecretGoogleCredentials(settings.google_wallet_secret_arn)
app = make_resolver(settings.allowed_web_origin)


@app.get("/google-wallet-link")
def google_wallet_link(
    ticket_id: Annotated[str, Query(min_length=1, max_length=64)],
) -> GoogleWalletLink:
    return save_link(
        caller_id(app),
        ticket_id,
        orders=orders,
        events=events,
        credentials=credentials,
        site_url=settings.site_url,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
