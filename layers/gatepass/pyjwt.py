"""PyJWT, for every part of Gatepass that reads or writes a JWT: the one module that imports it.

PyJWT's ``jwt.algorithms`` imports ``cryptography.x509`` when it is imported, for keys given as
X.509 certificates. Gatepass never gives it one (session keys come from KMS as DER public keys,
identity providers' keys from their JWKS, wallet keys as PEM private keys), and that import
alone cost the authorizer's first event about a tenth of the cold-start floor. So it is deferred
here (decision 0081): it runs when something reads from it, as the Apple pass signer does.
"""

from gatepass.deferred import defer

defer("cryptography.x509")

import jwt  # noqa: E402  (after the deferral, which is the point of this module)

__all__ = ["jwt"]
