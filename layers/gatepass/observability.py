"""Logger, Metrics and tracing, created once. Service name and namespace come from the
POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE variables set in the template's Globals.

Every handler uses the same decorator order::

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    @metrics.log_metrics
    @tracer.capture_lambda_handler
    def lambda_handler(event, context): ...

Tracing does not use the AWS X-Ray SDK (end of support February 2027, and the largest part of
every cold start that was not Gatepass's own). Lambda's active tracing (``Tracing: Active``)
records each invocation's segment by itself, linked to API Gateway's and Step Functions'.
Spans inside a function come from OpenTelemetry when the AWS distribution's layer is attached
(the ``OpenTelemetryLayerArn`` parameter: its wrapper instruments the handler, the AWS SDK and
the database drivers and sends them to X-Ray); ``tracer`` then adds one span per request that
names the route and nothing the caller sent. Without the layer no tracing library is imported.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from gatepass import coldstart, snapstart

logger = Logger()
metrics = Metrics()

Handler = TypeVar("Handler", bound=Callable[..., Any])
# The AWS distribution of OpenTelemetry wraps the runtime with this script.
OTEL_WRAPPER = "/opt/otel-instrument"


def span_attributes(event: Mapping[str, Any]) -> dict[str, str]:
    """What a request's span may say about it: the route template, the method and the trigger,
    never a header, a body, a query value or a path value (tokens, codes and addresses travel
    there)."""
    attributes: dict[str, str] = {}
    if "httpMethod" in event:
        attributes["faas.trigger"] = "http"
        attributes["http.request.method"] = str(event.get("httpMethod", ""))
        attributes["http.route"] = str(event.get("resource", ""))
    elif isinstance(event.get("Records"), list):
        records = event["Records"]
        source = records[0].get("eventSource", "") if records else ""
        attributes["faas.trigger"] = "pubsub"
        attributes["gatepass.records"] = str(len(records))
        attributes["gatepass.event_source"] = str(source)
    elif "methodArn" in event:
        attributes["faas.trigger"] = "http"
        attributes["gatepass.authorizer"] = "token"
    return attributes


class Tracer:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    @functools.cached_property
    def _otel(self) -> Any:
        if self._environ.get("AWS_LAMBDA_EXEC_WRAPPER") != OTEL_WRAPPER:
            return None
        if self._environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() == "true":
            return None
        try:
            from opentelemetry import trace
        except ImportError:
            return None
        return trace.get_tracer("gatepass")

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        @functools.wraps(handler)
        def traced(event: Any, context: Any) -> Any:
            try:
                otel = self._otel
                if otel is None:
                    return handler(event, context)
                attributes = span_attributes(event) if isinstance(event, Mapping) else {}
                with otel.start_as_current_span("gatepass.request", attributes=attributes):
                    return handler(event, context)
            finally:
                # The first invocation has built what the environment keeps: collect again.
                coldstart.resume()

        return traced  # type: ignore[return-value]


tracer = Tracer()

# SnapStart: after a restore, reseed and forget what a snapshot must not share (a no-op
# without the runtime's snapshot_restore_py; gatepass.snapstart).
snapstart.register()

__all__ = [
    "MetricUnit",
    "Tracer",
    "correlation_paths",
    "logger",
    "metrics",
    "span_attributes",
    "tracer",
]
