"""Subscription inputs and outputs: ``POST /subscribe`` and the workflow's input."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from gatepass.models.common import Email, Model

SubscriptionStatus = Literal["starting", "pending", "active", "expired", "failed"]

# A subscription in one of these states may be started again by a new request.
RESTARTABLE: frozenset[str] = frozenset({"expired", "failed"})


class SubscribeRequest(Model):
    model_config = ConfigDict(extra="forbid")

    email: Email


class SubscribeResponse(Model):
    """The same for every address: whether it was new, pending or subscribed is never said."""

    email: str
    message: str


class WorkflowInput(Model):
    """What ``/subscribe`` hands the subscription state machine."""

    email: Email
    attempt: int = Field(ge=1)
