"""The load balancer's health check."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.web.fake_api import FakeApi

pytestmark = pytest.mark.web


def test_healthy_when_database_and_cache_answer(client: FlaskClient, fake_api: FakeApi) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.get_json() == {"status": "ok", "database": "ok", "cache": "ok"}


def test_unhealthy_when_the_database_is_away(make_app: Any, fake_api: FakeApi) -> None:
    # Given the web pointed at a database that does not answer
    app = make_app(
        DATABASE_URL="postgresql+psycopg://gatepass:x@/gatepass?host=/nonexistent",
        DB_POOL_TIMEOUT=1,
    )

    # When the load balancer checks it
    answer = app.test_client().get("/healthz")

    # Then it is taken out of service
    assert answer.status_code == 503
    assert answer.get_json()["database"] == "unavailable"
    assert answer.get_json()["cache"] == "ok"
