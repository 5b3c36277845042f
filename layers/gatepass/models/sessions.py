"""Sessions: what is stored of each one, and the answers of ``/session``, ``/sign-out`` and
``/sign-out-everywhere`` (docs/decisions/0046)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import ConfigDict

from gatepass.models.common import Model

# Sessions minted before a "sign out everywhere" can live at most this long after it
# (SESSION_TTL_SECONDS' upper bound), so the mark is kept that long and then expires.
LONGEST_SESSION_SECONDS = 43200


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions live: absolutely (the token's ``exp``), after the last activity, and how
    often activity is written down (at most once per ``activity_interval_seconds``)."""

    ttl_seconds: int = 3600
    idle_seconds: int = 1800
    activity_interval_seconds: int = 60


@dataclass(frozen=True)
class SessionRecord:
    """One session, as the session store keeps it (epoch seconds)."""

    person: str
    session_id: str
    created_at: int
    last_seen_at: int
    expires_at: int
    idle_expires_at: int
    idle_seconds: int
    methods: tuple[str, ...]
    ended_at: int | None = None


@dataclass(frozen=True)
class SessionState:
    """A session and its person's "sessions valid after" mark, read together."""

    session: SessionRecord | None
    valid_after: int | None


class SessionView(Model):
    """``GET /session``: the caller's session, live at the time of the answer."""

    session_id: str
    email: str
    methods: list[str]
    created_at: int
    last_seen_at: int
    idle_expires_at: int
    expires_at: int
    idle_timeout_seconds: int


class SignOutRequest(Model):
    """The body of ``/sign-out`` and ``/sign-out-everywhere``: an empty JSON object (the token
    in ``Authorization`` says whose session ends)."""

    model_config = ConfigDict(extra="forbid")


class SignOutResponse(Model):
    signed_out: Literal["session", "everywhere"]
    message: str
