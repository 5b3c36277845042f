"""A sale under contention: N buyers (threads) at once for an event of capacity C, through the
create-ticket handler, against moto in this process.

moto is not safe under concurrent calls, so each AWS call is made atomic with a lock, which is
what DynamoDB guarantees per item; the transaction's condition, not the lock, decides who gets a
seat (a read-then-write implementation would still interleave between its calls and oversell).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

from bench.common import summary

TEST_PARAMETERS = {"SubscriptionPollIntervalSeconds": "1", "SubscriptionDeadlineSeconds": "3"}


Call = Callable[[Any, Any, str, dict[str, Any]], Any]


@contextmanager
def moto_in_process(around: Call | None = None) -> Iterator[Any]:
    """moto in this process with the stack's resources; every AWS call goes through ``around``
    (``around(original, client, operation, params)``), by default one at a time under a lock."""
    import boto3
    from botocore.client import BaseClient
    from moto import mock_aws

    from bench.coldstart import aws_env
    from devstack.template import TemplateModel
    from gatepass import clients, keys

    model = TemplateModel(parameters=TEST_PARAMETERS)
    saved = dict(os.environ)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(aws_env(model.region))
    os.environ.update(model.all_function_env())
    os.environ.update({"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "ERROR"})
    lock = threading.Lock()
    original = vars(BaseClient)["_make_api_call"]

    def one_at_a_time(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if around is not None:
            return around(original, self, operation_name, api_params)
        with lock:
            return original(self, operation_name, api_params)

    from gatepass.observability import logger

    level = logger.log_level
    logger.setLevel("ERROR")  # 150 "sold out" refusals a round are logged at INFO in Lambda
    try:
        with patch.object(BaseClient, "_make_api_call", one_at_a_time), mock_aws():
            clients.reset()
            keys.reset()
            model.create_all(boto3.Session())
            yield model
    finally:
        logger.setLevel(level)
        clients.reset()
        keys.reset()
        os.environ.clear()
        os.environ.update(saved)


def sale(buyers: int, capacity: int, threads: int) -> dict[str, Any]:
    """One rush on a fresh event; what the buyers were told and what the table holds."""
    from boto3.dynamodb.conditions import Key

    from functions.create_ticket import app as create_ticket_app
    from gatepass import clients
    from gatepass.dal import layout
    from tests.support import factories
    from tests.support.api import LambdaContext, api_event, json_body

    event = factories.put_event(capacity=capacity)
    factories.ticket_seed()
    context = LambdaContext()
    requests = [
        api_event(
            "POST",
            "/create-ticket",
            body={"event_id": event["event_id"]},
            user=f"buyer{number:05d}@example.com",
        )
        for number in range(buyers)
    ]

    def buy(request: dict[str, Any]) -> str:
        response = create_ticket_app.lambda_handler(request, context)
        if response["statusCode"] == 201:
            return "sold"
        return f"{response['statusCode']} {json_body(response)['error']['code']}"

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        answers = Counter(pool.map(buy, requests))
    elapsed = time.perf_counter() - started
    stored = factories.seats(event["event_id"])
    table = clients.dynamodb_table(factories.settings().ticketing_table)
    tickets = table.query(
        IndexName=layout.EVENT_TICKETS_INDEX,
        KeyConditionExpression=Key("gsi1pk").eq(layout.event_tickets_partition(event["event_id"])),
    )["Items"]
    return {
        "buyers": buyers,
        "capacity": capacity,
        "threads": threads,
        "sold": answers.get("sold", 0),
        "sold_out": answers.get("409 sold_out", 0),
        "other_answers": {k: v for k, v in answers.items() if k not in ("sold", "409 sold_out")},
        "stored_sold": int(stored.get("sold", -1)),
        "stored_tickets": len(tickets),
        "seconds": elapsed,
        "requests_per_second": buyers / elapsed,
    }


def run(repeats: int, buyers: int = 200, capacity: int = 50, threads: int = 40) -> dict[str, Any]:
    with moto_in_process():
        sale(4, 2, 2)  # warm: the function imported, clients and keys loaded
        rounds = [sale(buyers, capacity, threads) for _ in range(repeats)]
    return {
        "rounds": rounds,
        "buyers": buyers,
        "capacity": capacity,
        "threads": threads,
        "requests_per_second": summary([r["requests_per_second"] for r in rounds]),
        "all_sold_equal_capacity": all(
            r["sold"] == r["capacity"] == r["stored_sold"] == r["stored_tickets"] for r in rounds
        ),
        "other_answers": sum(sum(r["other_answers"].values()) for r in rounds),
    }
