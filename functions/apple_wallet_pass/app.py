"""GET /apple-wallet-pass: a short-lived link to the caller's own ticket as an Apple Wallet
pass (``.pkpass``), signed with the pass certificate from Secrets Manager."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from gatepass.dal.events import DynamoEventStore
from gatepass.dal.orders import DynamoOrderStore
from gatepass.dal.passes import S3PassStore
from gatepass.http import caller_id, make_resolver
from gatepass.logic.apple_pass import apple_pass_link
from gatepass.models.tickets import ApplePassLink
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.resolver import Query
from gatepass.settings.apple_wallet_pass import AppleWalletPassSettings
from gatepass.wallet import SecretAppleCredentials

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = AppleWalletPassSettings.load()
orders = DynamoOrderStore(settings.ticketing_table)
events = DynamoEventStore(settings.ticketing_table)
passes = S3PassStore(settings.tickets_bucket)
credentials = SecretAppleCredentials(settings.apple_pass_secret_arn)
app = make_resolver(settings.allowed_web_origin)


@app.get("/apple-wallet-pass")
def apple_wallet_pass(
    ticket_id: Annotated[str, Query(min_length=1, max_length=64)],
) -> ApplePassLink:
    return apple_pass_link(
        caller_id(app),
        ticket_id,
        orders=orders,
        events=events,
        passes=passes,
        credentials=credentials,
        site_url=settings.site_url,
        ttl_seconds=settings.presigned_url_ttl_seconds,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
