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
from gatepass.equalise import StandIn
from gatepass.errors import ServiceUnavailable
from gatepass.models.subscriptions import SubscribeResponse, WorkflowInput
from gatepass.observability import MetricUnit, logger, metrics

# A claim left in `starting` this long means its request died before starting the workflow.
STARTING_GRACE = timedelta(minutes=5)
SUBSCRIBE_MESSAGE = (
    "Check your inbox. If this address is not subscribed yet, a mail from AWS Notifications asks "
    "you to confirm: open its link, then sign in. If you already have an account, just sign in."
)


def execution_name(email: str, attempt: int) -> str:
    """Unique per address and attempt, and without the address itself (names show in logs)."""
    digest = hashlib.sha256(email.encode("utf-8")).hexdigest()[:40]
    return f"sub-{digest}-{attempt}"


def subscribe(
    email: str,
    *,
    store: SubscriptionStore,
    workflow: Workflow,
    start_time: StandIn,
    now: datetime | None = None,
) -> SubscribeResponse:
    """Start a subscription attempt unless one is under way or the address is subscribed.

    Every address gets the same answer and the same work: one look at whether its mail
    subscription still exists (SNS is asked for every address), one claim, then either the
    workflow starts or a stand-in waits as long as starting takes (docs/security.md)."""
    moment = now or clock.now()
    removed = store.delivery_removed(email)
    if removed is not None:
        # Unsubscribed through a mail's link: SNS forgot the address, so start over rather than
        # leave an "active" subscription that mail never reaches.
        store.mark_unsubscribed(email, attempt=removed, now=clock.iso(moment))
    claim = store.claim(
        email, now=clock.iso(moment), stale_before=clock.iso(moment - STARTING_GRACE)
    )
    answer = SubscribeResponse(email=email, message=SUBSCRIBE_MESSAGE)
    if not claim.won:
        start_time.wait()
        return answer

    payload = WorkflowInput(email=email, attempt=claim.attempt).model_dump()
    try:
        start_time.timed(lambda: workflow.start(execution_name(email, claim.attempt), payload))
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
    metrics.add_metric(name="SubscriptionsStarted", unit=MetricUnit.Count, value=1)
    return answer
