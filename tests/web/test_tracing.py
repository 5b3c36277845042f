"""OpenTelemetry in the web service: what a trace shows, and that nothing secret is in it.

The spans are read from an in-memory exporter placed where the OTLP exporter sits in ECS,
behind the scrubber, so they are what would leave the task.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.web.conftest import csrf_from, page_token, sign_in_as
from tests.web.fake_api import SESSION_KEY, FakeApi, session_token
from webapp import create_app, tracing
from webapp.api_client import HttpApiClient
from webapp.config import Config

pytestmark = pytest.mark.web

ORGANIZER = "organizer@example.com"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    # The drivers are instrumented per process: leave the others' tests untraced.
    for instrumentor in (RequestsInstrumentor(), RedisInstrumentor(), PsycopgInstrumentor()):
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


@pytest.fixture
def provider(spans: InMemorySpanExporter) -> TracerProvider:
    return tracing.tracer_provider(spans, batch=False)


@pytest.fixture
def traced_client(
    web_config: Config, fake_api: FakeApi, provider: TracerProvider
) -> Iterator[FlaskClient]:
    app: Flask = create_app(
        web_config, api=fake_api, session_key=lambda: SESSION_KEY, tracer_provider=provider
    )
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_PROTO"] = "https"
    yield client
    app.extensions["gatepass"].read_model.engine.dispose()


def everything_in(spans: list[ReadableSpan]) -> str:
    """Every name, attribute and event of ``spans``, as one text to search."""
    parts: list[str] = []
    for span in spans:
        parts.append(span.name)
        parts.extend(f"{k}={v}" for k, v in (span.attributes or {}).items())
        for event in span.events:
            parts.append(event.name)
            parts.extend(f"{k}={v}" for k, v in (event.attributes or {}).items())
    return "\n".join(parts)


def server_span(spans: list[ReadableSpan], route: str, method: str) -> ReadableSpan:
    found = [
        s
        for s in spans
        if (s.attributes or {}).get("http.route") == route
        and (s.attributes or {}).get("http.method", (s.attributes or {}).get("http.request.method"))
        == method
    ]
    assert found, f"no span for {method} {route}"
    return found[-1]


def test_sign_in_is_traced_without_the_address_or_the_code(
    traced_client: FlaskClient, fake_api: FakeApi, spans: InMemorySpanExporter
) -> None:
    # Given a subscribed address
    fake_api.subscribed.add("alice@example.com")

    # When she asks for a code and signs in with it (the code page's URL carries her address)
    token = page_token(traced_client, "/signin")
    asked = traced_client.post("/signin", data={"csrf_token": token, "email": "Alice@Example.com"})
    code_page = traced_client.get(asked.headers["Location"]).get_data(as_text=True)
    code = fake_api.outbox["alice@example.com"]
    signed = traced_client.post(
        "/signin/code",
        data={"csrf_token": csrf_from(code_page), "email": "alice@example.com", "code": code},
    )
    assert signed.status_code == 302
    cookie = signed.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]

    # Then each request is a span named by its route, with its SQL and Redis calls beneath
    finished = list(spans.get_finished_spans())
    code_span = server_span(finished, "/signin/code", "GET")
    posted = server_span(finished, "/signin/code", "POST")
    beneath = [s for s in finished if s.parent and s.parent.span_id == posted.context.span_id]
    assert any((s.attributes or {}).get("db.system") == "redis" for s in beneath)
    # And no span holds her address, the code or the session token, not even the page's URL
    text = everything_in(finished)
    assert "alice@example.com" not in text.lower()
    assert "alice%40example.com" not in text.lower()
    assert code not in text
    assert cookie not in text
    target = str(
        code_span.attributes.get("http.target", code_span.attributes.get("url.path", ""))
        if code_span.attributes
        else ""
    )
    assert target == "/signin/code"


def test_taking_a_ticket_is_traced_without_the_ticket_code(
    traced_client: FlaskClient, fake_api: FakeApi, spans: InMemorySpanExporter
) -> None:
    # Given a signed-in attendee on an event page
    event = fake_api.publish(title="Harbour jazz night", capacity=50)
    sign_in_as(traced_client, "alice@example.com")
    html = traced_client.get(f"/events/{event['event_id']}").get_data(as_text=True)
    form = dict(re.findall(r'name="(csrf_token|idempotency_key)" value="([^"]+)"', html))

    # When she takes a ticket and opens her tickets, which show its code
    taken = traced_client.post(f"/events/{event['event_id']}/tickets", data=form)
    mine = traced_client.get("/me/tickets").get_data(as_text=True)
    (ticket,) = [i for i in fake_api.items.values() if i.get("entity") == "ticket"]
    assert taken.status_code == 302
    assert ticket["code"] in mine

    # Then both requests are traced, with their SQL, and neither the code nor she is named
    finished = list(spans.get_finished_spans())
    server_span(finished, "/events/<event_id>/tickets", "POST")
    server_span(finished, "/me/tickets", "GET")
    assert any((s.attributes or {}).get("db.system") == "postgresql" for s in finished)
    text = everything_in(finished)
    assert ticket["code"] not in text
    assert ticket["code"].lower() not in text.lower()
    assert "alice@example.com" not in text.lower()
    assert session_token("alice@example.com") not in text


def test_a_check_in_is_traced_without_the_scanned_code_or_the_holder(
    traced_client: FlaskClient, fake_api: FakeApi, spans: InMemorySpanExporter
) -> None:
    # Given an attendee's ticket and the organizer on the scanner page
    event = fake_api.publish(title="Choir concert", organizer=ORGANIZER)
    taken = fake_api.create_ticket(session_token("bob@example.com"), event["event_id"], "key-b")
    ticket = fake_api.ticket(taken["ticket"]["ticket_id"])
    sign_in_as(traced_client, ORGANIZER)
    token = page_token(traced_client, f"/organizer/events/{event['event_id']}/scan")

    # When the code is scanned
    answer = traced_client.post(
        f"/organizer/events/{event['event_id']}/check-in",
        data={"csrf_token": token, "code": ticket["code"]},
    )

    # Then the check-in is a span with its route and status, and no span has the code or a name
    assert answer.status_code == 200
    finished = list(spans.get_finished_spans())
    span = server_span(finished, "/organizer/events/<event_id>/check-in", "POST")
    assert (span.attributes or {}).get(
        "http.status_code", (span.attributes or {}).get("http.response.status_code")
    ) == 200
    text = everything_in(finished)
    assert ticket["code"] not in text
    assert "bob@example.com" not in text.lower()
    assert ORGANIZER not in text.lower()


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()})
        body = json.dumps({"url": "https://tickets.invalid/t.png", "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def api_server() -> Iterator[str]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/dev"
    server.shutdown()
    server.server_close()


def test_api_calls_carry_the_trace_to_api_gateway_and_lambda(
    provider: TracerProvider,
    spans: InMemorySpanExporter,
    web_config: Config,
    fake_api: FakeApi,
    api_server: str,
) -> None:
    # Given the traced web app and the API it calls
    app = create_app(
        web_config, api=fake_api, session_key=lambda: SESSION_KEY, tracer_provider=provider
    )
    api = HttpApiClient(api_server, 5)
    token = session_token("alice@example.com")

    # When a request of the web app asks the API for a ticket's QR link
    with provider.get_tracer("test").start_as_current_span("web request") as parent:
        api.qr_code(token, "tkt123")
    app.extensions["gatepass"].read_model.engine.dispose()

    # Then the call carries the trace both as W3C trace context and as X-Ray's header
    (headers,) = _Recorder.seen
    trace_id = f"{parent.get_span_context().trace_id:032x}"
    assert headers["traceparent"].split("-")[1] == trace_id
    root = re.search(r"Root=1-([0-9a-f]{8})-([0-9a-f]{24})", headers["x-amzn-trace-id"])
    assert root is not None
    assert root.group(1) + root.group(2) == trace_id
    # And the client span names the API's route but not the token or the query
    client_spans = [s for s in spans.get_finished_spans() if s.name != "web request"]
    assert client_spans
    text = everything_in(list(spans.get_finished_spans()))
    assert token not in text
    assert "tkt123" not in text
    assert "/dev/get-qr-code" in text


def test_tracing_is_off_by_default(web_config: Config) -> None:
    # Given the default configuration (locally, and in ECS unless WebTracing is on)
    # Then the web traces nothing and loads no tracing library (webapp.tracing is not imported)
    assert web_config.TRACING == "off"


def test_the_scrubber_cuts_queries_headers_addresses_and_codes() -> None:
    # Given what an instrumentation might record
    recorded = {
        "http.url": "https://site/signin/code?email=alice@example.com",
        "http.request.header.authorization": ("Bearer eyJhbGciOi.eyJzdWIi.sig",),
        "db.statement": "SELECT * FROM people WHERE email = 'bob@example.com'",
        "gatepass.code": "123456",
        "http.route": "/events/<event_id>",
    }

    # When it is scrubbed
    scrubbed = tracing.scrub_attributes(recorded)

    # Then the query, the header, the address and the code are gone, and the route stays
    assert scrubbed["http.url"] == "https://site/signin/code"
    assert "http.request.header.authorization" not in scrubbed
    assert "bob@example.com" not in scrubbed["db.statement"]
    assert "[email]" in scrubbed["db.statement"]
    assert scrubbed["gatepass.code"] == "[code]"
    assert scrubbed["http.route"] == "/events/<event_id>"
