"""Domain errors. Logic raises these; ``gatepass.http`` maps them to HTTP answers in one place.

Each class carries its HTTP status and a stable machine-readable ``code``; ``details`` adds
fields to the error body (for example the time of a first check-in) and ``headers`` adds
response headers (for example ``Retry-After``).
"""

from __future__ import annotations

from typing import Any, ClassVar


class ConfigurationError(RuntimeError):
    """The environment does not describe a usable configuration (a cold-start failure, never a
    request's answer)."""


class GatepassError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


class BadRequest(GatepassError):
    status = 400
    code = "bad_request"


class InvalidInput(BadRequest):
    code = "validation_error"


class InvalidTicketCode(BadRequest):
    code = "invalid_ticket_code"


class UnknownTicketKey(InvalidTicketCode):
    """The code names a signing key that is not among its event's verifying keys."""

    code = "unknown_ticket_key"


class WrongEvent(BadRequest):
    code = "wrong_event"


class ImageRejected(BadRequest):
    code = "image_rejected"


class Unauthorized(GatepassError):
    status = 401
    code = "unauthorized"


class InvalidSignInCode(Unauthorized):
    code = "invalid_code"


class InvalidSignInLink(Unauthorized):
    code = "invalid_sign_in_link"


class SignInLinkOtherBrowser(GatepassError):
    status = 403
    code = "sign_in_link_other_browser"


class SignInLinkExpired(GatepassError):
    status = 410
    code = "sign_in_link_expired"


class SignInLinkUsed(GatepassError):
    status = 410
    code = "sign_in_link_used"


class SessionEnded(Unauthorized):
    """The token is genuine, but its session was signed out, ended everywhere, or idle too long."""

    code = "session_ended"


class Forbidden(GatepassError):
    status = 403
    code = "forbidden"


class NotFound(GatepassError):
    status = 404
    code = "not_found"


class Conflict(GatepassError):
    status = 409
    code = "conflict"


class SoldOut(Conflict):
    code = "sold_out"


class AlreadyHoldsTicket(Conflict):
    code = "already_holds_ticket"


class AlreadyCheckedIn(Conflict):
    code = "already_checked_in"


class IdempotencyInProgress(Conflict):
    code = "request_in_progress"


class PayloadTooLarge(GatepassError):
    status = 413
    code = "payload_too_large"


class RateLimited(GatepassError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        retry = max(1, int(retry_after_seconds))
        super().__init__(
            message,
            details={"retry_after_seconds": retry},
            headers={"Retry-After": str(retry)},
        )


class CodeTriesExhausted(RateLimited):
    code = "code_tries_exhausted"


class ServiceUnavailable(GatepassError):
    status = 503
    code = "service_unavailable"


class EventStarted(Conflict):
    code = "event_started"


# Orders, ticket types, cancellation and transfer (docs/decisions/0050).


class UnknownTicketType(BadRequest):
    code = "unknown_ticket_type"


class TooManyTickets(BadRequest):
    code = "too_many_tickets"


class TransferToSelf(BadRequest):
    code = "transfer_to_self"


class TicketTypeSoldOut(Conflict):
    code = "ticket_type_sold_out"


class TicketTypePaused(Conflict):
    code = "ticket_type_paused"


class SaleNotOpen(Conflict):
    code = "sale_not_open"


class SaleClosed(Conflict):
    code = "sale_closed"


class BuyerLimitReached(Conflict):
    code = "buyer_limit_reached"


class EventCancelled(Conflict):
    code = "event_cancelled"


class TicketNotActive(Conflict):
    code = "ticket_not_active"


class TicketRevoked(Conflict):
    code = "ticket_revoked"


class QuotaBelowSold(Conflict):
    code = "quota_below_sold"


class TooManyTicketTypes(Conflict):
    code = "too_many_ticket_types"


class SaleOpen(Conflict):
    """The expected rate (and so the stock's shards) is fixed once a sale has opened."""

    code = "sale_open"


class RateNotRaised(Conflict):
    code = "rate_not_raised"


# The door: staff, gates, scans in and out (docs/decisions/0060).


class OrganizerIsStaff(BadRequest):
    code = "organizer_is_staff"


class NotDoorStaff(Forbidden):
    code = "not_door_staff"


class StaffRevoked(Forbidden):
    code = "staff_revoked"


class UnknownGate(NotFound):
    code = "unknown_gate"


class WrongGate(Conflict):
    code = "wrong_gate"


class GateClosed(Conflict):
    code = "gate_closed"


class WrongDirection(Conflict):
    code = "wrong_direction"


class NotInside(Conflict):
    code = "not_inside"


class TooManyGates(Conflict):
    code = "too_many_gates"


class TooManyDoorStaff(Conflict):
    code = "too_many_door_staff"


class WalletNotConfigured(ServiceUnavailable):
    """The wallet's signing credentials in Secrets Manager are still the deploy's placeholder."""

    code = "wallet_not_configured"


# The waiting list (docs/decisions/0051).


class NotSoldOut(Conflict):
    code = "not_sold_out"


class AlreadyWaiting(Conflict):
    code = "already_waiting"


class NotWaiting(Conflict):
    code = "not_waiting"


class OfferExpired(Conflict):
    code = "offer_expired"


class OfferAlreadyClaimed(Conflict):
    code = "offer_already_claimed"


class OfferDeclined(Conflict):
    code = "offer_declined"


# The waiting room (docs/decisions/0072): the queue's own refusals, and the admission token's
# on POST /create-ticket, each with its own code.
class QueueOpensInPast(BadRequest):
    code = "queue_opens_in_past"


class QueueOpensAfterEvent(BadRequest):
    code = "queue_opens_after_event"


class QueueAlreadyDrawn(Conflict):
    code = "queue_already_drawn"


class QueueNotEnabled(Conflict):
    code = "queue_not_enabled"


class QueueTokenRequired(Forbidden):
    code = "queue_token_required"


class QueueTokenInvalid(Forbidden):
    code = "queue_token_invalid"


class QueueTokenNotYours(Forbidden):
    code = "queue_token_not_yours"


class QueueTokenWrongEvent(Forbidden):
    code = "queue_token_wrong_event"


class AdmissionRequired(Forbidden):
    code = "admission_required"


class AdmissionInvalid(Forbidden):
    code = "admission_invalid"


class AdmissionExpired(Forbidden):
    code = "admission_expired"


class AdmissionNotYours(Forbidden):
    code = "admission_not_yours"


class AdmissionWrongEvent(Forbidden):
    code = "admission_wrong_event"
