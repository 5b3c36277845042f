"""Cognito's post-confirmation trigger records the new person in the web's PostgreSQL, once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from gatepass.settings.cognito_post_confirmation import CognitoPostConfirmationSettings
from tests.conftest import load_event
from tests.support.api import LambdaContext

pytestmark = pytest.mark.web


@pytest.fixture
def trigger(clean: None, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from functions.cognito_post_confirmation import app

    monkeypatch.setattr(
        app, "settings", CognitoPostConfirmationSettings.load({"DATABASE_URL": database_url})
    )
    app.database.cache_clear()
    yield app
    app.database().close()
    app.database.cache_clear()


def people(db_engine: Engine) -> list[tuple[str, str, str]]:
    with db_engine.connect() as connection:
        rows = connection.execute(text("SELECT email, provider, subject FROM people"))
        return [tuple(row) for row in rows]


def test_a_confirmed_sign_up_is_recorded_once(trigger: Any, db_engine: Engine) -> None:
    # Given Cognito confirms Carol's sign-up (events/cognito-post-confirmation.json)
    event = load_event("cognito-post-confirmation.json")

    # When the trigger runs, and Cognito retries it
    first = trigger.lambda_handler(event, LambdaContext())
    trigger.lambda_handler(event, LambdaContext())

    # Then Carol is recorded once, under her normalised address, and Cognito gets its event back
    assert first == event
    assert people(db_engine) == [
        ("carol@example.com", "cognito:us-east-1_Example1", "6b1f0f2e-4c52-4a8e-9d1a-2f3c4d5e6f70")
    ]


def test_other_confirmations_record_nothing(trigger: Any, db_engine: Engine) -> None:
    event = {**load_event("cognito-post-confirmation.json")}
    event["triggerSource"] = "PostConfirmation_ConfirmForgotPassword"

    assert trigger.lambda_handler(event, LambdaContext()) == event
    assert people(db_engine) == []
