"""Subscribing an address: start the subscription workflow at most once per attempt.

A conditional write on the subscription item decides which request owns a new attempt; only
that request calls StartExecution, under a name derived from the address and the attempt, so
concurrent or retried requests never start a second workflow.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from gatepass import clock
from gatepass.dal.subscriptions import SubscriptionStore
from gatepass.dal.workflow import Workflow, WorkflowStartError
from gatepass.errors import ServiceUnavailable
from gatepass.models.subscriptions import SubscribeResponse, WorkflowInput
from gatepass.observability import logger

# A claim left in `starting` this long means its request died before starting the workflow.
STARTING_GRACE = timedelta(minutes=5)


def execution_name(email: str, attempt: int) -> str:
    """Unique per address and attempt, and without the address itself (names show in logs)."""
    digest = hashlib.sha256(email.encode("utf-8")).hexdigest()[:40]
    return f"sub-{digest}-{attempt}"


def subscribe(
    email: str,
    *,
    store: SubscriptionStore,
    workflow: Workflow,
    now: datetime | None = None,
) -> SubscribeResponse:
    moment = now or clock.now()
    claim = store.claim(
        email, now=clock.iso(moment), stale_before=clock.iso(moment - STARTING_GRACE)
    )
    if not claim.won and claim.status == "active":
        # Unsubscribed through a mail's link: SNS forgot the address, so start over rather than
        # leave an "active" subscription that mail never reaches.
        removed = store.delivery_removed(email)
        if removed is not None:
            store.mark_unsubscribed(email, attempt=removed, now=clock.iso(moment))
            claim = store.claim(
                email, now=clock.iso(moment), stale_before=clock.iso(moment - STARTING_GRACE)
            )
    if not claim.won:
        return SubscribeResponse(email=email, status=claim.status, started=False)

    payload = WorkflowInput(email=email, attempt=claim.attempt).model_dump()
    try:
        workflow.start(execution_name(email, claim.attempt), payload)
    except WorkflowStartError as exc:
        logger.warning("subscription workflow did not start", extra={"attempt": claim.attempt})
        store.release(
            email,
            attempt=claim.attempt,
            now=clock.iso(clock.now()),
            error="WorkflowStartError",
            cause=str(exc)[:1000],
        )
        raise ServiceUnavailable("The subscription could not be started; try again.") from exc
    return SubscribeResponse(email=email, status="starting", started=True)
