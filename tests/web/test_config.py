"""The web's configuration from the environment (what the ECS task definition sets)."""

from __future__ import annotations

import pytest

from webapp.config import Config, WebConfigurationError

pytestmark = pytest.mark.web

BASE = {
    "SECRET_KEY": "s" * 40,
    "REDIS_URL": "rediss://cache.internal:6379/0",
    "API_URL": "https://abc.execute-api.us-east-1.amazonaws.com/prod/",
    "SESSION_SIGNING_KEY_ID": "arn:aws:kms:us-east-1:123456789012:key/session",
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


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"PAGE_SIZE": "1000"}, "PAGE_SIZE must be from 1 to 100"),
        ({"PROXY_FIX_HOPS": "-1"}, "PROXY_FIX_HOPS must be from 0 to 5"),
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
    ],
)
def test_a_variable_out_of_range_or_missing_is_named_with_what_it_must_be(
    change: dict[str, str], complaint: str
) -> None:
    # Given a task definition with one variable out of its range, or one required left empty
    env = {**BASE, "DB_HOST": "db.internal", **change}

    # When the web starts, then it refuses, naming the variable and what it must be
    with pytest.raises(WebConfigurationError, match=complaint):
        Config.from_env(env)


def test_the_process_environment_is_read_when_no_mapping_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the variables in the process environment, as ECS sets them
    for name, value in {
        **BASE,
        "DB_HOST": "db.internal",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)

    # When the configuration is read
    config = Config.from_env()

    # Then it is the same model, with the SDK's default region as the buckets' region
    assert config.DATABASE_URL.startswith("postgresql+psycopg://postgres:@db.internal:5432/")
    assert config.AWS_REGION == "eu-west-1"
