"""ID tokens from an OpenID Connect provider (Amazon Cognito, an organization's Okta, Entra ID or
Google Workspace, or the local provider ``make dev`` runs), verified against the keys the
provider publishes, through PyJWT.

The provider's discovery document names its ``jwks_uri``; PyJWT's ``PyJWKClient`` fetches and
caches those keys and picks the one the token's ``kid`` names. A token passes only if it is
signed by one of them with an asymmetric algorithm, was issued by the configured issuer for the
configured client (``aud``), has not expired, and carries a verified email address.
"""

from __future__ import annotations

import hashlib
import json
import urllib.request
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from gatepass.errors import Unauthorized

if TYPE_CHECKING:
    # PyJWT (and cryptography) load at the first ID token, not at every cold start: a stack
    # without a provider never verifies one (decision 0036).
    from gatepass.pyjwt import jwt

ALGORITHMS = ["RS256", "ES256", "PS256"]
LEEWAY_SECONDS = 30
_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class IdentityClaims:
    issuer: str
    subject: str
    email: str
    expires_at: int
    methods: tuple[str, ...]
    fingerprint: str


class IdTokenVerifier:
    def __init__(self, issuer: str, client_id: str) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id

    @cached_property
    def _keys(self) -> jwt.PyJWKClient:
        from gatepass.pyjwt import jwt

        url = f"{self.issuer}/.well-known/openid-configuration"
        with urllib.request.urlopen(url, timeout=_TIMEOUT_SECONDS) as answer:  # noqa: S310
            metadata: dict[str, Any] = json.load(answer)
        if str(metadata.get("issuer", "")).rstrip("/") != self.issuer:
            raise RuntimeError(f"{url} names another issuer: {metadata.get('issuer')!r}")
        return jwt.PyJWKClient(str(metadata["jwks_uri"]), cache_keys=True, timeout=_TIMEOUT_SECONDS)

    def verify(self, id_token: str) -> IdentityClaims:
        from gatepass.pyjwt import jwt

        try:
            signing_key = self._keys.get_signing_key_from_jwt(id_token)
            claims = jwt.decode(
                id_token,
                signing_key.key,
                algorithms=ALGORITHMS,
                audience=self.client_id,
                issuer=[self.issuer, f"{self.issuer}/"],
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "sub", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The identity provider's token has expired.") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthorized("The identity provider's token is for another client.") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthorized("The token was not issued by this stack's provider.") from exc
        except (jwt.PyJWKClientError, jwt.InvalidTokenError) as exc:
            raise Unauthorized("The identity provider's token is not valid.") from exc
        email = claims.get("email")
        if not isinstance(email, str) or claims.get("email_verified") not in (True, "true"):
            raise Unauthorized("The identity provider did not vouch for an email address.")
        amr = claims.get("amr")
        methods = tuple(str(m) for m in amr) if isinstance(amr, list) else ()
        return IdentityClaims(
            issuer=self.issuer,
            subject=str(claims["sub"]),
            email=email,
            expires_at=int(claims["exp"]),
            methods=("oidc", *methods),
            fingerprint=hashlib.sha256(id_token.encode()).hexdigest(),
        )
