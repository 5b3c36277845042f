"""Stand-in wallet credentials for ``make dev`` and the tests (never for a real phone).

Apple: a self-signed "WWDR" authority and a pass type certificate it issued, with the pass
type identifier and team in the subject as Apple's are; passes signed with them have the real
structure and a verifiable PKCS#7 signature, but Wallet refuses them (it trusts only Apple's
root). Google: a service-account JSON of Google's shape with a fresh RSA key and a test issuer
id; the save links it signs are verifiable JWTs that Google would not accept.

The template names the generator in each secret's ``Metadata.devstack.generate``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

PASS_TYPE_IDENTIFIER = "pass.dev.gatepass.ticket"  # noqa: S105 (an identifier, not a secret)
TEAM_IDENTIFIER = "GATEPASSDEV"


@cache
def _key(purpose: str) -> rsa.RSAPrivateKey:
    """One key per purpose and process: RSA generation is slow, and every test's fresh stack
    creates these secrets."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str, *extra: x509.NameAttribute[str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name), *extra])


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def apple_pass_certificate() -> str:
    """The ApplePassSecret's JSON: a self-signed authority and the pass certificate it signed."""
    now = datetime.now(UTC)
    authority_key = _key("apple-authority")
    authority_name = _name(
        "Gatepass Dev WWDR Stand-in", x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Gatepass dev")
    )
    authority = (
        x509.CertificateBuilder()
        .subject_name(authority_name)
        .issuer_name(authority_name)
        .public_key(authority_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(authority_key, hashes.SHA256())
    )
    pass_key = _key("apple-pass")
    certificate = (
        x509.CertificateBuilder()
        .subject_name(
            _name(
                f"Pass Type ID: {PASS_TYPE_IDENTIFIER}",
                x509.NameAttribute(NameOID.USER_ID, PASS_TYPE_IDENTIFIER),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, TEAM_IDENTIFIER),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Gatepass dev"),
            )
        )
        .issuer_name(authority_name)
        .public_key(pass_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
        )
        .sign(authority_key, hashes.SHA256())
    )
    return json.dumps(
        {
            "pass_type_identifier": PASS_TYPE_IDENTIFIER,
            "team_identifier": TEAM_IDENTIFIER,
            "organization_name": "Gatepass (dev)",
            "certificate_pem": certificate.public_bytes(serialization.Encoding.PEM).decode(),
            "private_key_pem": _pem(pass_key),
            "wwdr_certificate_pem": authority.public_bytes(serialization.Encoding.PEM).decode(),
        }
    )


def google_wallet_service_account() -> str:
    """The GoogleWalletSecret's JSON: a service-account key file plus the issuer id."""
    key = _key("google-service-account")
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "gatepass-dev",
            "private_key_id": secrets.token_hex(20),
            "private_key": _pem(key),
            "client_email": "gatepass-wallet@gatepass-dev.iam.gserviceaccount.com",
            "client_id": str(secrets.randbelow(10**20)),
            "token_uri": "https://oauth2.googleapis.com/token",
            "issuer_id": "3388000000000000000",
        }
    )


GENERATORS: dict[str, Callable[[], str]] = {
    "apple-pass-certificate": apple_pass_certificate,
    "google-wallet-service-account": google_wallet_service_account,
}
