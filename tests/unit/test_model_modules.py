"""Stored records apart from the API's requests and answers (decision 0083): a function defines
the models of its own routes and the records its data needs, not the messages of every route
that shares its data. Each pydantic class costs a cold start to define even when its validator
is deferred."""

from __future__ import annotations

import json

import pytest

from gatepass.logic.ticket_pages import ticket_page_url
from tests.support.fresh import run_fresh

pytestmark = pytest.mark.unit

_MODELS_LOADED = """
import importlib, json
for name in {names!r}:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules if m.startswith("gatepass.models."))))
"""


def _models_after_importing(*names: str) -> list[str]:
    loaded: list[str] = json.loads(run_fresh(_MODELS_LOADED.format(names=names)))
    return loaded


def test_the_data_layer_defines_records_only() -> None:
    # When every data-access module of the event's partition is imported in a fresh interpreter
    loaded = _models_after_importing(
        "gatepass.dal.events",
        "gatepass.dal.orders",
        "gatepass.dal.stock",
        "gatepass.dal.door",
        "gatepass.dal.tickets",
        "gatepass.dal.ticket_keys",
    )

    # Then the only models defined are the stored records and the shared field types
    assert loaded == ["gatepass.models.common", "gatepass.models.records"]


@pytest.mark.parametrize(
    ("logic", "own"),
    [
        ("gatepass.logic.check_in", "gatepass.models.scanner"),
        ("gatepass.logic.bundle", "gatepass.models.scanner"),
        ("gatepass.logic.delivery", None),
    ],
)
def test_scanning_and_mail_define_no_other_routes_models(logic: str, own: str | None) -> None:
    # When check-in's, the scanner bundle's or ticket mail's logic is imported
    loaded = _models_after_importing(logic)

    # Then besides the records it defines only the scanner's messages, or none: not the
    # organizer's door routes, events, ticket types, orders or tickets
    expected = {"gatepass.models.common", "gatepass.models.records"} | ({own} if own else set())
    assert set(loaded) == expected


@pytest.mark.parametrize(
    ("site", "expected"),
    [
        ("https://tickets.example.org", "https://tickets.example.org/me/tickets/T1"),
        ("https://tickets.example.org/", "https://tickets.example.org/me/tickets/T1"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/me/tickets/T1"),
        ("", None),
        (None, None),
        ("ftp://tickets.example.org", None),
        ("tickets.example.org", None),
    ],
)
def test_a_tickets_page_is_linked_only_on_a_web_site(
    site: str | None, expected: str | None
) -> None:
    assert ticket_page_url(site, "T1") == expected
