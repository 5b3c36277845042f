"""The projector finds the read model and the cache from the secrets the root stack names."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from gatepass.config import ConfigurationError
from gatepass.readmodel.database import RDS_CA_BUNDLE, database_url, redis_client
from gatepass.settings.projector import ProjectorSettings

pytestmark = pytest.mark.integration


def _secret(name: str, value: str) -> str:
    arn: str = boto3.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
    return arn


def test_database_url_comes_from_the_rds_managed_secret(aws: Any) -> None:
    # Given the RDS-managed secret and the endpoint, as ProjectorFunction's environment names them
    arn = _secret("rds-master", json.dumps({"username": "gatepass", "password": "p@ss/w:rd"}))
    settings = ProjectorSettings.load(
        environ={
            "DATABASE_HOST": "db.abc.us-east-1.rds.amazonaws.com",
            "DATABASE_PORT": "5432",
            "DATABASE_NAME": "gatepass",
            "DATABASE_SECRET_ARN": arn,
        }
    )

    # When the projector builds its connection URL
    url = database_url(settings)

    # Then the credentials are quoted and the server's certificate is verified
    assert url == (
        "postgresql://gatepass:p%40ss%2Fw%3Ard@db.abc.us-east-1.rds.amazonaws.com:5432"
        f"/gatepass?sslmode=verify-full&sslrootcert={RDS_CA_BUNDLE}"
    )


def test_with_iam_authentication_the_url_names_the_projector_role_and_no_password() -> None:
    # Given the environment ProjectorFunction has on AWS: its own role, IAM tokens, no secret
    settings = ProjectorSettings.load(
        environ={
            "DATABASE_HOST": "db.abc.us-east-1.rds.amazonaws.com",
            "DATABASE_USER": "gatepass_projector",
            "DATABASE_IAM_AUTH": "true",
            "AWS_REGION": "us-east-1",
        }
    )

    # When the projector builds its connection URL
    url = database_url(settings)

    # Then it connects as gatepass_projector with no password (a token is added per connection)
    assert url == (
        "postgresql://gatepass_projector@db.abc.us-east-1.rds.amazonaws.com:5432"
        f"/gatepass?sslmode=verify-full&sslrootcert={RDS_CA_BUNDLE}"
    )


def test_a_secret_without_credentials_is_a_configuration_error(aws: Any) -> None:
    arn = _secret("not-rds", "just a string")
    settings = ProjectorSettings.load(
        environ={"DATABASE_HOST": "db.internal", "DATABASE_SECRET_ARN": arn}
    )
    with pytest.raises(ConfigurationError, match="username and password"):
        database_url(settings)


def test_redis_auth_token_comes_from_its_secret(aws: Any) -> None:
    # Given the cache URL without credentials and the AUTH token's secret
    arn = _secret("cache-auth", "T0ken" * 10)
    settings = ProjectorSettings.load(
        environ={"REDIS_URL": "rediss://cache.internal:6379/0", "REDIS_AUTH_SECRET_ARN": arn}
    )

    # When the projector builds its cache client (no connection is made yet)
    client = redis_client(settings)

    # Then it authenticates with the token over TLS
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["password"] == "T0ken" * 10
    assert kwargs["host"] == "cache.internal"
    assert client.connection_pool.connection_class.__name__ == "SSLConnection"
