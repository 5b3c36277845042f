"""Configuration as a model, read from environment variables and validated at cold start.

Every variable a function reads is named here once; the template sets them (Globals and per
function). A handler calls ``Settings.from_env(required=...)`` at import time so a missing or
malformed variable fails the cold start, not a request.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ConfigurationError(RuntimeError):
    """The environment does not describe a usable configuration."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    stage: str = "dev"
    # DynamoDB tables
    ticketing_table: str | None = None
    identity_table: str | None = None
    activity_table: str | None = None
    idempotency_table: str | None = None
    # S3 buckets
    uploads_bucket: str | None = None
    media_bucket: str | None = None
    tickets_bucket: str | None = None
    # Messaging and workflow
    mail_topic_arn: str | None = None
    mail_channel: Literal["SNS", "SES"] = "SNS"
    mail_from_address: str | None = None
    subscription_state_machine_arn: str | None = None
    # Secrets (ARNs or names in Secrets Manager)
    session_key_secret_arn: str | None = None
    ticket_key_secret_arn: str | None = None
    # Behaviour
    allowed_web_origin: str = "*"
    sign_in_code_ttl_seconds: int = Field(default=300, ge=60, le=900)
    sign_in_max_attempts: int = Field(default=5, ge=1, le=20)
    sign_in_max_sends_per_hour: int = Field(default=5, ge=1, le=100)
    session_ttl_seconds: int = Field(default=3600, ge=300, le=43200)
    presigned_url_ttl_seconds: int = Field(default=300, ge=30, le=300)
    upload_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=20 * 1024 * 1024)
    activity_retention_days: int = Field(default=90, ge=1, le=3650)
    public_api_url: str | None = None
    # Read model (projector): DATABASE_URL, or DATABASE_HOST with the RDS-managed secret
    # (JSON with username and password) named by DATABASE_SECRET_ARN.
    database_url: str | None = None
    database_host: str | None = None
    database_port: int = Field(default=5432, ge=1, le=65535)
    database_name: str = "gatepass"
    database_secret_arn: str | None = None
    database_sslmode: Literal["disable", "prefer", "require", "verify-ca", "verify-full"] = (
        "require"
    )
    # Cache the projector invalidates (redis:// or rediss://).
    redis_url: str | None = None
    # Secret holding the cache's AUTH token (ElastiCache); REDIS_URL carries no credentials.
    redis_auth_secret_arn: str | None = None

    @classmethod
    def from_env(
        cls, required: Iterable[str] = (), environ: Mapping[str, str] | None = None
    ) -> Settings:
        env = os.environ if environ is None else environ
        values = {
            name: env[name.upper()] for name in cls.model_fields if env.get(name.upper(), "") != ""
        }
        try:
            settings = cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigurationError(f"invalid configuration: {exc}") from exc
        missing = [name.upper() for name in required if getattr(settings, name) in (None, "")]
        if missing:
            raise ConfigurationError(f"missing environment variables: {', '.join(missing)}")
        return settings

    def need(self, name: str) -> str:
        value = getattr(self, name)
        if value in (None, ""):
            raise ConfigurationError(f"missing environment variable {name.upper()}")
        return str(value)
