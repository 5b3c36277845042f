"""Configuration as models, read from environment variables at cold start.

Each function has its settings model, composed from the small mixins here (a table, a bucket, a
key, ...) over ``FunctionSettings``, so it asks for exactly the variables it uses and a missing or
malformed one fails the cold start naming itself, not a request. The models live one per module
in ``gatepass.settings`` (``settings_of(function)``), so a cold start defines only its own; the
mixins are plain classes whose annotated fields and validators pydantic collects into the model
that composes them, so importing them builds nothing (decision 0080). The table of variables in
docs/operations.md is generated from every model (``python -m gatepass.config``) and a template
test checks each against the template's ``Environment``.

The models are pydantic models read from the environment by ``load`` (a field ``name`` is the
variable ``NAME``; an empty variable counts as unset), not pydantic-settings ``BaseSettings``:
importing pydantic-settings cost more of every cold start than the rest of the configuration,
for sources (dotenv files, secrets directories, JSON values, CLI) Gatepass never reads. Each
model's validator is built when it is first used (``defer_build``), so a function builds only
its own (decision 0035). Annotations are evaluated as the classes are
defined (no ``from __future__ import annotations``): postponed, pydantic would compile every
field's annotation from its string at every cold start (decision 0036).
"""

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gatepass.errors import ConfigurationError as ConfigurationError

if TYPE_CHECKING:
    # Imported where a policy is made: most functions make neither, and importing the identity
    # models cost each of them about as much as all the settings classes below.
    from gatepass.models.identity import SignInPolicy
    from gatepass.models.sessions import SessionPolicy


class FunctionSettings(BaseModel):
    """What every function reads (the template's Globals)."""

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    stage: Annotated[str, Field(description="Deployment stage (`Stage` parameter).")] = "dev"

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The settings from ``environ`` (default: the process environment)."""
        source = os.environ if environ is None else environ
        given = {name.lower(): value for name, value in source.items() if value != ""}
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            raise ConfigurationError(_describe(exc)) from exc

    @classmethod
    def variables(cls) -> dict[str, tuple[bool, str]]:
        """Each environment variable, whether it is required, and what it is."""
        return {
            name.upper(): (field.is_required(), field.description or "")
            for name, field in cls.model_fields.items()
        }


def _describe(exc: ValidationError) -> str:
    missing = [str(e["loc"][0]).upper() for e in exc.errors() if e["type"] == "missing"]
    if missing:
        return f"missing environment variables: {', '.join(missing)}"
    problems = [
        f"{str(e['loc'][0]).upper()}: {e['msg']}" if e["loc"] else e["msg"] for e in exc.errors()
    ]
    return f"invalid configuration: {'; '.join(problems)}"


# ------------------------------------------------------------------------------------ mixins


class Api:
    allowed_web_origin: Annotated[
        str, Field(description="Origin allowed by CORS (`AllowedWebOrigin`).")
    ] = "*"


class TicketingTable:
    ticketing_table: Annotated[str, Field(description="Events, tickets and holdings.")]


class IdentityTable:
    identity_table: Annotated[str, Field(description="Subscriptions, sign-in codes and sessions.")]


class ActivityTable:
    activity_table: Annotated[str, Field(description="Activity records.")]
    activity_retention_days: Annotated[
        int, Field(ge=1, le=3650, description="Days an activity record is kept (TTL).")
    ] = 90


class IdempotencyTable:
    idempotency_table: Annotated[str, Field(description="Idempotency records of ticket sales.")]


class UploadsBucket:
    uploads_bucket: Annotated[str, Field(description="Raw image uploads.")]
    upload_max_bytes: Annotated[
        int,
        Field(ge=1024, le=20 * 1024 * 1024, description="Largest cover image accepted, bytes."),
    ] = 5 * 1024 * 1024


class MediaBucket:
    media_bucket: Annotated[str, Field(description="Processed event images.")]


class TicketsBucket:
    tickets_bucket: Annotated[str, Field(description="Tickets' QR images.")]


class PresignedUrls:
    presigned_url_ttl_seconds: Annotated[
        int, Field(ge=30, le=300, description="Lifetime of pre-signed S3 URLs, seconds.")
    ] = 300


class SessionKey:
    session_key_secret_arn: Annotated[
        str, Field(description="Secret that the sign-in code hashes are keyed from.")
    ]


class SessionSigningKey:
    session_signing_key_id: Annotated[
        str,
        Field(
            description="KMS key (alias) that signs session tokens: kms:Sign where sessions are "
            "minted, kms:GetPublicKey where they are only verified."
        ),
    ]


class TicketKey:
    ticket_key_secret_arn: Annotated[
        str,
        Field(
            description="Secret that the ticket keys of events created before per-event keys "
            "are derived from (read only to sign for such events; docs/decisions/0064)."
        ),
    ]


class TicketKeysKey:
    ticket_keys_key_id: Annotated[
        str,
        Field(
            description="KMS key (alias) that seals each event's ticket-signing key (envelope "
            "encryption): kms:GenerateDataKey where keys are made, kms:Decrypt where they sign."
        ),
    ]


class IssuesTickets(TicketsBucket, TicketKey, TicketKeysKey):
    """Where tickets are signed and their QR images stored (a sale, a transfer, a reissue)."""


class QueueTokenKey:
    queue_token_secret_arn: Annotated[
        str,
        Field(
            description="Secret the waiting room's position and admission token keys are "
            "derived from (docs/decisions/0072)."
        ),
    ]


class BundleKey:
    scanner_bundle_key_secret_arn: Annotated[
        str, Field(description="Secret the scanner bundles' Ed25519 signing key is derived from.")
    ]


class ApplePassSecret:
    apple_pass_secret_arn: Annotated[
        str,
        Field(
            description="Secret with the Apple pass type certificate, its key and Apple's WWDR "
            "certificate (JSON; docs/operations.md)."
        ),
    ]


class GoogleWalletSecret:
    google_wallet_secret_arn: Annotated[
        str,
        Field(
            description="Secret with the Google Wallet issuer id and service-account key (JSON; "
            "docs/operations.md)."
        ),
    ]


class Mail:
    mail_channel: Annotated[
        Literal["SNS", "SES"], Field(description="How personal mail is sent (`MailChannel`).")
    ] = "SNS"
    mail_topic_arn: Annotated[
        str | None, Field(description="The mail topic (needed with SNS).")
    ] = None
    mail_from_address: Annotated[
        str | None, Field(description="The verified sender (needed with SES).")
    ] = None

    @model_validator(mode="after")
    def _channel_has_its_address(self) -> Self:
        if self.mail_channel == "SES" and not self.mail_from_address:
            raise ValueError("MAIL_CHANNEL SES needs MAIL_FROM_ADDRESS")
        if self.mail_channel == "SNS" and not self.mail_topic_arn:
            raise ValueError("MAIL_CHANNEL SNS needs MAIL_TOPIC_ARN")
        return self


class Site:
    site_url: Annotated[
        str | None,
        Field(
            description="The site's address (https://...), for links in mail; without one the "
            "mail says where to find the ticket instead."
        ),
    ] = None


class SignIn:
    sign_in_code_ttl_seconds: Annotated[
        int,
        Field(
            ge=120,
            le=600,
            description=(
                "Lifetime of a sign-in mail's code and link, seconds (ASVS: 10 min); "
                "one mail per address per half of it."
            ),
        ),
    ] = 600
    sign_in_max_attempts: Annotated[
        int, Field(ge=1, le=20, description="Tries a sign-in code allows.")
    ] = 5
    sign_in_code_tries_per_month: Annotated[
        int,
        Field(
            ge=1,
            le=99,
            description="Code tries one address allows in 30 days (99 keeps a guess under 10^-4).",
        ),
    ] = 90
    session_ttl_seconds: Annotated[
        int, Field(ge=300, le=43200, description="Lifetime of a session token, seconds.")
    ] = 3600

    def sign_in_policy(self) -> "SignInPolicy":
        from gatepass.models.identity import SignInPolicy

        return SignInPolicy(
            code_ttl_seconds=self.sign_in_code_ttl_seconds,
            max_attempts=self.sign_in_max_attempts,
            code_tries_per_month=self.sign_in_code_tries_per_month,
            session_ttl_seconds=self.session_ttl_seconds,
        )


class Sessions:
    """How sessions end besides their token's expiry (docs/decisions/0046)."""

    session_idle_seconds: Annotated[
        int,
        Field(
            ge=300,
            le=43200,
            description="A session ends after this long without a request, seconds "
            "(`SessionIdleTimeoutSeconds`).",
        ),
    ] = 1800
    session_activity_interval_seconds: Annotated[
        int,
        Field(
            ge=10,
            le=600,
            description="A session's activity is written at most once per this many seconds.",
        ),
    ] = 60

    def session_policy(self) -> "SessionPolicy":
        from gatepass.models.sessions import SessionPolicy

        return SessionPolicy(
            idle_seconds=self.session_idle_seconds,
            activity_interval_seconds=self.session_activity_interval_seconds,
        )


class SignInSessions(SignIn, Sessions):
    """Where sign-ins start sessions: their lifetime and their idle period."""

    def sign_in_policy(self) -> "SignInPolicy":
        return replace(super().sign_in_policy(), session_idle_seconds=self.session_idle_seconds)


class IdentityProvider:
    """The stack's OpenID Connect provider (SignInMethod cognito or oidc); none with email-code."""

    oidc_issuer: Annotated[
        str | None, Field(description="Issuer URL of the identity provider, if any.")
    ] = None
    oidc_client_id: Annotated[
        str | None, Field(description="The web's client id at the identity provider.")
    ] = None

    @model_validator(mode="after")
    def _issuer_has_its_client(self) -> Self:
        if self.oidc_issuer and not self.oidc_client_id:
            raise ValueError("OIDC_ISSUER needs OIDC_CLIENT_ID")
        return self


class SubscriptionWorkflow:
    subscription_state_machine_arn: Annotated[
        str, Field(description="The subscription state machine.")
    ]


class OfferTimer:
    offer_state_machine_arn: Annotated[
        str, Field(description="The waiting-list offer timer (statemachines/offer.asl.json).")
    ]
    waitlist_offer_lifetime_seconds: Annotated[
        int,
        Field(
            ge=1,
            le=7 * 86400,
            description="How long an emailed waiting-list offer can be claimed, seconds "
            "(`WaitlistOfferLifetimeSeconds`).",
        ),
    ] = 86400


class ReadModel:
    """DATABASE_URL, or DATABASE_HOST with the RDS-managed secret (JSON with username and
    password) named by DATABASE_SECRET_ARN; the cache the projector invalidates, if any."""

    database_url: Annotated[
        str | None, Field(description="The read model's URL (local runs; else the next four).")
    ] = None
    database_host: Annotated[str | None, Field(description="The read model's host.")] = None
    database_port: Annotated[int, Field(ge=1, le=65535, description="The read model's port.")] = (
        5432
    )
    database_name: Annotated[str, Field(description="The read model's database.")] = "gatepass"
    database_secret_arn: Annotated[
        str | None, Field(description="RDS-managed secret with username and password.")
    ] = None
    # On AWS the projector signs in as its own role with IAM tokens, and reads no secret.
    database_user: Annotated[
        str | None,
        Field(
            description="Role to sign in as with IAM tokens (gatepass_projector, migration 0002)."
        ),
    ] = None
    database_iam_auth: Annotated[
        bool, Field(description="Sign in as DATABASE_USER with a fresh IAM token per connection.")
    ] = False
    aws_region: Annotated[
        str | None, Field(description="Region the IAM tokens are signed for (set by Lambda).")
    ] = None
    database_sslmode: Annotated[
        Literal["disable", "prefer", "require", "verify-ca", "verify-full"],
        Field(
            description="libpq sslmode of the read model's connection (verify-* against the "
            "RDS certificate authorities in the layer)."
        ),
    ] = "verify-full"
    redis_url: Annotated[
        str | None, Field(description="The cache to invalidate (redis:// or rediss://).")
    ] = None
    redis_auth_secret_arn: Annotated[
        str | None, Field(description="Secret holding the cache's AUTH token.")
    ] = None


# ---------------------------------------------------------------------- the variables' table


def variables_table() -> str:
    """The Markdown table of every function's environment variables (docs/operations.md)."""
    from gatepass.settings import function_settings

    rows = [
        "| variable | required | default | what it is | read by |",
        "| --- | --- | --- | --- | --- |",
    ]
    readers: dict[str, list[str]] = {}
    fields = {}
    every = function_settings()
    for function, model in every.items():
        for name, field in model.model_fields.items():
            readers.setdefault(name, []).append(function.removesuffix("Function"))
            fields[name] = field
    for name in sorted(fields):
        field = fields[name]
        default = "" if field.is_required() or field.default is None else f"`{field.default}`"
        required = "yes" if field.is_required() else "no"
        who = ", ".join(readers[name]) if len(readers[name]) < len(every) else "all"
        rows.append(f"| `{name.upper()}` | {required} | {default} | {field.description} | {who} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(variables_table(), end="")
