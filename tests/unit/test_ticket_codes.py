"""Ticket codes: signed, compact, QR-alphanumeric, and refused when forged or altered."""

from __future__ import annotations

import base64
import hashlib
import secrets

import pytest

from gatepass import ids, ticket_codes
from gatepass.errors import InvalidTicketCode

pytestmark = pytest.mark.unit

QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


@pytest.fixture
def seed() -> bytes:
    return hashlib.sha256(secrets.token_bytes(48)).digest()


def _flip(code: str, index: int) -> str:
    replacement = "A" if code[index] != "A" else "B"
    return code[:index] + replacement + code[index + 1 :]


def test_a_signed_code_names_its_event_and_ticket(seed: bytes) -> None:
    # Given an event and a ticket
    event_id, ticket_id = ids.new_id(), ids.new_id()

    # When the ticket's code is signed and verified
    code = ticket_codes.sign(seed, event_id, ticket_id)
    verified = ticket_codes.verify(seed, code)

    # Then it carries exactly those ids, in 136 characters QR alphanumeric mode can encode
    assert verified == ticket_codes.TicketCode(event_id=event_id, ticket_id=ticket_id)
    assert len(code) == ticket_codes.CODE_LENGTH == 136
    assert set(code) <= QR_ALPHANUMERIC


def test_a_code_typed_at_the_door_in_lower_case_with_spaces_still_verifies(seed: bytes) -> None:
    # Given a genuine code, typed by hand in lower case with groups separated
    event_id, ticket_id = ids.new_id(), ids.new_id()
    code = ticket_codes.sign(seed, event_id, ticket_id)
    typed = " ".join(code[i : i + 8] for i in range(0, len(code), 8)).lower()
    typed = typed.replace(" ", "-", 3)

    # When it is verified
    verified = ticket_codes.verify(seed, typed)

    # Then it is the same ticket
    assert verified.ticket_id == ticket_id
    assert verified.event_id == event_id


@pytest.mark.parametrize("position", [0, 5, 20, 40, 60, 100, 135])
def test_any_altered_character_is_refused(seed: bytes, position: int) -> None:
    # Given a genuine code with one character changed
    code = ticket_codes.sign(seed, ids.new_id(), ids.new_id())
    altered = _flip(code, position)

    # When it is verified, then it is refused as an invalid ticket code
    with pytest.raises(InvalidTicketCode) as refused:
        ticket_codes.verify(seed, altered)
    assert refused.value.code == "invalid_ticket_code"
    assert refused.value.status == 400


def test_a_code_signed_with_another_key_is_refused(seed: bytes) -> None:
    # Given a code forged with a key that is not the deployment's
    forger_seed = hashlib.sha256(b"not the real seed").digest()
    forged = ticket_codes.sign(forger_seed, ids.new_id(), ids.new_id())

    # When it is verified, then it is refused
    with pytest.raises(InvalidTicketCode):
        ticket_codes.verify(seed, forged)


def test_a_code_moved_to_another_ticket_is_refused(seed: bytes) -> None:
    # Given a genuine code whose ticket id bytes are swapped for another ticket's
    event_id = ids.new_id()
    raw = bytearray(base64.b32decode(ticket_codes.sign(seed, event_id, ids.new_id())))
    raw[1 + ids.ID_BYTES : 1 + 2 * ids.ID_BYTES] = ids.decode_id(ids.new_id())
    moved = base64.b32encode(bytes(raw)).decode("ascii")

    # When it is verified, then the signature no longer matches
    with pytest.raises(InvalidTicketCode):
        ticket_codes.verify(seed, moved)


@pytest.mark.parametrize(
    "text",
    ["", "HELLO", "A" * 135, "A" * 137, "1" * 136, "!" * 136],
    ids=["empty", "short", "one-short", "one-long", "not-base32", "punctuation"],
)
def test_text_that_is_not_a_code_is_refused(seed: bytes, text: str) -> None:
    with pytest.raises(InvalidTicketCode):
        ticket_codes.verify(seed, text)


def test_a_code_of_an_unknown_version_is_refused(seed: bytes) -> None:
    # Given a genuine code whose version byte is changed
    raw = bytearray(base64.b32decode(ticket_codes.sign(seed, ids.new_id(), ids.new_id())))
    raw[0] = 2
    future = base64.b32encode(bytes(raw)).decode("ascii")

    # When it is verified, then it is refused for its version
    with pytest.raises(InvalidTicketCode, match="version"):
        ticket_codes.verify(seed, future)


def test_an_offline_scanner_verifies_with_the_published_key_of_the_event(seed: bytes) -> None:
    # Given two events and the published verifying key of the first
    event_id, other_event_id = ids.new_id(), ids.new_id()
    published = ticket_codes.event_verifying_key(seed, event_id)
    code = ticket_codes.sign(seed, event_id, ids.new_id())
    other_code = ticket_codes.sign(seed, other_event_id, ids.new_id())

    # When a scanner checks codes with that key alone
    verified = ticket_codes.verify_with_public_key(published, code)

    # Then the event's own code passes and another event's code does not
    assert verified.event_id == event_id
    with pytest.raises(InvalidTicketCode):
        ticket_codes.verify_with_public_key(published, other_code)
    # and the published key is a 32-byte Ed25519 public key, not the seed
    raw = base64.urlsafe_b64decode(published + "=" * (-len(published) % 4))
    assert len(raw) == 32
    assert raw not in seed


def test_each_event_signs_with_its_own_key(seed: bytes) -> None:
    first, second = ids.new_id(), ids.new_id()
    assert ticket_codes.event_verifying_key(seed, first) != ticket_codes.event_verifying_key(
        seed, second
    )
    assert ticket_codes.event_verifying_key(seed, first) == ticket_codes.event_verifying_key(
        seed, first
    )
