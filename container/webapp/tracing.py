"""OpenTelemetry traces of the web service (decision 0034), off unless ``TRACING=otlp``.

With ``TRACING=otlp`` each worker traces its requests (Flask), the API calls it makes
(requests), its SQL (psycopg, under SQLAlchemy) and its Redis commands, and sends
the spans over OTLP/HTTP to ``OTEL_EXPORTER_OTLP_ENDPOINT``: in ECS the AWS Distro for
OpenTelemetry collector beside the web container, which forwards them to X-Ray. Trace ids are
X-Ray's (time-prefixed), and every API call carries both ``traceparent`` (W3C) and
``X-Amzn-Trace-Id``, so API Gateway and Lambda's active tracing continue the same trace: one
request is one trace across web -> API Gateway -> Lambda. An incoming ``X-Amzn-Trace-Id`` (the
load balancer's) is continued too.

Nothing secret reaches an exported span: ``Scrubbed`` rewrites every span before the exporter
sees it (query strings and fragments cut from URLs, no header attributes, e-mail addresses,
tokens and long codes replaced in every string), whatever an instrumentation chose to record.

With ``TRACING=off`` (the default, and locally) this module imports nothing from OpenTelemetry
and changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from flask import Flask

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

SERVICE_NAME = "gatepass-web"
# Attribute keys whose value is a URL or a request target: the query and fragment go.
_URL_KEYS = frozenset({"http.url", "url.full", "http.target", "url.path", "url.original"})
_DROPPED_KEYS = frozenset({"url.query", "url.fragment", "http.request.body", "enduser.id"})
_DROPPED_PREFIXES = ("http.request.header.", "http.response.header.")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Session tokens (JWTs) and anything long and code-like (ticket codes, OIDC codes, secrets).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_LONG_CODE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{40,}(?![A-Za-z0-9_-])")
# A sign-in code alone (six digits) is only cut where it stands as a value of its own.
_SIX_DIGITS = re.compile(r"^[0-9]{6}$")


def scrub_text(value: str) -> str:
    """``value`` with e-mail addresses, tokens and long codes replaced."""
    value = _JWT.sub("[token]", value)
    value = _EMAIL.sub("[email]", value)
    value = _LONG_CODE.sub("[code]", value)
    return "[code]" if _SIX_DIGITS.match(value) else value


def _without_query(url: str) -> str:
    return url.split("#", 1)[0].split("?", 1)[0]


def scrub_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a span may keep of its attributes."""
    kept: dict[str, Any] = {}
    for key, value in (attributes or {}).items():
        if key in _DROPPED_KEYS or key.startswith(_DROPPED_PREFIXES):
            continue
        if isinstance(value, str):
            kept[key] = scrub_text(_without_query(value) if key in _URL_KEYS else value)
        elif isinstance(value, Sequence) and not isinstance(value, bytes):
            kept[key] = tuple(scrub_text(v) if isinstance(v, str) else v for v in value)
        elif isinstance(value, bytes):
            continue
        else:
            kept[key] = value
    return kept


def scrub_span(span: ReadableSpan) -> ReadableSpan:
    from opentelemetry.sdk.trace import Event
    from opentelemetry.sdk.trace import ReadableSpan as Span

    events = [
        Event(event.name, scrub_attributes(event.attributes), event.timestamp)
        for event in span.events
    ]
    return Span(
        name=scrub_text(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=scrub_attributes(span.attributes),
        events=events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def scrubbed(exporter: SpanExporter) -> SpanExporter:
    """``exporter`` behind the scrubber: it only ever sees scrubbed spans."""
    from opentelemetry.sdk.trace.export import SpanExporter

    class Scrubbed(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return exporter.export([scrub_span(span) for span in spans])

        def shutdown(self) -> None:
            exporter.shutdown()

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return exporter.force_flush(timeout_millis)

    return Scrubbed()


def install_propagators() -> None:
    """W3C trace context and X-Ray's header, read and written together."""
    from opentelemetry import propagate
    from opentelemetry.propagators.aws import AwsXRayPropagator
    from opentelemetry.propagators.composite import CompositePropagator
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    propagate.set_global_textmap(
        CompositePropagator([TraceContextTextMapPropagator(), AwsXRayPropagator()])
    )


def tracer_provider(
    exporter: SpanExporter, *, sample_ratio: float = 1.0, batch: bool = True
) -> TracerProvider:
    """Spans sampled at ``sample_ratio`` (a sampled caller's decision is followed), X-Ray ids,
    exported through the scrubber in batches from a bounded queue."""
    from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = TracerProvider(
        resource=Resource.create({"service.name": SERVICE_NAME}),
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
        id_generator=AwsXRayIdGenerator(),
    )
    safe = scrubbed(exporter)
    processor = (
        BatchSpanProcessor(safe, max_queue_size=512, max_export_batch_size=128)
        if batch
        else SimpleSpanProcessor(safe)
    )
    provider.add_span_processor(processor)
    return provider


def instrument(app: Flask, *, provider: TracerProvider) -> None:
    """Trace ``app``'s requests, and the worker's SQL, Redis commands and API calls (those
    three are instrumented per process, at the driver: the latest provider wins)."""
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    install_propagators()
    # The load balancer's and the container's probes are not worth a trace each.
    FlaskInstrumentor().instrument_app(  # type: ignore[no-untyped-call]
        app, tracer_provider=provider, excluded_urls="livez,healthz", enable_commenter=False
    )
    # SQLAlchemy's own instrumentation does not support 2.1 yet; psycopg's sees every statement
    # (as sent, with placeholders: parameters are not recorded) of every pool of the worker.
    for instrumentor in (PsycopgInstrumentor(), RedisInstrumentor(), RequestsInstrumentor()):
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
        instrumentor.instrument(tracer_provider=provider)


def otlp_provider(endpoint: str, sample_ratio: float) -> TracerProvider:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces", timeout=5)
    return tracer_provider(exporter, sample_ratio=sample_ratio)
