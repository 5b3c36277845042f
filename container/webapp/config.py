"""Configuration of the web service: pydantic-settings models read once from the environment.

The ECS task definition (container/template.yaml) sets the variables; secrets arrive through the
task definition's ``Secrets`` (never as plain ``Environment`` values). ``create_app`` reads them
at start-up, so a task with a missing or malformed variable fails its health check, naming the
variable, instead of serving errors. Each field's description is its documentation: the table in
docs/web.md is rendered from these models (``webapp.envdoc``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, Self
from urllib.parse import quote

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from gatepass.readmodel.database import normalize_url


class WebConfigurationError(RuntimeError):
    """The environment does not describe a usable web service."""


class _Settings(BaseSettings):
    # Field names are the variables' names (and Flask's config keys); an empty variable counts as
    # unset, as the task definition cannot leave one out conditionally.
    model_config = SettingsConfigDict(
        case_sensitive=True, env_ignore_empty=True, extra="ignore", frozen=True
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The settings from ``environ`` (by default the process environment)."""
        try:
            if environ is None:
                return cls()
            source = _MappingSource(cls, environ)
            return cls(_build_sources=((source,), {}))
        except ValidationError as exc:
            raise WebConfigurationError(_explain(exc)) from None


class DatabaseSettings(_Settings):
    """Database (the PostgreSQL read model)"""

    DATABASE_URL: str = Field(
        "",
        repr=False,
        description="Full SQLAlchemy URL, e.g. `postgresql+psycopg://u:p@host:5432/gatepass`; "
        "when unset, it is built from the `DB_*` variables below.",
    )
    DB_HOST: str = Field("", description="RDS endpoint address (needed without `DATABASE_URL`).")
    DB_PORT: int = Field(5432, ge=1, le=65535, description="Database port.")
    DB_NAME: str = Field("gatepass", description="Database name.")
    DB_USER: str = Field(
        "postgres",
        description="The database role: on AWS `gatepass_web`, read-only (migration 0002); the "
        "master user reaches the migrations only, as `DB_MIGRATION_*` (see entrypoint.sh).",
    )
    DB_PASSWORD: str = Field(
        "", repr=False, description="(secret) From the RDS-managed secret (`<arn>:password::`)."
    )
    DB_SSLMODE: str = Field(
        "require",
        description="libpq sslmode: on AWS `verify-full`, with `PGSSLROOTCERT` naming the RDS "
        "CA bundle the image carries; `disable` for local sockets.",
    )
    DB_IAM_AUTH: bool = Field(
        False,
        description="`true`: `DB_USER` signs in with a fresh IAM token per connection "
        "(`rds-db:connect`), no password.",
    )
    DB_POOL_SIZE: int = Field(
        5,
        ge=1,
        le=100,
        description="Connections each gunicorn worker keeps open; keep workers x tasks x "
        "(`DB_POOL_SIZE` + `DB_MAX_OVERFLOW`) under the instance's `max_connections`.",
    )
    DB_MAX_OVERFLOW: int = Field(
        5, ge=0, le=100, description="Extra connections a worker may open under bursts."
    )
    DB_POOL_TIMEOUT: int = Field(
        10, ge=1, le=120, description="Seconds to wait for a pooled connection."
    )
    DB_POOL_RECYCLE: int = Field(
        1800, ge=60, le=86400, description="Seconds after which a connection is replaced."
    )
    DB_STATEMENT_TIMEOUT_MS: int = Field(
        5000, ge=100, le=600000, description="Per-statement timeout in milliseconds."
    )

    # What Flask's config does not need: the URL is assembled from them.
    CONNECTION_PARTS: ClassVar[frozenset[str]] = frozenset(
        {"DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", "DB_SSLMODE"}
    )

    @model_validator(mode="after")
    def _assemble_url(self) -> Self:
        url = self.DATABASE_URL.strip()
        if not url:
            if not self.DB_HOST.strip():
                raise ValueError("set DATABASE_URL or DB_HOST (with DB_USER, DB_PASSWORD)")
            user = quote(self.DB_USER, safe="")
            password = quote(self.DB_PASSWORD, safe="")
            url = (
                f"postgresql+psycopg://{user}:{password}@{self.DB_HOST.strip()}:{self.DB_PORT}"
                f"/{self.DB_NAME}?sslmode={self.DB_SSLMODE}"
            )
        # The read model speaks psycopg 3; plain postgres:// URLs (as tools print them) are
        # accepted.
        url = normalize_url(url)
        try:
            make_url(url)
        except ArgumentError as exc:
            raise ValueError("DATABASE_URL is not a database URL") from exc
        object.__setattr__(self, "DATABASE_URL", url)
        return self


class CacheSettings(_Settings):
    """Cache and rate limits (Redis)"""

    REDIS_URL: str = Field(
        description="`redis://host:6379/0`; `rediss://` for ElastiCache with in-transit "
        "encryption (the entrypoint builds it from `REDIS_HOST`, `REDIS_PORT`, `REDIS_TLS` and "
        "`REDIS_AUTH_TOKEN` when unset).",
    )
    CACHE_TTL_SECONDS: int = Field(
        60,
        ge=1,
        le=86400,
        description="Backstop expiry of cached catalog and event reads; the projector "
        "invalidates them as soon as it changes what they show.",
    )
    AVAILABILITY_SECONDS: float = Field(
        1.0,
        ge=0.0,
        le=60.0,
        description="How long a worker shows seat counts read from the read model before "
        "reading them again. Counts are read apart from cached pages, so sales never "
        "invalidate the catalog (ADR 0071); 0 reads them on every request.",
    )
    RATELIMIT_ENABLED: bool = Field(True, description="Rate limits on or off.")
    RATELIMIT_SIGN_IN: str = Field(
        "5 per minute;30 per hour", description="Limit on sign-in posts per client address."
    )
    RATELIMIT_SEARCH: str = Field(
        "30 per minute", description="Limit on searches per client address."
    )

    @field_validator("REDIS_URL")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value


class ApiSettings(_Settings):
    """Serverless API (writes)"""

    API_URL: str = Field(
        description="Base URL of the root stack's REST API (its stage URL); a trailing slash is "
        "dropped.",
    )
    API_TIMEOUT_SECONDS: int = Field(10, ge=1, le=60, description="Timeout of calls to the API.")

    @field_validator("API_URL")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be the API's http(s) base URL")
        return value


class SecuritySettings(_Settings):
    """Sessions and security"""

    SECRET_KEY: str = Field(
        min_length=32,
        repr=False,
        description="(secret) At least 32 characters; signs CSRF tokens and flash messages.",
    )
    SESSION_SIGNING_KEY_ID: str | None = Field(
        None,
        description="The KMS key (id, ARN or alias) the API signs session tokens with; the web "
        "reads only its public half (`kms:GetPublicKey`) to verify the session cookie, so it "
        "cannot mint a session (required unless a key is passed to `create_app`).",
    )
    SESSION_COOKIE_SECURE: bool = Field(
        True, description="`false` only for local plain-http development."
    )
    SESSION_CHECK_SECONDS: int = Field(
        60,
        ge=10,
        le=600,
        description="How often, at most, a signed-in visitor's session is confirmed live with the "
        "API (`GET /session`, which also counts as activity there); a session ended elsewhere "
        "is signed out on the site within this time.",
    )
    PROXY_FIX_HOPS: int = Field(
        1,
        ge=0,
        le=5,
        description="Proxies in front of the app whose `X-Forwarded-*` headers are trusted "
        "(1: the ALB); client addresses for rate limits come from here.",
    )
    EXTRA_CSP_ORIGINS: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Space-separated origins added to the CSP's img-src, connect-src and "
        "form-action (e.g. the local S3 stand-in).",
    )

    @field_validator("EXTRA_CSP_ORIGINS", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return tuple(value.split()) if isinstance(value, str) else value


class MediaSettings(_Settings):
    """Media (S3)"""

    AWS_REGION: str = Field(
        "us-east-1",
        validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"),
        description="Region of the buckets (or `AWS_DEFAULT_REGION`).",
    )
    MEDIA_BUCKET: str | None = Field(
        None,
        description="Processed event images; without `MEDIA_BASE_URL` the web pre-signs GETs for "
        "them with its task role.",
    )
    MEDIA_BASE_URL: str | None = Field(
        None,
        pattern=r"^(/|https://[^/]+/?)[^?#]*$",
        description="Where a CDN serves the media bucket's keys (`/media` behind Gatepass's "
        "CloudFront distribution, or an `https://` URL); pages and `/api` link to "
        "`<MEDIA_BASE_URL>/<key>` instead of pre-signed S3 URLs.",
    )
    MEDIA_URL_TTL_SECONDS: int = Field(
        3600, ge=60, le=604800, description="Lifetime of those pre-signed URLs."
    )
    UPLOADS_BUCKET: str | None = Field(
        None, description="Where the browser posts images; only its origin is needed (CSP)."
    )
    TICKETS_BUCKET: str | None = Field(
        None, description="Where QR images live (the API pre-signs them); CSP only."
    )
    AWS_ENDPOINT_URL: str | None = Field(None, description="S3 stand-in (`make dev`).")


class SignInSettings(_Settings):
    """Sign-in"""

    SIGN_IN_METHOD: Literal["email-code", "cognito", "oidc"] = Field(
        "email-code",
        description="`email-code`: Gatepass's emailed code. `cognito` or `oidc`: sign in through "
        "the identity provider below (authorization code with PKCE, Authlib), then exchange its "
        "ID token at the API's `/verify-id-token`.",
    )
    OIDC_ISSUER: str | None = Field(
        None, description="The identity provider's issuer URL (Cognito: the user pool's)."
    )
    OIDC_CLIENT_ID: str | None = Field(None, description="The web's client id there.")
    OIDC_CLIENT_SECRET: str | None = Field(
        None, repr=False, description="(secret) The web's client secret there."
    )

    @model_validator(mode="after")
    def _provider_complete(self) -> Self:
        if self.SIGN_IN_METHOD != "email-code":
            missing = [
                name
                for name in ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(f"SIGN_IN_METHOD {self.SIGN_IN_METHOD} needs {', '.join(missing)}")
        return self


class TracingSettings(_Settings):
    """Tracing (OpenTelemetry, decision 0034)"""

    TRACING: Literal["off", "otlp"] = Field(
        "off",
        description="`otlp`: trace requests, SQL, Redis and API calls and send the spans to "
        "`OTEL_EXPORTER_OTLP_ENDPOINT` (the ADOT collector beside the container, which forwards "
        "them to X-Ray); `off` loads no tracing library.",
    )
    OTEL_EXPORTER_OTLP_ENDPOINT: str = Field(
        "http://127.0.0.1:4318", description="The collector's OTLP/HTTP endpoint."
    )
    TRACING_SAMPLE_RATIO: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="Share of requests traced when no caller decided (a sampled "
        "`X-Amzn-Trace-Id` from the load balancer is always followed).",
    )


class Config(
    DatabaseSettings,
    CacheSettings,
    ApiSettings,
    SecuritySettings,
    SignInSettings,
    MediaSettings,
    TracingSettings,
):
    """The web service's settings; Flask reads them as its config (``as_flask``)."""

    PAGE_SIZE: int = Field(12, ge=1, le=100, description="Catalog page size.")
    LOG_LEVEL: str = Field("INFO", description="Python logging level.")
    TESTING: bool = Field(False, description="Flask's testing mode (tests only).")

    @field_validator("LOG_LEVEL")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.strip().upper() or "INFO"

    def as_flask(self) -> dict[str, Any]:
        values = self.model_dump(exclude=set(self.CONNECTION_PARTS))
        values["MAX_CONTENT_LENGTH"] = 1024 * 1024
        # Flask's own session cookie only carries flash messages.
        flash_cookie = "gp_flash"
        values["SESSION_COOKIE_NAME"] = (
            f"__Host-{flash_cookie}" if self.SESSION_COOKIE_SECURE else flash_cookie
        )
        values["SESSION_COOKIE_HTTPONLY"] = True
        values["SESSION_COOKIE_SAMESITE"] = "Lax"
        return values


class _MappingSource(EnvSettingsSource):
    """Variables from a mapping instead of ``os.environ``, parsed exactly the same way."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = dict(environ)
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


def _explain(exc: ValidationError) -> str:
    return "; ".join(_problem(error) for error in exc.errors())


def _problem(error: ErrorDetails) -> str:
    name = ".".join(str(part) for part in error["loc"])
    kind = error["type"]
    if kind == "missing":
        message = "must be set"
    elif kind == "bool_parsing":
        message = "must be a true/false value (true, false, yes, no, on, off, 1, 0)"
    elif kind == "int_parsing":
        message = "must be a whole number"
    elif kind in ("greater_than_equal", "less_than_equal") and name in Config.model_fields:
        field = Config.model_fields[name]
        low, high = field_range(field)
        message = f"must be from {low} to {high}"
    elif kind == "string_too_short":
        message = f"must be set to at least {error.get('ctx', {}).get('min_length')} characters"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    return f"{name} {message}" if name else message


def field_range(field: FieldInfo) -> tuple[Any, Any]:
    """The ``ge`` and ``le`` bounds of a field (None where it has none)."""
    low = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)
    high = next((m.le for m in field.metadata if hasattr(m, "le")), None)
    return low, high
