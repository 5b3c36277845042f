"""Google Wallet save links without Apple's certificate code: certificates and PKCS#7 are
imported where an Apple pass is made, so the save link's function does not load them."""

from __future__ import annotations

import pytest

from tests.support.fresh import run_fresh

pytestmark = pytest.mark.unit

_SAVE_LINK = """
import json
import gatepass.logic.wallet
from gatepass import wallet
from gatepass.pyjwt import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
credentials = wallet.GoogleCredentials("3388000000022", "issuer@example.iam", "k1", key)
url = wallet.google_save_url({"iss": "issuer@example.iam", "aud": "google"}, credentials)
token = url.removeprefix(wallet.GOOGLE_SAVE_URL)
claims = jwt.decode(token, key.public_key(), algorithms=["RS256"], audience="google")
assert claims["iss"] == "issuer@example.iam"
print(json.dumps(sorted(m for m in sys.modules if m.startswith(
    ("cryptography.x509.", "cryptography.hazmat.primitives.serialization.pkcs7")))))
from cryptography import x509
print(x509.Certificate.__name__)
"""


def test_a_google_save_link_runs_no_certificate_or_pkcs7_code() -> None:
    # When a fresh interpreter imports the wallet rules and signs a save link
    printed = run_fresh(_SAVE_LINK)

    # Then the link verified, none of cryptography's certificate or PKCS#7 modules ran, and the
    # certificates still load when something reads them
    assert printed.splitlines() == ["[]", "Certificate"]
