"""GET /events/{event_id}/scanner-bundle: the signed bundle an offline scanner judges codes
with; GET /scanner-bundle-key: the public key scanners pin (docs/decisions/0061)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.bundles import SecretBundleSigner
from gatepass.dal.door import DynamoDoorStore
from gatepass.dal.ticket_keys import DynamoTicketKeyStore
from gatepass.http import caller_id, make_resolver
from gatepass.logic.bundle import bundle_key, scanner_bundle
from gatepass.models.scanner import BundleKey, SignedBundle
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.settings.scanner_bundle import ScannerBundleSettings
from gatepass.ticket_keys import EventTicketKeys

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = ScannerBundleSettings.load()
door = DynamoDoorStore(settings.ticketing_table)
# The events' published verifying keys (public): no KMS, no secret.
keys = EventTicketKeys(DynamoTicketKeyStore(settings.ticketing_table))
signer = SecretBundleSigner(settings.scanner_bundle_key_secret_arn)
app = make_resolver(settings.allowed_web_origin)


@app.get("/events/<event_id>/scanner-bundle")
def get_scanner_bundle(event_id: str) -> SignedBundle:
    return scanner_bundle(event_id, caller_id(app), door=door, keys=keys, signer=signer)


@app.get("/scanner-bundle-key")
def get_bundle_key() -> BundleKey:
    return bundle_key(signer=signer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
