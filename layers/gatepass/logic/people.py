"""People who join through Amazon Cognito: the post-confirmation trigger's rule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass import clock
from gatepass.models.common import normalize_email
from gatepass.observability import logger
from gatepass.readmodel.people import record_person

if TYPE_CHECKING:
    from gatepass.readmodel.database import Database

CONFIRMED_SIGN_UP = "PostConfirmation_ConfirmSignUp"


def record_confirmed_person(event: dict[str, Any], *, database: Database) -> bool:
    """Record the person a confirmed sign-up names (once); other confirmations change nothing."""
    if event.get("triggerSource") != CONFIRMED_SIGN_UP:
        return False
    attributes = event["request"]["userAttributes"]
    recorded = record_person(
        database,
        email=normalize_email(attributes["email"]),
        provider=f"cognito:{event['userPoolId']}",
        subject=str(attributes["sub"]),
        joined_at=clock.now(),
    )
    logger.info("person confirmed", extra={"newly_recorded": recorded})
    return recorded
