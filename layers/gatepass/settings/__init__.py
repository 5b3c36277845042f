"""Each function's settings model, one module per function, so a cold start defines only its
own (decision 0080). A model composes ``gatepass.config``'s mixins over ``FunctionSettings``."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gatepass.config import FunctionSettings

# The template's function (logical id) -> its module here, named as its handler's folder.
MODULES: dict[str, str] = {
    "AuthorizerFunction": "authorizer",
    "SubscribeFunction": "subscribe",
    "SendOtpFunction": "send_otp",
    "VerifyOtpFunction": "verify_otp",
    "CreateEventFunction": "create_event",
    "ProcessImageFunction": "process_image",
    "EventsReadFunction": "events_read",
    "CreateTicketFunction": "create_ticket",
    "AddTicketTypeFunction": "add_ticket_type",
    "UpdateTicketTypeFunction": "update_ticket_type",
    "CancelTicketFunction": "cancel_ticket",
    "CancelEventFunction": "cancel_event",
    "EventRevocationsFunction": "event_revocations",
    "TransferTicketFunction": "transfer_ticket",
    "RotateEventKeyFunction": "rotate_event_key",
    "ReissueTicketFunction": "reissue_ticket",
    "WaitlistPlacesFunction": "waitlist_places",
    "OffersFunction": "offers",
    "QueueFunction": "queue",
    "WaitlistFunction": "waitlist",
    "GetQrCodeFunction": "get_qr_code",
    "CheckInFunction": "check_in",
    "DoorFunction": "door",
    "ScannerBundleFunction": "scanner_bundle",
    "LogActivityFunction": "log_activity",
    "ProjectorFunction": "projector",
    "VerifyIdTokenFunction": "verify_id_token",
    "SessionsFunction": "sessions",
    "CognitoPostConfirmationFunction": "cognito_post_confirmation",
    "DeliverTicketsFunction": "deliver_tickets",
    "AppleWalletPassFunction": "apple_wallet_pass",
    "GoogleWalletLinkFunction": "google_wallet_link",
}


def settings_of(function: str) -> type[FunctionSettings]:
    """The settings model of ``function`` (its logical id in template.yaml)."""
    module = importlib.import_module(f"{__name__}.{MODULES[function]}")
    model: type[FunctionSettings] = getattr(module, function.removesuffix("Function") + "Settings")
    return model


def function_settings() -> dict[str, type[FunctionSettings]]:
    """Every function's settings model (importing them all: for docs and tests)."""
    return {function: settings_of(function) for function in MODULES}
