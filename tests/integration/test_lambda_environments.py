"""Overlapping requests stay apart, as Lambda keeps them: a request reading its caller late still
reads its own, whether the other request is in another environment of the same function
(tests/support/environments.py) or in another function in the same process; each resolver holds
the request it resolves, per thread (``gatepass.resolver``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from gatepass import clients, http
from tests.support import factories
from tests.support.api import api_event, json_body
from tests.support.environments import Environments
from tests.support.ticketing import post

pytestmark = pytest.mark.integration


def _ann_reads_her_caller_after_ben() -> tuple[Callable[[Any], str], threading.Event]:
    """``http.caller_id`` as a stand-in where the request on a thread named "ann..." reads who
    is asking only once another thread's request has read it; and the event set when Ann's
    request reached that point."""
    ann_in_route, ben_read = threading.Event(), threading.Event()
    read_caller = http.caller_id

    def caller_read_late(app: Any) -> str:
        if threading.current_thread().name.startswith("ann"):
            ann_in_route.set()
            assert ben_read.wait(30)
        else:
            ben_read.set()
        return read_caller(app)

    return caller_read_late, ann_in_route


def test_a_request_that_reads_its_caller_after_another_began_still_sells_to_its_own_caller(
    aws: Any,
    lambda_context: Any,
    atomic_moto: None,
    atomic_metrics: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given two environments of create-ticket, where Ann's request reads who is asking only
    # once Ben's request, in the other environment, has read it
    event = factories.put_event(capacity=5)
    factories.ticket_seed()
    clients.client("s3")
    caller_read_late, ann_in_route = _ann_reads_her_caller_after_ben()

    monkeypatch.setattr(http, "caller_id", caller_read_late)
    create_ticket = Environments("create_ticket", 2)

    def buy(buyer: str) -> dict[str, Any]:
        request = api_event(
            "POST", "/create-ticket", body={"event_id": event["event_id"]}, user=buyer
        )
        answer: dict[str, Any] = json_body(create_ticket.invoke(request, lambda_context))
        return answer

    # When Ann asks for a ticket, and Ben asks while Ann's request is under way
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ann") as ann_thread:
        ann_answer = ann_thread.submit(buy, "ann@example.com")
        assert ann_in_route.wait(30)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ben") as ben_thread:
            ben = ben_thread.submit(buy, "ben@example.com").result()
        ann = ann_answer.result()

    # Then each holds the ticket answered to them, one each
    assert ann["ticket"]["holder"] == "ann@example.com"
    assert ben["ticket"]["holder"] == "ben@example.com"
    counts = factories.stock_counts(event["event_id"])
    assert counts["holders"] == {
        ann["ticket"]["ticket_id"]: "ann@example.com",
        ben["ticket"]["ticket_id"]: "ben@example.com",
    }
    assert counts["buyers"] == {"ann@example.com": 1, "ben@example.com": 1}


def test_two_functions_resolving_at_once_each_read_their_own_request(
    aws: Any,
    lambda_context: Any,
    atomic_moto: None,
    atomic_metrics: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given Ben holds a ticket, and Ann's create-ticket request reads who is asking only once
    # Ben's cancel-ticket request, in the other function, has read it
    from functions.cancel_ticket import app as cancel_ticket_app
    from functions.create_ticket import app as create_ticket_app

    event = factories.put_event(capacity=5)
    factories.ticket_seed()
    clients.client("s3")
    bens = post("/create-ticket", {"event_id": event["event_id"]}, user="ben@example.com")
    assert bens.status == 201, bens
    caller_read_late, ann_in_route = _ann_reads_her_caller_after_ben()

    for handler in (create_ticket_app, cancel_ticket_app):
        monkeypatch.setattr(handler, "caller_id", caller_read_late)

    # When Ann asks for a ticket, and Ben cancels his while Ann's request is under way
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ann") as ann_thread:
        ann_answer = ann_thread.submit(
            post, "/create-ticket", {"event_id": event["event_id"]}, user="ann@example.com"
        )
        assert ann_in_route.wait(30)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ben") as ben_thread:
            ticket_id = bens.body["ticket"]["ticket_id"]
            cancelled = ben_thread.submit(
                post, "/cancel-ticket", {"ticket_id": ticket_id}, user="ben@example.com"
            ).result()
        ann = ann_answer.result()

    # Then Ann holds the ticket answered to her, and Ben's is cancelled
    assert cancelled.status == 200, cancelled
    assert ann.status == 201, ann
    assert ann.body["ticket"]["holder"] == "ann@example.com"
    counts = factories.stock_counts(event["event_id"])
    assert counts["holders"] == {
        ann.body["ticket"]["ticket_id"]: "ann@example.com",
        ticket_id: "ben@example.com",
    }
    assert dict(counts["tickets"])[ticket_id] == "cancelled"
    assert counts["buyers"] == {"ann@example.com": 1}
