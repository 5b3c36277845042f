"""Connections to the read model and its cache, for the projector.

The web builds its own pooled engine (container/webapp); a projector container handles one
batch at a time, so it keeps a single connection, checked before use because Lambda freezes
containers between invocations.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import Engine as Engine
from sqlalchemy import create_engine

from gatepass import keys
from gatepass.errors import ConfigurationError
from gatepass.readmodel.cache import Invalidator, NoInvalidation, RedisInvalidator

if TYPE_CHECKING:
    from gatepass.config import ReadModel


# The RDS root certificate authorities, shipped in the layer beside this module (public data;
# docs/decisions/0022-rds-ca-bundle.md says where they came from and how to refresh them).
RDS_CA_BUNDLE = Path(__file__).with_name("rds-ca-bundle.pem")


def normalize_url(url: str) -> str:
    """The psycopg 3 dialect for plain ``postgres://`` / ``postgresql://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def database_url(settings: ReadModel) -> str:
    if settings.database_url:
        return normalize_url(settings.database_url)
    if settings.database_iam_auth:
        if not settings.database_host or not settings.database_user:
            raise ConfigurationError("DATABASE_IAM_AUTH needs DATABASE_HOST and DATABASE_USER")
        # No password in the URL: use_iam_tokens adds a fresh token to every connection.
        return (
            f"postgresql+psycopg://{quote(settings.database_user, safe='')}"
            f"@{settings.database_host}:{settings.database_port}/{settings.database_name}"
            f"?{_tls(settings)}"
        )
    if not settings.database_host or not settings.database_secret_arn:
        raise ConfigurationError(
            "set DATABASE_URL, or DATABASE_HOST with DATABASE_SECRET_ARN, for the read model"
        )
    user, password = _credentials(settings.database_secret_arn)
    return (
        f"postgresql+psycopg://{quote(user, safe='')}:{quote(password, safe='')}"
        f"@{settings.database_host}:{settings.database_port}/{settings.database_name}"
        f"?{_tls(settings)}"
    )


def _tls(settings: ReadModel) -> str:
    # verify-ca / verify-full check the server's certificate against the RDS authorities.
    if settings.database_sslmode in ("verify-ca", "verify-full"):
        return f"sslmode={settings.database_sslmode}&sslrootcert={quote(str(RDS_CA_BUNDLE))}"
    return f"sslmode={settings.database_sslmode}"


def _secret_string(secret_id: str) -> str:
    # Connection credentials, read once per container.
    value = keys.secret_string(secret_id)
    if not value:
        raise ConfigurationError(f"secret {secret_id} is empty")
    return value


def _credentials(secret_id: str) -> tuple[str, str]:
    # The RDS-managed master secret is JSON with username and password.
    try:
        values: dict[str, Any] = json.loads(_secret_string(secret_id))
        return str(values["username"]), str(values["password"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"secret {secret_id} has no username and password") from exc


def projector_engine(settings: ReadModel) -> Engine:
    # SQL is traced by OpenTelemetry's wrapper when its layer is attached (gatepass.observability).
    engine = create_engine(
        database_url(settings),
        pool_size=1,
        max_overflow=0,
        pool_pre_ping=True,
        pool_recycle=300,
        connect_args={"connect_timeout": 5},
    )
    if settings.database_iam_auth and not settings.database_url:
        from gatepass.readmodel.iam_auth import use_iam_tokens

        if not settings.aws_region:
            raise ConfigurationError("DATABASE_IAM_AUTH needs AWS_REGION")
        use_iam_tokens(engine, region=settings.aws_region)
    return engine


def redis_client(settings: ReadModel) -> Any:
    """The cache the projector invalidates, with the AUTH token from its secret if any."""
    import redis

    url = settings.redis_url
    if not url:
        raise ConfigurationError("missing environment variable REDIS_URL")
    options: dict[str, Any] = {"socket_timeout": 2, "socket_connect_timeout": 2}
    if settings.redis_auth_secret_arn:
        options["password"] = _secret_string(settings.redis_auth_secret_arn)
    return redis.Redis.from_url(url, **options)


def projector_connections(settings: ReadModel) -> tuple[Engine, Invalidator]:
    """The projector's engine, and what invalidates the web's cache (nothing without one)."""
    engine = projector_engine(settings)
    invalidator: Invalidator = (
        RedisInvalidator(redis_client(settings)) if settings.redis_url else NoInvalidation()
    )
    return engine, invalidator
