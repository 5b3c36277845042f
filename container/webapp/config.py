"""Configuration of the web service, read once from environment variables.

The ECS task definition (container/template.yaml) sets these; secrets arrive through the task
definition's ``Secrets`` (never as plain ``Environment`` values). ``create_app`` validates them at
start-up, so a task with a missing or malformed variable fails its health check instead of
serving errors.

Database (the read model)
    DATABASE_URL            Full SQLAlchemy URL, e.g. ``postgresql+psycopg://u:p@host:5432/gatepass``.
                            When unset, the URL is built from the DB_* variables below.
    DB_HOST                 RDS endpoint address.
    DB_PORT                 Default 5432.
    DB_NAME                 Default ``gatepass``.
    DB_USER, DB_PASSWORD    (secrets) From the RDS-managed secret: ``ValueFrom: <arn>:username::``
                            and ``<arn>:password::``.
    DB_SSLMODE              libpq sslmode, default ``require`` (RDS); ``disable`` for local sockets.
    DB_POOL_SIZE            Connections each gunicorn worker keeps open (default 5). Size it so that
                            workers x (DB_POOL_SIZE + DB_MAX_OVERFLOW) x tasks stays under the
                            instance's max_connections.
    DB_MAX_OVERFLOW         Extra connections a worker may open under bursts (default 5).
    DB_POOL_TIMEOUT         Seconds to wait for a pooled connection (default 10).
    DB_POOL_RECYCLE         Seconds after which a connection is replaced (default 1800).
    DB_STATEMENT_TIMEOUT_MS Per-statement timeout (default 5000).

Cache and rate limits
    REDIS_URL               ``redis://host:6379/0``; ``rediss://`` for ElastiCache with in-transit
                            encryption (a ``?ssl_cert_reqs=required`` suffix is passed through).
    CACHE_TTL_SECONDS       Backstop expiry of cached catalog and event reads (default 60); the
                            projector invalidates them as soon as it changes what they show.
    RATELIMIT_ENABLED       Default true.
    RATELIMIT_SIGN_IN       Limit on sign-in posts per client address
                            (default ``5 per minute;30 per hour``).
    RATELIMIT_SEARCH        Limit on searches per client address (default ``30 per minute``).

Serverless API (writes)
    API_URL                 Base URL of the root stack's REST API (its stage URL), no trailing
                            slash.
    API_TIMEOUT_SECONDS     Default 10.

Sessions and security
    SECRET_KEY              (secret) At least 32 characters; signs CSRF tokens and flash messages.
    SESSION_KEY_SECRET_ARN  The Secrets Manager secret the API signs session tokens with; the web
                            reads it (``secretsmanager:GetSecretValue`` on that one secret) to
                            verify the ``gp_session`` cookie's token and learn who is signed in.
    SESSION_COOKIE_SECURE   Default true; ``false`` only for local plain-http development.
    PROXY_FIX_HOPS          Proxies in front of the app whose X-Forwarded-* headers are trusted
                            (default 1: the ALB). Client addresses for rate limits come from here.
    EXTRA_CSP_ORIGINS       Space-separated origins added to the CSP's img-src, connect-src and
                            form-action (e.g. the local S3 stand-in ``http://127.0.0.1:5000``).

Media (S3)
    AWS_REGION              Region of the buckets.
    MEDIA_BUCKET            Processed event images; the web pre-signs GETs for them with its task
                            role (``s3:GetObject`` on ``MediaBucket/events/*``).
    MEDIA_URL_TTL_SECONDS   Lifetime of those URLs (default 3600).
    UPLOADS_BUCKET          Where the browser posts images (pre-signed POST from the API); only its
                            origin is needed, for the CSP.
    TICKETS_BUCKET          Where QR images live (pre-signed GETs come from the API); CSP only.
    AWS_ENDPOINT_URL        Optional S3 stand-in (``make dev``).

Other
    PAGE_SIZE               Catalog page size (default 12).
    LOG_LEVEL               Default INFO.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import quote

from sqlalchemy.engine import make_url

from gatepass.readmodel.database import normalize_url


class WebConfigurationError(RuntimeError):
    """The environment does not describe a usable web service."""


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise WebConfigurationError(f"not a true/false value: {value!r}")


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise WebConfigurationError(f"{name} must be a whole number") from exc
    if not low <= value <= high:
        raise WebConfigurationError(f"{name} must be between {low} and {high}")
    return value


def database_url_from(env: Mapping[str, str]) -> str:
    """DATABASE_URL, or one assembled from the DB_* variables (credentials URL-quoted)."""
    explicit = env.get("DATABASE_URL", "").strip()
    if explicit:
        url = explicit
    else:
        host = env.get("DB_HOST", "").strip()
        if not host:
            raise WebConfigurationError("set DATABASE_URL or DB_HOST (with DB_USER, DB_PASSWORD)")
        user = quote(env.get("DB_USER", "postgres"), safe="")
        password = quote(env.get("DB_PASSWORD", ""), safe="")
        port = env.get("DB_PORT", "5432").strip() or "5432"
        name = env.get("DB_NAME", "gatepass").strip() or "gatepass"
        sslmode = env.get("DB_SSLMODE", "require").strip() or "require"
        url = f"postgresql+psycopg://{user}:{password}@{host}:{port}/{name}?sslmode={sslmode}"
    # The read model speaks psycopg 3; plain postgres:// URLs (as tools print them) are accepted.
    url = normalize_url(url)
    make_url(url)
    return url


@dataclass(frozen=True)
class Config:
    """Flask reads the upper-case attributes (``app.config.from_object``)."""

    SECRET_KEY: str
    DATABASE_URL: str
    REDIS_URL: str
    API_URL: str
    SESSION_KEY_SECRET_ARN: str | None = None
    DB_POOL_SIZE: int = 5
    DB_MAX_OVERFLOW: int = 5
    DB_POOL_TIMEOUT: int = 10
    DB_POOL_RECYCLE: int = 1800
    DB_STATEMENT_TIMEOUT_MS: int = 5000
    CACHE_TTL_SECONDS: int = 60
    RATELIMIT_ENABLED: bool = True
    RATELIMIT_SIGN_IN: str = "5 per minute;30 per hour"
    RATELIMIT_SEARCH: str = "30 per minute"
    API_TIMEOUT_SECONDS: int = 10
    SESSION_COOKIE_SECURE: bool = True
    PROXY_FIX_HOPS: int = 1
    EXTRA_CSP_ORIGINS: tuple[str, ...] = ()
    AWS_REGION: str = "us-east-1"
    MEDIA_BUCKET: str | None = None
    MEDIA_URL_TTL_SECONDS: int = 3600
    UPLOADS_BUCKET: str | None = None
    TICKETS_BUCKET: str | None = None
    AWS_ENDPOINT_URL: str | None = None
    PAGE_SIZE: int = 12
    LOG_LEVEL: str = "INFO"
    TESTING: bool = False
    # Flask's own settings, derived so they stay consistent with ours.
    MAX_CONTENT_LENGTH: int = 1024 * 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        secret = env.get("SECRET_KEY", "")
        if len(secret) < 32:
            raise WebConfigurationError("SECRET_KEY must be set to at least 32 characters")
        redis_url = env.get("REDIS_URL", "").strip()
        if not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise WebConfigurationError("REDIS_URL must be a redis://, rediss:// or unix:// URL")
        api_url = env.get("API_URL", "").strip().rstrip("/")
        if not api_url.startswith(("https://", "http://")):
            raise WebConfigurationError("API_URL must be the API's http(s) base URL")
        return cls(
            SECRET_KEY=secret,
            DATABASE_URL=database_url_from(env),
            REDIS_URL=redis_url,
            API_URL=api_url,
            SESSION_KEY_SECRET_ARN=env.get("SESSION_KEY_SECRET_ARN") or None,
            DB_POOL_SIZE=_int(env, "DB_POOL_SIZE", 5, 1, 100),
            DB_MAX_OVERFLOW=_int(env, "DB_MAX_OVERFLOW", 5, 0, 100),
            DB_POOL_TIMEOUT=_int(env, "DB_POOL_TIMEOUT", 10, 1, 120),
            DB_POOL_RECYCLE=_int(env, "DB_POOL_RECYCLE", 1800, 60, 86400),
            DB_STATEMENT_TIMEOUT_MS=_int(env, "DB_STATEMENT_TIMEOUT_MS", 5000, 100, 600000),
            CACHE_TTL_SECONDS=_int(env, "CACHE_TTL_SECONDS", 60, 1, 86400),
            RATELIMIT_ENABLED=_flag(env.get("RATELIMIT_ENABLED"), True),
            RATELIMIT_SIGN_IN=env.get("RATELIMIT_SIGN_IN") or "5 per minute;30 per hour",
            RATELIMIT_SEARCH=env.get("RATELIMIT_SEARCH") or "30 per minute",
            API_TIMEOUT_SECONDS=_int(env, "API_TIMEOUT_SECONDS", 10, 1, 60),
            SESSION_COOKIE_SECURE=_flag(env.get("SESSION_COOKIE_SECURE"), True),
            PROXY_FIX_HOPS=_int(env, "PROXY_FIX_HOPS", 1, 0, 5),
            EXTRA_CSP_ORIGINS=tuple(env.get("EXTRA_CSP_ORIGINS", "").split()),
            AWS_REGION=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            MEDIA_BUCKET=env.get("MEDIA_BUCKET") or None,
            MEDIA_URL_TTL_SECONDS=_int(env, "MEDIA_URL_TTL_SECONDS", 3600, 60, 604800),
            UPLOADS_BUCKET=env.get("UPLOADS_BUCKET") or None,
            TICKETS_BUCKET=env.get("TICKETS_BUCKET") or None,
            AWS_ENDPOINT_URL=env.get("AWS_ENDPOINT_URL") or None,
            PAGE_SIZE=_int(env, "PAGE_SIZE", 12, 1, 100),
            LOG_LEVEL=(env.get("LOG_LEVEL") or "INFO").upper(),
        )

    def as_flask(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        # Flask's own session cookie only carries flash messages.
        values["SESSION_COOKIE_NAME"] = "gp_flash"
        values["SESSION_COOKIE_HTTPONLY"] = True
        values["SESSION_COOKIE_SAMESITE"] = "Lax"
        return values
