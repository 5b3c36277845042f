"""Ticket codes: signed by the event's key they name, compact, QR-alphanumeric, and refused when
forged, altered or naming a key the event does not have; version 1 codes keep verifying."""

from __future__ import annotations

import base64
import hashlib
import secrets

import pytest

from gatepass import ids, ticket_codes
from gatepass.errors import InvalidTicketCode, UnknownTicketKey
from tests.support.fresh import run_fresh

pytestmark = pytest.mark.unit

QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


@pytest.fixture
def key() -> ticket_codes.SigningKey:
    return ticket_codes.generate_signing_key()


@pytest.fixture
def seed() -> bytes:
    return hashlib.sha256(secrets.token_bytes(48)).digest()


def _flip(code: str, index: int) -> str:
    replacement = "A" if code[index] != "A" else "B"
    return code[:index] + replacement + code[index + 1 :]


def _keys(*signing: ticket_codes.SigningKey) -> dict[str, str]:
    return {each.key_id: each.public() for each in signing}


def test_a_signed_code_names_its_event_ticket_and_key(key: ticket_codes.SigningKey) -> None:
    # Given an event with its own key, and a ticket
    event_id, ticket_id = ids.new_id(), ids.new_id()

    # When the ticket's code is signed and verified with the event's keys
    code = key.sign(event_id, ticket_id)
    verified = ticket_codes.verify(code, _keys(key))

    # Then it carries exactly those ids and the key's id, in 144 characters QR alphanumeric
    # mode can encode
    assert verified == ticket_codes.TicketCode(event_id, ticket_id, key.key_id)
    assert len(code) == ticket_codes.CODE_LENGTH == 144
    assert set(code) <= QR_ALPHANUMERIC


def test_generated_keys_are_random_and_their_ids_short() -> None:
    made = [ticket_codes.generate_signing_key() for _ in range(20)]
    assert len({each.public() for each in made}) == 20
    assert len({each.key_id for each in made}) == 20
    assert all(ticket_codes.KEY_ID_PATTERN.match(each.key_id) for each in made)
    # and the private half never shows in a repr (a log line)
    raw = base64.b64encode(ticket_codes.private_bytes(made[0])).decode()
    assert raw not in repr(made[0])
    assert repr(made[0]) == f"SigningKey(key_id={made[0].key_id!r})"


def test_a_code_verifies_with_the_key_it_names_among_several(
    key: ticket_codes.SigningKey,
) -> None:
    # Given an event whose key was rotated: a code of the old key and one of the new
    rotated = ticket_codes.generate_signing_key()
    event_id = ids.new_id()
    old, new = key.sign(event_id, ids.new_id()), rotated.sign(event_id, ids.new_id())

    # When both are verified with the event's keys, then each names its own key
    assert ticket_codes.verify(old, _keys(key, rotated)).key_id == key.key_id
    assert ticket_codes.verify(new, _keys(key, rotated)).key_id == rotated.key_id


def test_a_code_naming_an_unknown_key_is_refused_with_that_reason(
    key: ticket_codes.SigningKey,
) -> None:
    # Given a code signed by a key the event does not (or no longer) have
    stranger = ticket_codes.generate_signing_key()
    code = stranger.sign(ids.new_id(), ids.new_id())

    # When it is verified with the event's keys, then the key is named as unknown
    with pytest.raises(UnknownTicketKey) as refused:
        ticket_codes.verify(code, _keys(key))
    assert refused.value.code == "unknown_ticket_key"
    assert refused.value.status == 400
    assert refused.value.details == {"key_id": stranger.key_id}


def test_a_code_claiming_a_known_key_id_but_signed_by_another_key_is_refused(
    key: ticket_codes.SigningKey,
) -> None:
    forger = ticket_codes.SigningKey(key.key_id, ticket_codes.generate_signing_key().private)
    forged = forger.sign(ids.new_id(), ids.new_id())
    with pytest.raises(InvalidTicketCode) as refused:
        ticket_codes.verify(forged, _keys(key))
    assert refused.value.code == "invalid_ticket_code"


def test_a_code_typed_at_the_door_in_lower_case_with_spaces_still_verifies(
    key: ticket_codes.SigningKey,
) -> None:
    # Given a genuine code, typed by hand in lower case with groups separated
    event_id, ticket_id = ids.new_id(), ids.new_id()
    code = key.sign(event_id, ticket_id)
    typed = " ".join(code[i : i + 8] for i in range(0, len(code), 8)).lower()
    typed = typed.replace(" ", "-", 3)

    # When it is verified
    verified = ticket_codes.verify(typed, _keys(key))

    # Then it is the same ticket
    assert (verified.event_id, verified.ticket_id) == (event_id, ticket_id)


@pytest.mark.parametrize("position", [0, 5, 20, 33, 40, 60, 100, 143])
def test_any_altered_character_is_refused(key: ticket_codes.SigningKey, position: int) -> None:
    # Given a genuine code with one character changed (the key id's characters included)
    code = key.sign(ids.new_id(), ids.new_id())
    altered = _flip(code, position)

    # When it is verified, then it is refused as an invalid code (or one of an unknown key)
    with pytest.raises(InvalidTicketCode) as refused:
        ticket_codes.verify(altered, _keys(key))
    assert refused.value.status == 400


def test_a_code_moved_to_another_ticket_is_refused(key: ticket_codes.SigningKey) -> None:
    # Given a genuine code whose ticket id bytes are swapped for another ticket's
    raw = bytearray(base64.b32decode(key.sign(ids.new_id(), ids.new_id())))
    raw[1 + ids.ID_BYTES : 1 + 2 * ids.ID_BYTES] = ids.decode_id(ids.new_id())
    moved = base64.b32encode(bytes(raw)).decode("ascii")

    # When it is verified, then the signature no longer matches
    with pytest.raises(InvalidTicketCode):
        ticket_codes.verify(moved, _keys(key))


@pytest.mark.parametrize(
    "text",
    ["", "HELLO", "A" * 135, "A" * 137, "A" * 143, "A" * 145, "1" * 144, "!" * 144],
    ids=["empty", "short", "v1-short", "v1-long", "short", "long", "not-base32", "punctuation"],
)
def test_text_that_is_not_a_code_is_refused(key: ticket_codes.SigningKey, text: str) -> None:
    with pytest.raises(InvalidTicketCode):
        ticket_codes.verify(text, _keys(key))


@pytest.mark.parametrize("version", [0, 3, 255])
def test_a_code_of_an_unknown_version_is_refused(
    key: ticket_codes.SigningKey, version: int
) -> None:
    raw = bytearray(base64.b32decode(key.sign(ids.new_id(), ids.new_id())))
    raw[0] = version
    future = base64.b32encode(bytes(raw)).decode("ascii")
    with pytest.raises(InvalidTicketCode, match="version"):
        ticket_codes.verify(future, _keys(key))


def test_a_version_1_code_verifies_with_the_events_v1_key(seed: bytes) -> None:
    # Given a code issued before per-event keys: derived from the seed, naming no key
    event_id, ticket_id = ids.new_id(), ids.new_id()
    legacy = ticket_codes.legacy_signing_key(seed, event_id)
    code = legacy.sign(event_id, ticket_id)
    assert len(code) == ticket_codes.LEGACY_CODE_LENGTH == 136

    # When it is verified with the event's keys after a rotation (v1 kept, a new key added)
    rotated = ticket_codes.generate_signing_key()
    published = {"v1": ticket_codes.event_verifying_key(seed, event_id), **_keys(rotated)}
    verified = ticket_codes.verify(code, published)

    # Then it is that ticket, of key v1; without the v1 key it names an unknown key
    assert verified == ticket_codes.TicketCode(event_id, ticket_id, ticket_codes.LEGACY_KEY_ID)
    with pytest.raises(UnknownTicketKey):
        ticket_codes.verify(code, _keys(rotated))


def test_an_offline_scanner_verifies_with_the_published_key_of_the_event(
    key: ticket_codes.SigningKey,
) -> None:
    # Given two events, each with its own key, and the published key of the first
    other = ticket_codes.generate_signing_key()
    event_id, other_event_id = ids.new_id(), ids.new_id()
    code = key.sign(event_id, ids.new_id())
    other_code = other.sign(other_event_id, ids.new_id())

    # When a scanner checks codes with that key alone
    verified = ticket_codes.verify_with_public_key(key.public(), code)

    # Then the event's own code passes and another event's code does not
    assert verified.event_id == event_id
    with pytest.raises(InvalidTicketCode):
        ticket_codes.verify_with_public_key(key.public(), other_code)
    # and the published key is a 32-byte Ed25519 public key, not the private one
    published = key.public()
    raw = base64.urlsafe_b64decode(published + "=" * (-len(published) % 4))
    assert len(raw) == 32
    assert raw != ticket_codes.private_bytes(key)


def test_legacy_keys_are_derived_per_event(seed: bytes) -> None:
    first, second = ids.new_id(), ids.new_id()
    assert ticket_codes.event_verifying_key(seed, first) != ticket_codes.event_verifying_key(
        seed, second
    )
    assert ticket_codes.event_verifying_key(seed, first) == ticket_codes.event_verifying_key(
        seed, first
    )


def test_signing_and_bundles_load_no_key_serialisation_formats() -> None:
    # When the ticket codes and the scanner bundles are imported in a fresh interpreter
    printed = run_fresh(
        "import gatepass.ticket_codes, gatepass.bundles\n"
        "print(sorted(m for m in sys.modules if m.startswith("
        "('cryptography.hazmat.primitives.serialization', 'cryptography.x509'))))"
    )

    # Then neither PEM, DER, PKCS and SSH key formats nor certificates were loaded: raw Ed25519
    # keys need none of them, and the SSH formats alone cost a cold start 0.03 of the floor
    assert printed.strip() == "[]"
