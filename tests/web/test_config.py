"""The web's configuration from the environment (what the ECS task definition sets)."""

from __future__ import annotations

import pytest

from webapp.config import Config, WebConfigurationError

pytestmark = pytest.mark.web

BASE = {
    "SECRET_KEY": "s" * 40,
    "REDIS_URL": "rediss://cache.internal:6379/0",
    "API_URL": "https://abc.execute-api.us-east-1.amazonaws.com/prod/",
    "SESSION_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:session",
}


def test_database_url_is_built_from_the_rds_secret_fields() -> None:
    # Given the task definition's DB_* variables, with a password full of URL characters
    env = {**BASE, "DB_HOST": "db.internal", "DB_USER": "gatepass", "DB_PASSWORD": "p@ss/w:rd%"}

    # When the configuration is read
    config = Config.from_env(env)

    # Then the URL quotes the credentials, requires TLS, and the defaults are sensible
    assert config.DATABASE_URL == (
        "postgresql+psycopg://gatepass:p%40ss%2Fw%3Ard%25@db.internal:5432/gatepass?sslmode=require"
    )
    assert config.API_URL == "https://abc.execute-api.us-east-1.amazonaws.com/prod"
    assert (config.DB_POOL_SIZE, config.DB_MAX_OVERFLOW) == (5, 5)
    assert config.SESSION_COOKIE_SECURE is True


def test_an_explicit_database_url_and_pool_size_are_used() -> None:
    env = {**BASE, "DATABASE_URL": "postgres://u:p@localhost/gp", "DB_POOL_SIZE": "3"}
    config = Config.from_env(env)
    assert config.DATABASE_URL == "postgresql+psycopg://u:p@localhost/gp"
    assert config.DB_POOL_SIZE == 3


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"REDIS_URL": "memcached://x"}, "REDIS_URL"),
        ({"API_URL": ""}, "API_URL"),
        ({"DB_POOL_SIZE": "lots"}, "DB_POOL_SIZE"),
        ({"SESSION_COOKIE_SECURE": "maybe"}, "true/false"),
        ({"DB_HOST": ""}, "DATABASE_URL or DB_HOST"),
    ],
)
def test_a_bad_environment_fails_at_start_up(change: dict[str, str], complaint: str) -> None:
    env = {**BASE, "DB_HOST": "db.internal", **change}
    with pytest.raises(WebConfigurationError, match=complaint):
        Config.from_env(env)
