"""Sign-in inputs and outputs: ``/send-otp``, ``/verify-otp`` and the session authorizer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gatepass.models.common import Email


@dataclass(frozen=True)
class SignInPolicy:
    """The limits of sign-in (SendOtpSettings and VerifyOtpSettings give them)."""

    code_ttl_seconds: int
    max_attempts: int
    max_sends_per_hour: int
    session_ttl_seconds: int


class SendOtpRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email


class SendOtpResponse(BaseModel):
    message: str


class VerifyOtpRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    # Any short string: a code of the wrong shape is a wrong try, answered like any other.
    code: str = Field(min_length=1, max_length=16)


class SessionTokenResponse(BaseModel):
    token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (a scheme name)
    expires_in: int
    # Epoch seconds, the token's own ``exp``: what a cookie's expiry needs.
    expires_at: int


class AuthorizerPolicy(BaseModel):
    """What a TOKEN authorizer answers API Gateway (an IAM policy and a flat context)."""

    model_config = ConfigDict(populate_by_name=True)

    principal_id: str = Field(serialization_alias="principalId")
    policy_document: dict[str, object] = Field(serialization_alias="policyDocument")
    context: dict[str, str | int | bool]


class VerifyIdTokenRequest(BaseModel):
    """``/verify-id-token``: the ID token the web received from the stack's identity provider."""

    model_config = ConfigDict(extra="forbid")

    id_token: str = Field(min_length=20, max_length=8192)
