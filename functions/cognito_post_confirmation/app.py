"""Cognito post-confirmation trigger: record the person who just confirmed their sign-up in the
web's PostgreSQL. Cognito waits for the answer (the event itself) and fails the confirmation if
the function fails, so a person is never confirmed without being recorded; a retry inserts
nothing twice."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from gatepass.logic.people import record_confirmed_person
from gatepass.observability import logger, metrics, tracer
from gatepass.readmodel.database import Database, projector_database
from gatepass.settings.cognito_post_confirmation import CognitoPostConfirmationSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = CognitoPostConfirmationSettings.load()


@cache
def database() -> Database:
    return projector_database(settings)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    record_confirmed_person(event, database=database())
    return event
