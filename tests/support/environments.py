"""Lambda execution environments of one function, in this process, for tests that send it
concurrent requests.

Lambda gives each concurrent request its own execution environment: one process never resolves
two requests at once, and Powertools relies on that. Threads sharing one handler module share
its resolver's per-request context (a request had it cleared under it: a 500
``KeyError: '_route'``). Importing the module once per thread fixes that but not the request
itself, which the resolver also puts on ``BaseRouter.current_event``, a class attribute, so one
per process, where handlers read the caller and the body: a ticket answered to one buyer was
then sold to another, whose counter read 2 with 2 tickets held.

``Environments`` imports the function's ``app.py`` once per environment (its own settings,
stores and resolver), keeps each resolver's request on that resolver (an instance attribute,
which every read through the resolver finds before the class attribute), and lends each
environment to one request at a time.

Still process-wide here but one per request in Lambda: moto (``atomic_moto`` serializes its
calls) and Powertools' metric set (``atomic_metrics``)."""

from __future__ import annotations

import importlib.util
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

from devstack.template import ROOT


class Environments:
    """``count`` environments of ``functions/<function>/app.py``; ``invoke`` runs a request in
    one that is free (waiting for one when all are busy)."""

    def __init__(self, function: str, count: int) -> None:
        self._free: queue.Queue[ModuleType] = queue.Queue()
        for number in range(count):
            self._free.put(_import_handler(function, number))

    def invoke(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        with self._environment() as handler:
            response: dict[str, Any] = handler.lambda_handler(event, context)
            return response

    @contextmanager
    def _environment(self) -> Iterator[ModuleType]:
        handler = self._free.get()
        try:
            yield handler
        finally:
            self._free.put(handler)


def _import_handler(function: str, number: int) -> ModuleType:
    """The handler module imported afresh (the shared ``gatepass`` package is imported once)."""
    path = ROOT / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"_environment_{function}_{number}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"no handler at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    keep_request_on(module.app)
    return module


def keep_request_on(resolver: ApiGatewayResolver) -> None:
    """Make ``resolver`` hold the request it resolves itself, not only on the process-wide
    ``BaseRouter``, which Powertools also sets and which no read through the resolver reaches
    once the resolver holds its own."""
    resolve = resolver.resolve

    def resolve_here(event: dict[str, Any], context: Any) -> dict[str, Any]:
        hold_request(resolver, event, context)
        return resolve(event, context)

    setattr(resolver, "resolve", resolve_here)  # noqa: B010 (mypy: assigning to a method)


def hold_request(resolver: ApiGatewayResolver, event: dict[str, Any], context: Any) -> None:
    """Put the request ``resolver`` is about to resolve on the resolver itself (instance
    attributes, which every read through it finds before ``BaseRouter``'s)."""
    resolver.current_event = resolver._to_proxy_event(event)
    resolver.lambda_context = context
