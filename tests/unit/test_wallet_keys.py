"""Wallet keys (``gatepass.wallet.signing_key``): loaded without cryptography's prime check, then
proved by a signature that must verify, so a key whose parts disagree is refused as unusable."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from gatepass import wallet
from gatepass.errors import WalletNotConfigured

pytestmark = pytest.mark.unit


def _pem(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, password: bytes | None = None
) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _disagreeing(key: rsa.RSAPrivateKey) -> bytes:
    """``key`` with a private exponent (and the CRT values made from it) that its public
    exponent does not undo: it loads, and signs signatures that do not verify."""
    numbers = key.private_numbers()
    d = numbers.d + 2
    broken = rsa.RSAPrivateNumbers(
        p=numbers.p,
        q=numbers.q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, numbers.p),
        dmq1=rsa.rsa_crt_dmq1(d, numbers.q),
        iqmp=numbers.iqmp,
        public_numbers=numbers.public_numbers,
    ).private_key(unsafe_skip_rsa_key_validation=True)
    return _pem(broken)


def test_a_good_rsa_key_loads_and_signs_as_before(rsa_key: rsa.RSAPrivateKey) -> None:
    # When the operator's RSA key is loaded, with and without a password
    for password in (None, b"pass phrase"):
        key = wallet.signing_key(_pem(rsa_key, password), password)
        # Then it is the same key, and what it signs verifies with the public key
        assert isinstance(key, rsa.RSAPrivateKey)
        assert key.private_numbers() == rsa_key.private_numbers()
        signature = key.sign(b"pass", padding.PKCS1v15(), hashes.SHA256())
        rsa_key.public_key().verify(signature, b"pass", padding.PKCS1v15(), hashes.SHA256())


def test_an_ec_key_loads_as_before() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    key = wallet.signing_key(_pem(ec_key), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.private_numbers() == ec_key.private_numbers()


def test_a_key_whose_parts_disagree_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    # Given an RSA key whose private exponent does not match its public one
    pem = _disagreeing(rsa_key)
    # Then it is refused as a key, before it signs anything
    with pytest.raises(ValueError, match="do not agree"):
        wallet.signing_key(pem, None)
    # And a Google Wallet secret holding it is not usable: the function answers 503 as for
    # any unusable key, never a link no one can verify
    secret = {
        "issuer_id": "3388000000012345678",
        "client_email": "issuer@example.iam.gserviceaccount.com",
        "private_key": pem.decode(),
    }
    with pytest.raises(WalletNotConfigured, match="not usable"):
        wallet.google_credentials(json.dumps(secret))


@pytest.mark.parametrize(
    "pem", [b"", b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"]
)
def test_what_is_not_a_key_is_refused(pem: bytes) -> None:
    with pytest.raises(ValueError, match="Unable to load PEM"):
        wallet.signing_key(pem, None)
