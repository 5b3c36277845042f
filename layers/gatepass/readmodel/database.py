"""Connections to the read model and its cache, for the projector and the Cognito trigger.

The web builds its own pooled SQLAlchemy engine (container/webapp). These two functions write a
few fixed statements, so they speak psycopg directly (decision 0089): importing SQLAlchemy was
most of their cold start. Each handles one batch or one sign-up at a time, so it keeps a single
connection, checked before every transaction because Lambda freezes containers between
invocations, and replaced after five minutes, as the engine's pool did before. Where the
OpenTelemetry layer is attached its wrapper traces psycopg's statements (gatepass.observability):
their text holds names and placeholders, never a row's values.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import psycopg

from gatepass import keys
from gatepass.errors import ConfigurationError
from gatepass.readmodel.cache import Invalidator, NoInvalidation, RedisInvalidator

if TYPE_CHECKING:
    from gatepass.config import ReadModel


# The RDS root certificate authorities, shipped in the layer beside this module (public data;
# docs/decisions/0022-rds-ca-bundle.md says where they came from and how to refresh them).
RDS_CA_BUNDLE = Path(__file__).with_name("rds-ca-bundle.pem")


def normalize_url(url: str) -> str:
    """The psycopg 3 dialect for plain ``postgres://`` / ``postgresql://`` URLs (SQLAlchemy's)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def libpq_url(url: str) -> str:
    """A URL libpq reads, from one that may name SQLAlchemy's psycopg dialect."""
    for prefix in ("postgresql+psycopg://", "postgres+psycopg://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def database_url(settings: ReadModel) -> str:
    """The read model's libpq URL, from ``DATABASE_URL`` or from the host and its secret."""
    if settings.database_url:
        return libpq_url(settings.database_url)
    if settings.database_iam_auth:
        if not settings.database_host or not settings.database_user:
            raise ConfigurationError("DATABASE_IAM_AUTH needs DATABASE_HOST and DATABASE_USER")
        # No password in the URL: Database adds a fresh token to every connection.
        return (
            f"postgresql://{quote(settings.database_user, safe='')}"
            f"@{settings.database_host}:{settings.database_port}/{settings.database_name}"
            f"?{_tls(settings)}"
        )
    if not settings.database_host or not settings.database_secret_arn:
        raise ConfigurationError(
            "set DATABASE_URL, or DATABASE_HOST with DATABASE_SECRET_ARN, for the read model"
        )
    user, password = _credentials(settings.database_secret_arn)
    return (
        f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}"
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


class Database:
    """One connection to the read model, made at the first transaction, checked before each
    (a frozen container's connection may have been dropped) and replaced after
    ``recycle_seconds``. ``password`` makes the password of each new connection (an IAM token)."""

    def __init__(
        self,
        url: str,
        *,
        password: Callable[[], str] | None = None,
        recycle_seconds: float = 300,
        connect_timeout: int = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = libpq_url(url)
        self._password = password
        self._recycle_seconds = recycle_seconds
        self._connect_timeout = connect_timeout
        self._clock = clock
        self._connection: psycopg.Connection[Any] | None = None
        self._opened = 0.0

    def _connect(self) -> psycopg.Connection[Any]:
        options: dict[str, Any] = {"connect_timeout": self._connect_timeout, "autocommit": True}
        if self._password is not None:
            options["password"] = self._password()
        return psycopg.connect(self.url, **options)

    def connection(self) -> psycopg.Connection[Any]:
        """The live connection: the kept one if it still answers, else a new one."""
        kept = self._connection
        if kept is not None and self._clock() - self._opened >= self._recycle_seconds:
            self.close()
            kept = None
        if kept is not None:
            try:
                kept.execute("SELECT 1")
            except psycopg.Error:
                self.close()
                kept = None
        if kept is None:
            kept = self._connection = self._connect()
            self._opened = self._clock()
        return kept

    @contextmanager
    def begin(self) -> Iterator[psycopg.Connection[Any]]:
        """A transaction, committed when the block ends and rolled back if it raises."""
        connection = self.connection()
        with connection.transaction():
            yield connection

    def close(self) -> None:
        kept, self._connection = self._connection, None
        if kept is not None:
            kept.close()


def projector_database(settings: ReadModel) -> Database:
    """The read model as the projector's and the Cognito trigger's settings name it."""
    url = database_url(settings)
    if settings.database_iam_auth and not settings.database_url:
        from gatepass.readmodel.iam_auth import token_maker

        if not settings.aws_region:
            raise ConfigurationError("DATABASE_IAM_AUTH needs AWS_REGION")
        if not settings.database_host or not settings.database_user:
            raise ConfigurationError("DATABASE_IAM_AUTH needs DATABASE_HOST and DATABASE_USER")
        tokens = token_maker(
            host=settings.database_host,
            port=settings.database_port,
            user=settings.database_user,
            region=settings.aws_region,
        )
        return Database(url, password=tokens)
    return Database(url)


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


def projector_connections(settings: ReadModel) -> tuple[Database, Invalidator]:
    """The projector's database, and what invalidates the web's cache (nothing without one)."""
    database = projector_database(settings)
    invalidator: Invalidator = (
        RedisInvalidator(redis_client(settings)) if settings.redis_url else NoInvalidation()
    )
    return database, invalidator
