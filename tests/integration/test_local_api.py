"""The local API (what ``make dev`` serves on :3000) answers like API Gateway would.

Each test serves ``devstack.localapi.LocalApi`` over real HTTP on a free port, in front of moto
in-process, and compares what a client sees with what the template and the handlers say."""

from __future__ import annotations

import base64
import io
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image

from devstack.functions import FunctionHost
from devstack.localapi import LocalApi
from devstack.servers import ServerThread
from devstack.template import TemplateModel
from tests.conftest import EVENTS_DIR, TEST_PARAMETERS, aws_session, load_event

pytestmark = pytest.mark.integration

# Values a handler makes fresh on every call (ids, clocks, signatures); compared by presence.
VOLATILE_FIELDS = frozenset(
    {
        "event_id",
        "ticket_id",
        "ticket_type_id",
        "order_id",
        "created_at",
        "updated_at",
        "issued_at",
        "expires_at",
        "checked_in_at",
        "first_checked_in_at",
        "verifying_key",
        # Each fresh world generates its own secrets, so the keys derived from them differ.
        "public_key",
        "key_id",
        "token",
        "code",
        "url",
        "fields",
        "display_url",
        "thumbnail_url",
    }
)
# The answer of these depends on which session calls: the file names the sample session, the
# local API a fresh one. test_sessions.py runs each file against its sample session, and
# test_a_session_ended_through_the_local_api_stops_working runs the routes through the local API.
SESSION_BOUND = {"sessions-get.json", "sessions-sign-out-everywhere.json"}
API_EVENT_FILES = sorted(
    path.name
    for path in EVENTS_DIR.glob("*.json")
    if "httpMethod" in json.loads(path.read_text()) and path.name not in SESSION_BOUND
)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
    ) -> Answer:
        all_headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        # Only ever the local API this test started (http://127.0.0.1:<port>).
        request = urllib.request.Request(  # noqa: S310
            self.base_url + path, data=body, headers=all_headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers), error.read())


@contextmanager
def fresh_aws() -> Iterator[TemplateModel]:
    """Like the ``aws`` fixture, as a context manager so one test can have two fresh worlds."""
    from moto import mock_aws

    from gatepass import clients, keys, tokens

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        clients.reset()
        keys.reset()
        tokens.reset()
        model = TemplateModel(parameters=TEST_PARAMETERS)
        model.create_all(aws_session())
        yield model
    clients.reset()
    keys.reset()
    tokens.reset()


@contextmanager
def serving(model: TemplateModel, **overrides: Any) -> Iterator[Client]:
    api = LocalApi(model, FunctionHost(model, overrides=overrides))
    server = ServerThread(api, "127.0.0.1", 0, "test API").start()
    try:
        yield Client(f"http://127.0.0.1:{server.port}")
    finally:
        server.stop()


@pytest.fixture
def api(aws: TemplateModel) -> Iterator[Client]:
    with serving(aws) as client:
        yield client


def session_token(subject: str) -> str:
    """A live session's token: its item in moto's IdentityTable, as a sign-in leaves it."""
    from tests.support.session_keys import start_stack_session

    return start_stack_session(subject).token


def masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: ("<volatile>" if k in VOLATILE_FIELDS and v is not None else masked(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A stand-in function that answers with the event it was given."""
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(event),
    }


# ---------------------------------------------------------------------- events/ parity


def _through_http(client: Client, event: dict[str, Any], protected: bool) -> Answer:
    headers = {
        k: v
        for k, v in (event.get("headers") or {}).items()
        if k.lower() not in ("host", "content-length")
    }
    if protected:
        headers["Authorization"] = "Bearer " + session_token(
            event["requestContext"]["authorizer"]["principalId"]
        )
    query = event.get("queryStringParameters") or {}
    path = event["path"] + ("?" + urllib.parse.urlencode(query) if query else "")
    raw = event.get("body")
    body = None
    if raw is not None:
        body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    return client.request(event["httpMethod"], path, body=body, headers=headers)


@pytest.mark.parametrize("name", API_EVENT_FILES)
def test_an_events_file_gets_the_same_answer_through_the_local_api_as_by_direct_call(
    name: str, lambda_context: Any
) -> None:
    # Given an events/ file, and the route the template gives its method and path
    event = load_event(name)
    with fresh_aws() as model:
        api = LocalApi(model, FunctionHost(model))
        route, _, _ = api.match(event["httpMethod"], event["path"])
        assert route is not None, f"{name}: no route in template.yaml for it"
        # When the file is handed to the function directly, as `sam local invoke -e` does
        direct = api.host.invoke(route.function, load_event(name))
    # And when the same request goes through the local API over HTTP, in a fresh world
    with fresh_aws() as model, serving(model) as client:
        through_api = _through_http(client, event, route.authorized)

    # Then the caller sees the same status and the same body
    assert through_api.status == direct["statusCode"], through_api.body
    assert masked(through_api.json()) == masked(json.loads(direct["body"]))


# ---------------------------------------------------------------------- gateway behaviour


def test_an_unknown_route_answers_like_the_templates_missing_authentication_token(
    api: Client,
) -> None:
    # When a client calls a path the API does not have
    answer = api.request("GET", "/no-such-thing")

    # Then it gets the template's MISSING_AUTHENTICATION_TOKEN response, as JSON
    assert answer.status == 404
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json() == {"error": {"code": "not_found", "message": "No such route."}}


def test_a_method_the_route_does_not_have_answers_like_an_unknown_route(api: Client) -> None:
    # When a client deletes on a path that only has GET
    answer = api.request("DELETE", "/events")

    # Then API Gateway's answer is the same as for an unknown route
    assert answer.status == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_a_session_ended_through_the_local_api_stops_working(api: Client) -> None:
    # Given Alice's live session, which the local API's authorizer lets through
    token = session_token("alice@example.com")
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.request("GET", "/session", headers=bearer).json()["email"] == "alice@example.com"

    # When she signs out everywhere through the API
    ended = api.request("POST", "/sign-out-everywhere", json_body={}, headers=bearer)

    # Then the API says so, and her session no longer answers, even while the gateway's cached
    # "allow" for her token lasts (the function checks the session itself)
    assert (ended.status, ended.json()["signed_out"]) == (200, "everywhere")
    after = api.request("GET", "/session", headers=bearer)
    assert (after.status, after.json()["error"]["code"]) == (401, "session_ended")
    # And /sign-out with the same token still answers alike: nothing is left to end
    again = api.request("POST", "/sign-out", json_body={}, headers=bearer)
    assert (again.status, again.json()["signed_out"]) == (200, "session")


def test_a_protected_route_without_a_token_is_refused_before_the_function_runs(
    aws: TemplateModel,
) -> None:
    # Given a create-ticket function that records whether it ran
    calls: list[dict[str, Any]] = []

    def recording(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(event)
        return echo(event, context)

    with serving(aws, CreateTicketFunction=recording) as api:
        # When a client takes a ticket without signing in
        missing = api.request("POST", "/create-ticket", json_body={"event_id": "e1"})
        # And with a header that does not look like a bearer token
        malformed = api.request(
            "POST",
            "/create-ticket",
            json_body={"event_id": "e1"},
            headers={"Authorization": "Basic dXNlcjpwYXNz"},
        )

    # Then both get the template's UNAUTHORIZED response and the function never ran
    for answer in (missing, malformed):
        assert answer.status == 401
        assert answer.json() == {"error": {"code": "unauthorized", "message": "Sign in first."}}
    assert calls == []


def test_a_forged_token_is_refused_by_the_authorizer_with_401(api: Client) -> None:
    # When a client presents a well-formed token the session authorizer does not accept
    answer = api.request(
        "POST",
        "/create-ticket",
        json_body={"event_id": "e1"},
        headers={"Authorization": "Bearer aaa.bbb.ccc"},
    )

    # Then the authorizer's "Unauthorized" becomes the template's 401
    assert answer.status == 401
    assert answer.json()["error"]["code"] == "unauthorized"


def test_an_authorizer_deny_answers_403_with_the_templates_body(aws: TemplateModel) -> None:
    # Given an authorizer that answers with an explicit Deny policy
    def denying(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {
            "principalId": "mallory@example.com",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": "*"}],
            },
        }

    with serving(aws, AuthorizerFunction=denying) as api:
        # When a client with a token calls a protected route
        answer = api.request(
            "POST",
            "/create-ticket",
            json_body={"event_id": "e1"},
            headers={"Authorization": "Bearer abc.def.ghi"},
        )

    # Then the gateway's ACCESS_DENIED answer comes back
    assert answer.status == 403
    assert answer.json() == {
        "error": {"code": "forbidden", "message": "The session token is not valid."}
    }


def test_a_valid_session_reaches_the_function_as_the_authorizers_principal(
    aws: TemplateModel,
) -> None:
    # Given a signed-in caller and a get-qr-code function that shows its event
    with serving(aws, GetQrCodeFunction=echo) as api:
        token = session_token("alice@example.com")

        # When she asks for a ticket's QR code
        answer = api.request(
            "GET", "/get-qr-code?ticket_id=t1", headers={"Authorization": f"Bearer {token}"}
        )

    # Then the function sees her as the principal, with the REST proxy event's shape
    event = answer.json()
    assert answer.status == 200
    assert event["requestContext"]["authorizer"]["principalId"] == "alice@example.com"
    assert event["queryStringParameters"] == {"ticket_id": "t1"}
    assert event["resource"] == "/get-qr-code"
    assert event["httpMethod"] == "GET"


def test_path_templates_fill_path_parameters_and_resource(aws: TemplateModel) -> None:
    with serving(aws, EventsReadFunction=echo) as api:
        # When a client reads one event
        answer = api.request("GET", "/events/abcdefgh23456789")

    # Then the function gets the template's resource and the parameter by name
    event = answer.json()
    assert event["resource"] == "/events/{event_id}"
    assert event["pathParameters"] == {"event_id": "abcdefgh23456789"}
    assert event["path"] == "/events/abcdefgh23456789"


def test_a_body_that_breaks_the_request_model_is_refused_by_the_gateway(
    aws: TemplateModel,
) -> None:
    calls: list[dict[str, Any]] = []

    def recording(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(event)
        return echo(event, context)

    with serving(aws, SubscribeFunction=recording) as api:
        # When a client subscribes without an address, and with a body that is not JSON
        missing = api.request("POST", "/subscribe", json_body={})
        garbled = api.request(
            "POST", "/subscribe", body=b"{not json", headers={"Content-Type": "application/json"}
        )

    # Then the template's BAD_REQUEST_BODY answers and the function never runs
    for answer in (missing, garbled):
        assert answer.status == 400
        assert answer.json()["error"]["code"] == "validation_error"
    # messageString, not validationErrorString: the latter can carry raw quotes into the JSON
    assert missing.json()["error"]["message"] == "Invalid request body"
    assert calls == []


def test_a_missing_required_query_parameter_is_refused_by_the_gateway(api: Client) -> None:
    token = session_token("alice@example.com")

    answer = api.request("GET", "/get-qr-code", headers={"Authorization": f"Bearer {token}"})

    assert answer.status == 400
    assert answer.json()["error"]["code"] == "BAD_REQUEST_PARAMETERS"
    assert "ticket_id" in answer.json()["error"]["message"]


def test_a_cors_preflight_answers_with_the_templates_cors_settings(api: Client) -> None:
    answer = api.request(
        "OPTIONS",
        "/create-ticket",
        headers={"Origin": "http://localhost:8080", "Access-Control-Request-Method": "POST"},
    )

    assert answer.status == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    assert "Idempotency-Key" in answer.headers["Access-Control-Allow-Headers"]


# ---------------------------------------------------------------------- bodies


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_binary_body_reaches_the_function_base64_encoded_and_comes_back_byte_for_byte(
    aws: TemplateModel,
) -> None:
    # Given a function that answers with the bytes it was sent, base64-encoded as Lambda must
    seen: list[dict[str, Any]] = []

    def mirror(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(event)
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "image/png"},
            "body": event["body"],
            "isBase64Encoded": event["isBase64Encoded"],
        }

    png = _png()
    with serving(aws, LogActivityFunction=mirror) as api:
        # When a client posts a PNG (a binary media type of the template)
        answer = api.request(
            "POST", "/log-activity", body=png, headers={"Content-Type": "image/png"}
        )

    # Then the function got it base64-encoded, and the client gets the very same bytes back
    assert seen[0]["isBase64Encoded"] is True
    assert base64.b64decode(seen[0]["body"]) == png
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "image/png"
    assert answer.body == png


def test_a_json_body_reaches_the_function_as_text(aws: TemplateModel) -> None:
    with serving(aws, LogActivityFunction=echo) as api:
        answer = api.request("POST", "/log-activity", json_body={"events": [{"type": "page_view"}]})

    event = answer.json()
    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == {"events": [{"type": "page_view"}]}


def test_a_function_that_crashes_answers_502_without_internals(aws: TemplateModel) -> None:
    def crashing(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("secret internals")

    with serving(aws, EventsReadFunction=crashing) as api:
        answer = api.request("GET", "/events")

    assert answer.status == 502
    assert "secret internals" not in answer.body.decode()
    assert answer.json()["error"]["code"] == "INTEGRATION_FAILURE"


# ---------------------------------------------------------------------- overlapping requests


class GateWatch:
    """The local stack's lock between invocations, which says when a request reaches it once
    ``after`` is set (that request then waits there, as a second request waits for a Lambda
    environment of its own)."""

    def __init__(self, lock: Any, after: threading.Event, arrived: threading.Event) -> None:
        self.lock, self.after, self.arrived = lock, after, arrived

    def __enter__(self) -> None:
        if self.after.is_set():
            self.arrived.set()
        self.lock.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.lock.__exit__(*exc)


def test_two_overlapping_requests_to_two_functions_each_act_for_their_own_caller(
    aws: TemplateModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Ben holds a ticket bought through the local API, and Ann's purchase reads who is
    # asking only once Ben's cancellation has read it too, or is held back by the local stack
    from functions.cancel_ticket import app as cancel_ticket_app
    from functions.create_ticket import app as create_ticket_app
    from gatepass import clients, http
    from tests.support import factories

    event = {"event_id": factories.put_event(capacity=5)["event_id"]}
    factories.ticket_seed()
    clients.client("s3")
    host = FunctionHost(aws)
    server = ServerThread(LocalApi(aws, host), "127.0.0.1", 0, "test API").start()
    api = Client(f"http://127.0.0.1:{server.port}")
    ann = {"Authorization": "Bearer " + session_token("ann@example.com")}
    ben = {"Authorization": "Bearer " + session_token("ben@example.com")}
    bought = api.request("POST", "/create-ticket", json_body=event, headers=ben)
    assert bought.status == 201, bought.body
    bens_ticket = bought.json()["ticket"]["ticket_id"]

    ann_in_route, ben_read_or_held = threading.Event(), threading.Event()
    host.one_request_at_a_time = GateWatch(
        host.one_request_at_a_time, ann_in_route, ben_read_or_held
    )
    read_caller = http.caller_id

    def ann_reads_late(app: Any) -> str:
        ann_in_route.set()
        assert ben_read_or_held.wait(30)
        return read_caller(app)

    def ben_reads(app: Any) -> str:
        ben_read_or_held.set()
        return read_caller(app)

    monkeypatch.setattr(create_ticket_app, "caller_id", ann_reads_late)
    monkeypatch.setattr(cancel_ticket_app, "caller_id", ben_reads)
    cancel = {"ticket_id": bens_ticket}

    try:
        # When Ann buys a ticket, and Ben cancels his while Ann's request is under way
        with ThreadPoolExecutor(max_workers=2) as browsers:
            anns_purchase = browsers.submit(
                api.request, "POST", "/create-ticket", json_body=event, headers=ann
            )
            assert ann_in_route.wait(30)
            bens_cancel = browsers.submit(
                api.request, "POST", "/cancel-ticket", json_body=cancel, headers=ben
            )
            bought_by_ann, cancelled = anns_purchase.result(), bens_cancel.result()
    finally:
        server.stop()

    # Then Ann is answered with a ticket she holds, Ben with his cancellation, and the table
    # holds Ann's ticket for Ann and Ben's, cancelled, for Ben
    assert cancelled.status == 200, cancelled.body
    assert bought_by_ann.status == 201, bought_by_ann.body
    assert bought_by_ann.json()["ticket"]["holder"] == "ann@example.com"
    anns_ticket = bought_by_ann.json()["ticket"]["ticket_id"]
    counts = factories.stock_counts(event["event_id"])
    assert counts["holders"] == {anns_ticket: "ann@example.com", bens_ticket: "ben@example.com"}
    assert dict(counts["tickets"])[bens_ticket] == "cancelled"
    assert counts["buyers"] == {"ann@example.com": 1}
