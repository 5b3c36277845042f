"""The Idempotency-Key header: 1 to 64 visible ASCII characters, or absent."""

from __future__ import annotations

import pytest

from gatepass.errors import InvalidInput
from gatepass.logic.tickets import check_idempotency_key

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "key",
    ["a", "7f9c2ba4-e88f-41c3-b5a9-3a0e5c1d2f44", "x" * 64, "!~#$%&'()*+,-./:;<=>?@[]^_`{|}"],
)
def test_visible_ascii_keys_up_to_64_characters_are_taken_as_given(key: str) -> None:
    assert check_idempotency_key(key) == key


def test_no_header_means_no_idempotency() -> None:
    assert check_idempotency_key(None) is None


@pytest.mark.parametrize(
    "key",
    ["", "x" * 65, "has space", "tab\there", "naïve", "line\nbreak"],
    ids=["empty", "too-long", "space", "tab", "non-ascii", "newline"],
)
def test_other_keys_are_refused_as_invalid_input(key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_idempotency_key(key)
    assert refused.value.status == 400
    assert refused.value.code == "validation_error"
