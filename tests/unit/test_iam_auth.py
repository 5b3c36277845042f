"""Connections as the least-privilege database roles sign in with a fresh IAM token each."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from sqlalchemy import create_engine, event

from webapp.readmodel import use_iam_tokens

pytestmark = pytest.mark.unit


class _Stop(Exception):
    pass


def _passwords_presented(engine: Any, attempts: int) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine, "do_connect")
    def _capture(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        seen.append(cparams.get("password", ""))
        raise _Stop

    for _ in range(attempts):
        with pytest.raises(_Stop):
            engine.connect()
    return seen


def test_every_new_connection_presents_a_token_for_its_own_user_and_host() -> None:
    # Given an engine for the site's role on an RDS host, with AWS credentials at hand
    session = boto3.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="eu-west-1"
    )
    engine = create_engine(
        "postgresql+psycopg://gatepass_web@db.abc.eu-west-1.rds.amazonaws.com:5432/gatepass"
    )
    use_iam_tokens(engine, region="eu-west-1", client=session.client("rds"))

    # When it opens two connections
    first, second = _passwords_presented(engine, attempts=2)

    # Then each presented a signed rds-db connect token for gatepass_web on that host
    for token in (first, second):
        parts = urlsplit("https://" + token)
        query = parse_qs(parts.query)
        assert parts.hostname == "db.abc.eu-west-1.rds.amazonaws.com"
        assert query["Action"] == ["connect"]
        assert query["DBUser"] == ["gatepass_web"]
        assert "X-Amz-Signature" in query
        assert query["X-Amz-Credential"][0].split("/")[2:4] == ["eu-west-1", "rds-db"]
    engine.dispose()


def test_an_engine_without_a_user_is_refused() -> None:
    engine = create_engine("postgresql+psycopg://db.example:5432/gatepass")
    with pytest.raises(ValueError, match="user"):
        use_iam_tokens(engine, region="eu-west-1", client=object())
