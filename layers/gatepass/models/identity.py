"""Sign-in inputs and outputs: ``/send-otp``, ``/verify-otp`` and the session authorizer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import ConfigDict, Field

from gatepass.models.common import Email, Model
from gatepass.models.sessions import SessionPolicy

# A browser's sign-in nonce and a link's token: URL-safe base64 of at least 128 random bits.
BROWSER_NONCE = r"^[A-Za-z0-9_-]{22,128}$"
LINK_TOKEN = r"^[A-Za-z0-9_-]{22,128}$"  # noqa: S105 (a pattern, not a secret)
CODE_TRIES_WINDOW_SECONDS = 30 * 86_400


@dataclass(frozen=True)
class SignInPolicy:
    """The limits of sign-in (SendOtpSettings and VerifyOtpSettings give them)."""

    code_ttl_seconds: int
    max_attempts: int
    code_tries_per_month: int
    session_ttl_seconds: int
    session_idle_seconds: int = 1800

    @property
    def sessions(self) -> SessionPolicy:
        """What the sessions this sign-in starts live by."""
        return SessionPolicy(
            ttl_seconds=self.session_ttl_seconds, idle_seconds=self.session_idle_seconds
        )

    @property
    def link_ttl_seconds(self) -> int:
        return self.code_ttl_seconds

    @property
    def mail_interval_seconds(self) -> int:
        """One sign-in mail per address per half a mail's lifetime: whenever the owner asks,
        a mail that works for at least that long more is in their inbox, or one is sent."""
        return self.code_ttl_seconds // 2


class SendOtpRequest(Model):
    model_config = ConfigDict(extra="forbid")

    email: Email
    browser: str = Field(
        default="",
        max_length=128,
        pattern=r"^$|" + BROWSER_NONCE,
        description=(
            "A random value the asking browser keeps (at least 128 bits, URL-safe base64). "
            "The mail's sign-in link works only together with it (POST /verify-link)."
        ),
    )


class SendOtpResponse(Model):
    message: str


class VerifyOtpRequest(Model):
    model_config = ConfigDict(extra="forbid")

    email: Email
    # Any short string: a code of the wrong shape is a wrong try, answered like any other.
    code: str = Field(min_length=1, max_length=16)


class VerifyLinkRequest(Model):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(pattern=LINK_TOKEN, description="The token of the mail's sign-in link.")
    browser: str = Field(
        pattern=BROWSER_NONCE, description="The value the browser gave POST /send-otp."
    )


class SessionTokenResponse(Model):
    token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (a scheme name)
    expires_in: int
    # Epoch seconds, the token's own ``exp``: what a cookie's expiry needs.
    expires_at: int


class AuthorizerPolicy(Model):
    """What a TOKEN authorizer answers API Gateway (an IAM policy and a flat context)."""

    model_config = ConfigDict(populate_by_name=True)

    principal_id: str = Field(serialization_alias="principalId")
    policy_document: dict[str, object] = Field(serialization_alias="policyDocument")
    context: dict[str, str | int | bool]


class VerifyIdTokenRequest(Model):
    """``/verify-id-token``: the ID token the web received from the stack's identity provider."""

    model_config = ConfigDict(extra="forbid")

    id_token: str = Field(min_length=20, max_length=8192)
