"""Phone wallet passes: Apple Wallet ``.pkpass`` files and Google Wallet save links.

**Apple** (docs/decisions/0068). A ``.pkpass`` is a zip of ``pass.json``, its images, a
``manifest.json`` naming the SHA-1 of every other file, and ``signature``: a detached PKCS#7
(CMS) signature over the manifest, DER-encoded, made with the pass type certificate and its key,
carrying Apple's WWDR intermediate certificate. ``cryptography``'s PKCS#7 builder makes it;
Wallet checks the chain up to Apple's root, so only an Apple-issued certificate makes a pass an
iPhone accepts (``make dev`` signs with a self-signed stand-in of the same shape).

**Google** (docs/decisions/0069). A save link is ``https://pay.google.com/gp/v/save/<jwt>``: an
RS256 JWT signed with the issuer's service-account key, ``aud = google``, ``typ =
savetowallet``, whose payload carries the event ticket class (the event) and object (the ticket)
in the Google Wallet API's shapes. Google creates or updates them when the link is opened.

Credentials are JSON secrets (formats in docs/operations.md). A secret that still holds the
deploy's generated placeholder raises ``WalletNotConfigured`` (503), never a broken pass.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gatepass import keys, png
from gatepass.errors import WalletNotConfigured

if TYPE_CHECKING:
    # Certificates and PKCS#7 are Apple's alone: they are imported where an Apple pass is made,
    # so Google's save links do not load cryptography's certificate support (decision 0081).
    from cryptography import x509

GOOGLE_SAVE_URL = "https://pay.google.com/gp/v/save/"
GoogleState = Literal["ACTIVE", "INACTIVE", "EXPIRED"]
# A pass or object is relevant, and then expires, around the event's start.
EXPIRES_AFTER_START = timedelta(hours=24)


@dataclass(frozen=True)
class PassTicket:
    """What a pass shows of a ticket, whatever the wallet."""

    ticket_id: str
    code: str
    status: str
    attendee_name: str
    ticket_type: str
    event_id: str
    event_title: str
    venue: str
    starts_at: str
    event_cancelled: bool = False

    @property
    def void(self) -> bool:
        """Cancelled, given away, or of a cancelled event: the code no longer admits anyone."""
        return self.event_cancelled or self.status in ("cancelled", "transferred")


# ------------------------------------------------------------------------------ Apple


@dataclass(frozen=True)
class AppleCredentials:
    pass_type_identifier: str
    team_identifier: str
    organization_name: str
    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    wwdr_certificate: x509.Certificate


@dataclass(frozen=True)
class SecretAppleCredentials:
    """The Apple pass credentials in the secret ``secret_id`` (read when first needed)."""

    secret_id: str

    def load(self) -> AppleCredentials:
        return apple_credentials(keys.cached_secret_string(self.secret_id))


def apple_credentials(secret: str | None) -> AppleCredentials:
    """The pass-signing credentials from the secret's JSON (docs/operations.md)."""
    from cryptography import x509

    fields = _configured_json(secret, "certificate_pem", "Apple Wallet")
    try:
        password = fields.get("private_key_password")
        key = signing_key(
            str(fields["private_key_pem"]).encode(),
            password=str(password).encode() if password else None,
        )
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError("the pass key must be RSA or EC")
        return AppleCredentials(
            pass_type_identifier=str(fields["pass_type_identifier"]),
            team_identifier=str(fields["team_identifier"]),
            organization_name=str(fields.get("organization_name") or "Gatepass"),
            certificate=x509.load_pem_x509_certificate(str(fields["certificate_pem"]).encode()),
            private_key=key,
            wwdr_certificate=x509.load_pem_x509_certificate(
                str(fields["wwdr_certificate_pem"]).encode()
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise WalletNotConfigured(
            "Apple Wallet passes are not available: the pass certificate is not usable."
        ) from exc


def pass_json(
    ticket: PassTicket, credentials: AppleCredentials, *, ticket_url: str | None
) -> dict[str, Any]:
    """``pass.json`` of an event ticket pass; ``voided`` when the code no longer admits."""
    starts = _parse(ticket.starts_at)
    document: dict[str, Any] = {
        "formatVersion": 1,
        "passTypeIdentifier": credentials.pass_type_identifier,
        "teamIdentifier": credentials.team_identifier,
        "organizationName": credentials.organization_name,
        "serialNumber": ticket.ticket_id,
        "description": f"Ticket for {ticket.event_title}",
        "logoText": credentials.organization_name,
        "foregroundColor": "rgb(255, 255, 255)",
        "backgroundColor": "rgb(32, 46, 74)",
        "labelColor": "rgb(190, 205, 230)",
        "relevantDate": _iso(starts),
        "expirationDate": _iso(starts + EXPIRES_AFTER_START),
        "voided": ticket.void,
        "barcodes": [
            {
                "format": "PKBarcodeFormatQR",
                "message": ticket.code,
                "messageEncoding": "iso-8859-1",
                "altText": ticket.ticket_id,
            }
        ],
        "eventTicket": {
            "primaryFields": [{"key": "event", "label": "EVENT", "value": ticket.event_title}],
            "secondaryFields": [
                {"key": "name", "label": "NAME", "value": ticket.attendee_name},
                {"key": "type", "label": "TICKET", "value": ticket.ticket_type},
            ],
            "auxiliaryFields": [
                {
                    "key": "starts",
                    "label": "WHEN",
                    "value": _iso(starts),
                    "dateStyle": "PKDateStyleMedium",
                    "timeStyle": "PKDateStyleShort",
                },
                {"key": "venue", "label": "WHERE", "value": ticket.venue},
            ],
            "backFields": [
                {"key": "code", "label": "Code to type at the door", "value": ticket.code},
                {"key": "ticket", "label": "Ticket", "value": ticket.ticket_id},
            ],
        },
    }
    if ticket.void:
        document["eventTicket"]["headerFields"] = [
            {"key": "state", "label": "STATUS", "value": "VOID"}
        ]
    if ticket_url:
        document["eventTicket"]["backFields"].append(
            {"key": "page", "label": "Your ticket on the site", "value": ticket_url}
        )
    return document


@cache
def pass_icon_pngs() -> Mapping[str, bytes]:
    """An Apple Wallet pass's icon (required; 29 pt at 1x and 2x) and logo: a ticket shape with
    a tear line, drawn with the same 1-bit PNG writer as the ticket codes. The same for every
    pass: drawn once per container, and read-only."""

    def ticket(size: int) -> list[list[bool]]:
        middle, notch = size // 2, max(2, size // 7)
        rows = []
        for y in range(size):
            row = []
            for x in range(size):
                inside = size // 8 <= y < size - size // 8
                notched = (x - 0) ** 2 + (y - middle) ** 2 < notch**2 or (x - size + 1) ** 2 + (
                    y - middle
                ) ** 2 < notch**2
                tear = x == size * 2 // 3 and y % 3 == 0
                row.append(inside and not notched and not tear)
            rows.append(row)
        return rows

    return MappingProxyType(
        {
            "icon.png": png.png_from_matrix(ticket(29), 1),
            "icon@2x.png": png.png_from_matrix(ticket(29), 2),
            "logo.png": png.png_from_matrix(ticket(50), 1),
            "logo@2x.png": png.png_from_matrix(ticket(50), 2),
        }
    )


def build_pkpass(
    document: Mapping[str, Any], images: Mapping[str, bytes], credentials: AppleCredentials
) -> bytes:
    """The signed ``.pkpass`` archive of ``document`` (pass.json) and ``images``."""
    from cryptography.hazmat.primitives.serialization import pkcs7

    files = {"pass.json": json.dumps(document, ensure_ascii=False, indent=2).encode(), **images}
    manifest = json.dumps(
        {name: hashlib.sha1(data).hexdigest() for name, data in sorted(files.items())},  # noqa: S324
        indent=2,
    ).encode()
    signature = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(manifest)
        .add_signer(credentials.certificate, credentials.private_key, hashes.SHA256())
        .add_certificate(credentials.wwdr_certificate)
        .sign(
            serialization.Encoding.DER,
            # Binary: sign the manifest's bytes as they are (no S/MIME CRLF translation).
            [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
        )
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("manifest.json", manifest)
        archive.writestr("signature", signature)
    return buffer.getvalue()


# ------------------------------------------------------------------------------ Google


@dataclass(frozen=True)
class GoogleCredentials:
    issuer_id: str
    client_email: str
    private_key_id: str
    private_key: rsa.RSAPrivateKey


@dataclass(frozen=True)
class SecretGoogleCredentials:
    """The Google Wallet issuer credentials in the secret ``secret_id``."""

    secret_id: str

    def load(self) -> GoogleCredentials:
        return google_credentials(keys.cached_secret_string(self.secret_id))


def google_credentials(secret: str | None) -> GoogleCredentials:
    """The issuer id and service-account key from the secret's JSON (docs/operations.md)."""
    fields = _configured_json(secret, "private_key", "Google Wallet")
    try:
        key = signing_key(str(fields["private_key"]).encode(), None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("a service-account key is RSA")
        return GoogleCredentials(
            issuer_id=str(fields["issuer_id"]),
            client_email=str(fields["client_email"]),
            private_key_id=str(fields.get("private_key_id") or ""),
            private_key=key,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise WalletNotConfigured(
            "Google Wallet links are not available: the issuer's key is not usable."
        ) from exc


def google_state(ticket: PassTicket, now: datetime) -> GoogleState:
    if ticket.void:
        return "INACTIVE"
    if now >= _parse(ticket.starts_at) + EXPIRES_AFTER_START:
        return "EXPIRED"
    return "ACTIVE"


def google_claims(
    ticket: PassTicket,
    credentials: GoogleCredentials,
    *,
    now: datetime,
    origins: list[str],
    ticket_url: str | None,
) -> dict[str, Any]:
    """The save-to-wallet JWT's claims: the event's ticket class and the ticket's object."""
    issuer = credentials.issuer_id
    class_id = f"{issuer}.gatepass-event-{ticket.event_id}"
    starts = _parse(ticket.starts_at)
    ticket_object: dict[str, Any] = {
        "id": f"{issuer}.gatepass-ticket-{ticket.ticket_id}",
        "classId": class_id,
        "state": google_state(ticket, now),
        "ticketHolderName": ticket.attendee_name,
        "ticketNumber": ticket.ticket_id,
        "ticketType": _localized(ticket.ticket_type),
        "barcode": {
            "type": "QR_CODE",
            "value": ticket.code,
            "alternateText": ticket.ticket_id,
        },
        "validTimeInterval": {"end": {"date": _iso(starts + EXPIRES_AFTER_START)}},
    }
    if ticket_url:
        ticket_object["linksModuleData"] = {
            "uris": [{"uri": ticket_url, "description": "Your ticket on the site"}]
        }
    return {
        "iss": credentials.client_email,
        "aud": "google",
        "typ": "savetowallet",
        "iat": int(now.timestamp()),
        "origins": origins,
        "payload": {
            "eventTicketClasses": [
                {
                    "id": class_id,
                    "issuerName": "Gatepass",
                    "reviewStatus": "UNDER_REVIEW",
                    "eventId": ticket.event_id,
                    "eventName": _localized(ticket.event_title),
                    "venue": {
                        "name": _localized(ticket.venue),
                        "address": _localized(ticket.venue),
                    },
                    "dateTime": {"start": _iso(starts)},
                }
            ],
            "eventTicketObjects": [ticket_object],
        },
    }


def google_save_url(claims: Mapping[str, Any], credentials: GoogleCredentials) -> str:
    # Imported here: the Apple pass's function shares this module and signs no JWT.
    from gatepass.pyjwt import jwt

    headers = {"kid": credentials.private_key_id} if credentials.private_key_id else None
    token = jwt.encode(dict(claims), credentials.private_key, algorithm="RS256", headers=headers)
    return GOOGLE_SAVE_URL + token


# ------------------------------------------------------------------------------ shared

# What a loaded RSA key signs once to prove that its parts agree (``signing_key``).
_KEY_PROOF = b"gatepass wallet key check"


def signing_key(pem: bytes, password: bytes | None) -> Any:
    """The private key in ``pem``, proved able to sign; ValueError if it is not a usable key.

    cryptography checks an RSA key's primes when it loads one: about 380 M instructions for a
    2048-bit key, more than a third of a cold start's floor (decision 0087). A wallet key is not
    a user's input but the deployment's own secret, put there by its operator
    (docs/operations.md), so it is loaded without that check and proved instead: it signs a
    fixed message, and the signature must verify with its public key. A key whose private and
    public parts disagree is refused before it signs a pass or a link, and OpenSSL checks each
    RSA signature it makes against the public key (so a fault never publishes a bad one)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import padding

    key = serialization.load_pem_private_key(
        pem, password=password, unsafe_skip_rsa_key_validation=True
    )
    if isinstance(key, rsa.RSAPrivateKey):
        proof = key.sign(_KEY_PROOF, padding.PKCS1v15(), hashes.SHA256())
        try:
            key.public_key().verify(proof, _KEY_PROOF, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as exc:
            raise ValueError("the RSA key's private and public parts do not agree") from exc
    return key


def _configured_json(secret: str | None, required: str, wallet: str) -> dict[str, Any]:
    try:
        fields = json.loads(secret or "")
    except ValueError:
        fields = None
    if not isinstance(fields, dict) or not fields.get(required):
        raise WalletNotConfigured(
            f"{wallet} is not set up for this deployment yet (its credentials are a "
            "placeholder); see docs/operations.md."
        )
    return fields


def _localized(value: str) -> dict[str, Any]:
    return {"defaultValue": {"language": "en-US", "value": value or "-"}}


def _parse(moment: str) -> datetime:
    parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
