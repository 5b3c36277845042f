"""Lambda execution environments of one function, in this process, for tests that send it
concurrent requests.

Lambda gives each concurrent request its own execution environment: one process never resolves
two requests at once. ``Environments`` imports the function's ``app.py`` once per environment
(its own settings, stores and resolver) and lends each environment to one request at a time.
The resolver holds the request it resolves itself, per thread (``gatepass.resolver``), so two
environments' requests never meet.

Still process-wide here but one per request in Lambda: moto (``atomic_moto`` serializes its
calls) and Powertools' metric set (``atomic_metrics``)."""

from __future__ import annotations

import importlib.util
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

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
    return module
