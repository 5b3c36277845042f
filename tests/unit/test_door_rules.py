"""The door's small rules: which gate scans which way and admits which type, a signed bundle
refused once changed, and holders' addresses masked on door devices."""

from __future__ import annotations

import json

import pytest

from gatepass import b64url, bundles
from gatepass.logic.bundle import mask
from gatepass.models.records import GateRecord

pytestmark = pytest.mark.unit

SEED = b"unit-bundle-seed-0123456789abcdef"


def gate(**fields: object) -> GateRecord:
    return GateRecord.model_validate({"event_id": "e", "gate_id": "g", "name": "North", **fields})


@pytest.mark.parametrize(
    ("mode", "scans_in", "scans_out"),
    [("both", True, True), ("entry", True, False), ("exit", False, True)],
)
def test_a_gate_scans_the_ways_its_mode_says(mode: str, scans_in: bool, scans_out: bool) -> None:
    assert (gate(mode=mode).scans("in"), gate(mode=mode).scans("out")) == (scans_in, scans_out)


def test_a_gate_without_types_admits_every_type_and_one_with_types_only_those() -> None:
    assert gate().admits("anything")
    vip = gate(ticket_type_ids=["vip"])
    assert vip.admits("vip")
    assert not vip.admits("general")
    assert not vip.admits(None)


def test_a_bundle_opens_with_its_key_and_not_once_changed() -> None:
    # Given a signed bundle and the published key
    signed = bundles.sign_with_seed(SEED, {"event_id": "e", "revoked": ["t1"]})
    key = bundles.public_key_of(SEED).public_key

    # Then it opens as signed
    assert bundles.open_bundle(signed, key) == {"event_id": "e", "revoked": ["t1"]}
    # and changing one byte of its content, or its signature, is refused
    forged = b64url.encode(json.dumps({"event_id": "e", "revoked": []}).encode())
    with pytest.raises(bundles.TamperedBundle):
        bundles.open_bundle(signed.model_copy(update={"payload": forged}), key)
    other = bundles.sign_with_seed(SEED, {"event_id": "other"})
    with pytest.raises(bundles.TamperedBundle):
        bundles.open_bundle(signed.model_copy(update={"signature": other.signature}), key)
    # and another deployment's key does not open it
    with pytest.raises(bundles.TamperedBundle):
        bundles.open_bundle(signed, bundles.public_key_of(b"x" * 32).public_key)


@pytest.mark.parametrize(
    ("address", "shown"),
    [("alice@example.com", "a…@example.com"), ("not-an-address", "…")],
)
def test_addresses_are_masked_on_door_devices(address: str, shown: str) -> None:
    assert mask(address) == shown
