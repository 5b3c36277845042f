"""Run the template's Lambda functions in this process, one "container" per function.

Each function module is imported on first use (its cold start: module-level ``Settings`` are
validated then). Invocations run one at a time across the whole process, whatever the function:
Lambda never resolves two requests in one process, and the handlers and Powertools rely on it.
Powertools keeps the request being resolved on ``BaseRouter.current_event``, a class attribute
shared by every function's resolver (where ``caller_id`` reads who is asking), and the logger's
keys, the metric set and the idempotency config's Lambda context are process-wide too. With a
lock per function only, two overlapping requests to two functions (a purchase and another
person's cancellation) read each other's caller and body: the ticket was sold to the wrong
person (docs/decisions/0077-local-functions-one-at-a-time.md).

The lock is reentrant so that a function invoked from inside another on the same thread does not
hang; nothing does that today, and no invocation waits for another thread's invocation (the
pumps deliver asynchronously, the authorizer runs before the API function, not inside it), so
one lock cannot deadlock.
"""

from __future__ import annotations

import importlib
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from devstack.template import ROOT, TemplateModel

Handler = Callable[[dict[str, Any], Any], Any]


class FunctionNotFound(LookupError):
    """The template names a function whose code is not in the repository (yet)."""


@dataclass
class LambdaContext:
    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "devstack/[$LATEST]local"
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


class FunctionHost:
    """Imports and invokes the functions ``template.yaml`` declares."""

    def __init__(self, model: TemplateModel, overrides: dict[str, Handler] | None = None) -> None:
        self.model = model
        self._overrides = dict(overrides or {})
        self._handlers: dict[str, Handler] = {}
        self.one_request_at_a_time: AbstractContextManager[Any] = threading.RLock()
        self._import_lock = threading.Lock()

    def module_name(self, logical_id: str) -> tuple[str, str]:
        props = self.model.functions[logical_id]["Properties"]
        code_dir = self.model.function_dir(logical_id).resolve().relative_to(ROOT)
        handler = props.get("Handler") or self._global("Handler") or "app.lambda_handler"
        module, _, attribute = handler.rpartition(".")
        return ".".join((*code_dir.parts, module)), attribute

    def available(self, logical_id: str) -> bool:
        if logical_id in self._overrides:
            return True
        module, _ = self.module_name(logical_id)
        return (ROOT / (module.replace(".", "/") + ".py")).is_file()

    def handler(self, logical_id: str) -> Handler:
        if logical_id in self._overrides:
            return self._overrides[logical_id]
        with self._import_lock:
            if logical_id not in self._handlers:
                if not self.available(logical_id):
                    raise FunctionNotFound(
                        f"{logical_id} has no code at {self.module_name(logical_id)[0]}"
                    )
                module_name, attribute = self.module_name(logical_id)
                module = importlib.import_module(module_name)
                self._handlers[logical_id] = getattr(module, attribute)
            return self._handlers[logical_id]

    def context(self, logical_id: str) -> LambdaContext:
        props = self.model.functions[logical_id]["Properties"]
        name = self.model.physical_name(logical_id)
        return LambdaContext(
            function_name=name,
            invoked_function_arn=self.model.attribute(logical_id, "Arn"),
            memory_limit_in_mb=int(props.get("MemorySize") or self._global("MemorySize") or 128),
            timeout_seconds=int(props.get("Timeout") or self._global("Timeout") or 3),
            log_group_name=f"/aws/lambda/{name}",
        )

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Call the function with ``event``; its exceptions propagate like a failed invoke."""
        handler = self.handler(logical_id)
        with self.one_request_at_a_time:
            return handler(event, self.context(logical_id))

    def _global(self, name: str) -> Any:
        return self.model.document.get("Globals", {}).get("Function", {}).get(name)
