"""Session tokens: what verifies, and every way a token is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gatepass import tokens
from gatepass.errors import Unauthorized
from tests.support.fresh import run_fresh

pytestmark = pytest.mark.unit

SIGNER = tokens.LocalSigner.generate()
KEY = SIGNER.verifying_key()
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
    issued = tokens.issue_session_token(SIGNER, "alice@example.com", ttl_seconds=3600, now=NOW)

    claims = tokens.verify_session_token(KEY, issued.token, now=NOW + 10)

    assert claims.subject == "alice@example.com"
    assert (claims.issued_at, claims.expires_at) == (NOW, NOW + 3600)
    assert claims.methods == ("otp-email",)
    assert claims.session_id == issued.session_id
    assert (issued.expires_at, issued.expires_in) == (NOW + 3600, 3600)
    header, payload, _ = parts(issued.token)
    assert header == {"alg": "ES256", "typ": "JWT", "kid": "local"}
    assert payload["iss"] == "gatepass"
    assert payload["aud"] == "gatepass:session"


def test_each_token_has_its_own_id_and_a_renewal_keeps_the_session() -> None:
    first = tokens.issue_session_token(SIGNER, "a@example.com", ttl_seconds=60, now=NOW)
    second = tokens.issue_session_token(
        SIGNER, "a@example.com", ttl_seconds=60, now=NOW, session_id=first.session_id
    )

    one = tokens.verify_session_token(KEY, first.token, now=NOW)
    two = tokens.verify_session_token(KEY, second.token, now=NOW)
    assert one.token_id != two.token_id
    assert one.session_id == two.session_id


def test_a_stronger_method_is_carried_in_amr() -> None:
    issued = tokens.issue_session_token(
        SIGNER, "a@example.com", ttl_seconds=60, now=NOW, methods=("otp-email", "webauthn")
    )

    assert tokens.verify_session_token(KEY, issued.token, now=NOW).methods == (
        "otp-email",
        "webauthn",
    )


def test_token_expires_exactly_at_exp() -> None:
    issued = tokens.issue_session_token(SIGNER, "a@example.com", ttl_seconds=300, now=NOW)

    tokens.verify_session_token(KEY, issued.token, now=NOW + 299)
    with pytest.raises(Unauthorized, match="expired"):
        tokens.verify_session_token(KEY, issued.token, now=NOW + 300)


def test_token_from_the_future_is_refused_beyond_leeway() -> None:
    issued = tokens.issue_session_token(SIGNER, "a@example.com", ttl_seconds=3600, now=NOW + 60)

    tokens.verify_session_token(KEY, issued.token, now=NOW + 60 - tokens.LEEWAY_SECONDS)
    with pytest.raises(Unauthorized, match="not valid yet"):
        tokens.verify_session_token(KEY, issued.token, now=NOW)


def test_a_token_for_another_audience_is_not_a_session() -> None:
    link = tokens.issue_session_token(
        SIGNER, "a@example.com", ttl_seconds=60, now=NOW, audience="gatepass:sign-in-link"
    )

    with pytest.raises(Unauthorized, match="not issued for this use"):
        tokens.verify_session_token(KEY, link.token, now=NOW)
    assert tokens.verify_session_token(
        KEY, link.token, now=NOW, audience="gatepass:sign-in-link"
    ).subject == ("a@example.com")


def _signed(claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    """A token signed by the real key, with chosen header and claims."""
    head = b64(header or {"alg": "ES256", "typ": "JWT"})
    body = b64(claims)
    raw = SIGNER.sign(f"{head}.{body}".encode())
    r, s = decode_dss_signature(raw)
    return f"{head}.{body}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _hmac_with_public_key(claims: dict[str, Any]) -> str:
    public = KEY.public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(claims)}"
    mac = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


GOOD_CLAIMS = {
    "iss": "gatepass",
    "aud": "gatepass:session",
    "sub": "a@example.com",
    "sid": "s",
    "iat": NOW,
    "exp": NOW + 60,
    "jti": "x",
}
OTHER = tokens.LocalSigner.generate()


def _without(name: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD_CLAIMS.items() if k != name}


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(f"{b64({'alg': 'none'})}.{b64(GOOD_CLAIMS)}.", id="alg-none"),
        pytest.param(f"{b64({'alg': 'None', 'typ': 'JWT'})}.{b64(GOOD_CLAIMS)}.", id="alg-None"),
        pytest.param(_hmac_with_public_key(GOOD_CLAIMS), id="hs256-keyed-with-public-key"),
        pytest.param(_signed(GOOD_CLAIMS, {"alg": "ES256", "typ": "JWS"}), id="other-typ"),
        pytest.param(
            tokens.issue_session_token(OTHER, "a@example.com", ttl_seconds=60, now=NOW).token,
            id="other-key",
        ),
        pytest.param(_signed({**GOOD_CLAIMS, "iss": "evil"}), id="issuer"),
        pytest.param(_signed({**GOOD_CLAIMS, "aud": "someone-else"}), id="audience"),
        pytest.param(_signed(_without("aud")), id="no-audience"),
        pytest.param(_signed({**GOOD_CLAIMS, "sub": ""}), id="empty-subject"),
        pytest.param(_signed(_without("exp")), id="no-exp"),
        pytest.param(_signed(_without("sid")), id="no-session"),
        pytest.param(_signed({**GOOD_CLAIMS, "exp": "soon"}), id="bad-exp"),
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


def test_a_well_formed_token_signed_by_the_key_passes() -> None:
    # The forged cases above differ from this one in one thing each.
    assert tokens.verify_session_token(KEY, _signed(GOOD_CLAIMS), now=NOW).subject == (
        "a@example.com"
    )


def test_changing_any_claim_breaks_the_signature() -> None:
    issued = tokens.issue_session_token(SIGNER, "alice@example.com", ttl_seconds=60, now=NOW)
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


# ---------------------------------------------------------------------------- minting


def test_a_minted_token_is_what_pyjwt_writes_and_pyjwt_verifies_it() -> None:
    # Given a token minted with the sample key
    from gatepass.pyjwt import jwt
    from tests.support.session_keys import sample_private_key, sample_signer

    issued = tokens.issue_session_token(sample_signer(), "ada@example.com", ttl_seconds=60)
    claims = parts(issued.token)[1]

    # When PyJWT writes the same claims and header with the same key
    written = jwt.encode(
        claims, sample_private_key(), algorithm="ES256", headers={"kid": "sample", "typ": "JWT"}
    )

    # Then the header and claims are the same bytes (ECDSA signatures differ each time), and
    # PyJWT verifies the minted token with the public key
    assert issued.token.split(".")[:2] == written.split(".")[:2]
    verified = jwt.decode(
        issued.token,
        sample_private_key().public_key(),
        algorithms=["ES256"],
        audience="gatepass:session",
        issuer="gatepass",
    )
    assert verified == claims


class _FixedSigner:
    key_id = "fixed"

    def __init__(self, der: bytes) -> None:
        self.der = der

    def sign(self, message: bytes) -> bytes:
        return self.der


@pytest.mark.parametrize(
    ("r", "s"),
    [(1, 2), (2**255 + 7, 3), (5, 2**256 - 1), (2**248, 2**200)],
    ids=["small", "high-bit-r", "largest-s", "leading-zero-bytes"],
)
def test_the_signature_is_r_and_s_as_32_bytes_each(r: int, s: int) -> None:
    issued = tokens.issue_session_token(
        _FixedSigner(encode_dss_signature(r, s)), "a@example.com", ttl_seconds=60, now=NOW
    )

    signature = base64.urlsafe_b64decode(issued.token.split(".")[2] + "==")
    assert signature == r.to_bytes(32, "big") + s.to_bytes(32, "big")


@pytest.mark.parametrize(
    "answer",
    [b"not a DER signature", b"", encode_dss_signature(1, 2**256 + 1)],
    ids=["text", "empty", "s-wider-than-p256"],
)
def test_a_signer_answer_that_is_not_a_signature_mints_nothing(answer: bytes) -> None:
    with pytest.raises(ValueError, match="not a P-256 ECDSA signature"):
        tokens.issue_session_token(_FixedSigner(answer), "a@example.com", ttl_seconds=60, now=NOW)


def test_minting_loads_neither_pyjwt_nor_the_key_formats() -> None:
    # When a fresh interpreter mints a token (its signer answers a fixed DER signature)
    printed = run_fresh(
        "from gatepass import tokens\n"
        "class Signer:\n"
        "    key_id = 'fixed'\n"
        "    def sign(self, message): return bytes.fromhex('3006020101020102')\n"
        "tokens.issue_session_token(Signer(), 'a@example.com', ttl_seconds=60)\n"
        "heavy = ('jwt', 'cryptography.hazmat.primitives.serialization',\n"
        "         'cryptography.hazmat.primitives.asymmetric.ec', 'cryptography.x509')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))"
    )

    # Then PyJWT, cryptography's key formats and its EC keys were not loaded
    assert printed.strip() == "[]"
