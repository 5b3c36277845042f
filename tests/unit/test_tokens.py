"""Session tokens: what verifies, and every way a token is refused."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from gatepass import tokens
from gatepass.errors import Unauthorized

pytestmark = pytest.mark.unit

KEY = b"k" * 32
NOW = 1_795_338_000


def b64(data: Any) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return _decode(header), _decode(payload), signature


def _decode(part: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def test_issued_token_verifies_with_its_claims() -> None:
    issued = tokens.issue_session_token(KEY, "alice@example.com", ttl_seconds=3600, now=NOW)

    claims = tokens.verify_session_token(KEY, issued.token, now=NOW + 10)

    assert claims.subject == "alice@example.com"
    assert (claims.issued_at, claims.expires_at) == (NOW, NOW + 3600)
    assert claims.methods == ("otp-email",)
    assert (issued.expires_at, issued.expires_in) == (NOW + 3600, 3600)
    header, payload, _ = parts(issued.token)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert payload["iss"] == "gatepass"


def test_each_token_has_its_own_id() -> None:
    first = tokens.issue_session_token(KEY, "a@example.com", ttl_seconds=60, now=NOW)
    second = tokens.issue_session_token(KEY, "a@example.com", ttl_seconds=60, now=NOW)

    assert first.token != second.token
    ids = {tokens.verify_session_token(KEY, t.token, now=NOW).token_id for t in (first, second)}
    assert len(ids) == 2


def test_a_stronger_method_is_carried_in_amr() -> None:
    issued = tokens.issue_session_token(
        KEY, "a@example.com", ttl_seconds=60, now=NOW, methods=("otp-email", "webauthn")
    )

    assert tokens.verify_session_token(KEY, issued.token, now=NOW).methods == (
        "otp-email",
        "webauthn",
    )


def test_token_expires_exactly_at_exp() -> None:
    issued = tokens.issue_session_token(KEY, "a@example.com", ttl_seconds=300, now=NOW)

    tokens.verify_session_token(KEY, issued.token, now=NOW + 299)
    with pytest.raises(Unauthorized, match="expired"):
        tokens.verify_session_token(KEY, issued.token, now=NOW + 300)


def test_token_from_the_future_is_refused_beyond_leeway() -> None:
    issued = tokens.issue_session_token(KEY, "a@example.com", ttl_seconds=3600, now=NOW + 60)

    tokens.verify_session_token(KEY, issued.token, now=NOW + 60 - tokens.LEEWAY_SECONDS)
    with pytest.raises(Unauthorized, match="not valid yet"):
        tokens.verify_session_token(KEY, issued.token, now=NOW)


def _signed(header: dict[str, Any], claims: dict[str, Any], key: bytes = KEY) -> str:
    signing_input = f"{b64(header)}.{b64(claims)}"
    return f"{signing_input}.{b64(tokens._sign(key, signing_input.encode()))}"


GOOD_CLAIMS = {"iss": "gatepass", "sub": "a@example.com", "iat": NOW, "exp": NOW + 60, "jti": "x"}


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(f"{b64({'alg': 'none'})}.{b64(GOOD_CLAIMS)}.", id="alg-none"),
        pytest.param(f"{b64({'alg': 'None', 'typ': 'JWT'})}.{b64(GOOD_CLAIMS)}.", id="alg-None"),
        pytest.param(_signed({"alg": "HS512", "typ": "JWT"}, GOOD_CLAIMS), id="other-alg"),
        pytest.param(_signed({"alg": "HS256", "typ": "JWS"}, GOOD_CLAIMS), id="other-typ"),
        pytest.param(_signed({"alg": "HS256"}, GOOD_CLAIMS, key=b"x" * 32), id="other-key"),
        pytest.param(_signed({"alg": "HS256"}, {**GOOD_CLAIMS, "iss": "evil"}), id="issuer"),
        pytest.param(_signed({"alg": "HS256"}, {**GOOD_CLAIMS, "sub": ""}), id="empty-subject"),
        pytest.param(
            _signed({"alg": "HS256"}, {k: v for k, v in GOOD_CLAIMS.items() if k != "exp"}),
            id="no-exp",
        ),
        pytest.param(_signed({"alg": "HS256"}, {**GOOD_CLAIMS, "exp": "soon"}), id="bad-exp"),
        pytest.param(f"{b64(b'[1]')}.{b64(GOOD_CLAIMS)}.sig", id="header-not-object"),
        pytest.param(b64(bytes([0xFF, 0xFE])) + f".{b64(GOOD_CLAIMS)}.sig", id="header-not-utf8"),
        pytest.param("a.b", id="two-parts"),
        pytest.param("a.b.c.d", id="four-parts"),
        pytest.param(".b.c", id="empty-header"),
        pytest.param("", id="empty"),
    ],
)
def test_refused_tokens(token: str) -> None:
    with pytest.raises(Unauthorized):
        tokens.verify_session_token(KEY, token, now=NOW)


def test_changing_any_claim_breaks_the_signature() -> None:
    issued = tokens.issue_session_token(KEY, "alice@example.com", ttl_seconds=60, now=NOW)
    header, _payload, signature = issued.token.split(".")
    claims = parts(issued.token)[1]
    forged = f"{header}.{b64({**claims, 'sub': 'mallory@example.com'})}.{signature}"

    with pytest.raises(Unauthorized, match="signature"):
        tokens.verify_session_token(KEY, forged, now=NOW)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc", "abc"),
        ("  Bearer   abc  ", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer   ", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_token(header: str | None, expected: str | None) -> None:
    assert tokens.bearer_token(header) == expected
