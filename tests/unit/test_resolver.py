"""Gatepass's REST resolver (gatepass.resolver, decision 0079) through the API functions' own
factory (``gatepass.http.make_resolver``): routes, validation at the edge, errors, CORS, and the
request held per resolver and thread."""

from __future__ import annotations

import base64
import json
import threading
from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from gatepass.errors import SoldOut
from gatepass.http import caller_id, make_resolver
from gatepass.resolver import Query, Response, RestResolver
from tests.support.fresh import run_fresh

pytestmark = pytest.mark.unit

ORIGIN = "https://tickets.example.com"


class Order(BaseModel):
    event_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=10)


class Placed(BaseModel):
    order_id: str
    quantity: int
    price: Decimal = Decimal("0")


class Aliased(BaseModel):
    principal_id: str = Field(serialization_alias="principalId")


def request(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | None = None,
    query: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    user: str | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    if base64_body and text is not None:
        text = base64.b64encode(text.encode()).decode()
    return {
        "httpMethod": method,
        "path": path,
        "headers": headers or {},
        "multiValueQueryStringParameters": query,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
        "body": text,
        "isBase64Encoded": base64_body,
        "requestContext": {"authorizer": {"principalId": user} if user else None},
    }


def resolved(app: RestResolver, event: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
    answer = app.resolve(event, None)
    headers = {name: values[0] for name, values in answer["multiValueHeaders"].items()}
    body = answer["body"]
    if answer["isBase64Encoded"]:
        body = base64.b64decode(body)
    elif headers.get("Content-Type") == "application/json":
        body = json.loads(body)
    return answer["statusCode"], body, headers


@pytest.fixture
def app() -> RestResolver:
    app = make_resolver(ORIGIN)

    @app.post("/orders")
    def place(body: Order) -> Response[Placed]:
        if body.event_id == "taken":
            raise SoldOut("That event is sold out.")
        if body.event_id == "boom":
            raise RuntimeError("database password is hunter2")
        placed = Placed(order_id="o-1", quantity=body.quantity, price=Decimal("12.50"))
        return Response(status_code=201, content_type="application/json", body=placed)

    @app.get("/events/<event_id>/orders")
    def orders(
        event_id: str,
        limit: Annotated[int, Query(ge=1, le=50)] = 20,
        cursor: Annotated[str | None, Query(max_length=8)] = None,
    ) -> dict[str, Any]:
        return {"event_id": event_id, "limit": limit, "cursor": cursor}

    @app.get("/me")
    def me() -> Aliased:
        return Aliased(principal_id=caller_id(app))

    @app.get("/logo")
    def logo() -> Response[bytes]:
        return Response(status_code=200, content_type="image/png", body=b"\x89PNG")

    return app


# --------------------------------------------------------------------------- routes and answers


def test_a_valid_body_reaches_the_handler_and_its_model_answers_with_its_status(
    app: RestResolver,
) -> None:
    # When a valid order is posted
    status, body, headers = resolved(
        app, request("POST", "/orders", body={"event_id": "e-1", "quantity": 2})
    )

    # Then the handler's model answers, with the status it chose, as JSON
    assert status == 201
    assert body == {"order_id": "o-1", "quantity": 2, "price": "12.50"}
    assert headers["Content-Type"] == "application/json"


def test_path_and_query_parameters_are_read_validated_and_defaulted(app: RestResolver) -> None:
    # When a path parameter and one query parameter are given (with a trailing slash)
    status, body, _ = resolved(app, request("GET", "/events/e-42/orders/", query={"limit": ["5"]}))

    # Then both reach the handler, typed, and the absent one takes its default
    assert status == 200
    assert body == {"event_id": "e-42", "limit": 5, "cursor": None}


def test_a_model_answers_by_its_aliases(app: RestResolver) -> None:
    status, body, _ = resolved(app, request("GET", "/me", user="ann@example.com"))

    assert status == 200
    assert body == {"principalId": "ann@example.com"}


def test_a_bytes_body_is_sent_base64_encoded(app: RestResolver) -> None:
    status, body, headers = resolved(app, request("GET", "/logo"))

    assert status == 200
    assert body == b"\x89PNG"
    assert headers["Content-Type"] == "image/png"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nowhere"), ("GET", "/orders"), ("DELETE", "/orders"), ("GET", "/events/a/b/orders")],
)
def test_an_unknown_route_or_method_answers_404_in_the_error_shape(
    app: RestResolver, method: str, path: str
) -> None:
    status, body, _ = resolved(app, request(method, path))

    assert status == 404
    assert body == {"error": {"code": "not_found", "message": "No such route."}}


# --------------------------------------------------------------------------- bad requests


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (request("POST", "/orders", body={"event_id": "e-1", "quantity": 0}), "quantity"),
        (request("POST", "/orders", body={"quantity": 1}), "event_id"),
        (request("POST", "/orders", body=["e-1", 1]), "body"),
        (request("POST", "/orders"), "body"),
        (request("POST", "/orders", raw_body='{"event_id": '), "body"),
        (request("POST", "/orders", raw_body="not base64!", base64_body=False), "body"),
        (request("GET", "/events/e/orders", query={"limit": ["0"]}), "query.limit"),
        (request("GET", "/events/e/orders", query={"limit": ["many"]}), "query.limit"),
        (request("GET", "/events/e/orders", query={"limit": ["1", "2"]}), "query.limit"),
        (request("GET", "/events/e/orders", query={"cursor": ["123456789"]}), "query.cursor"),
    ],
    ids=[
        "out-of-range",
        "missing-field",
        "not-an-object",
        "no-body",
        "truncated-json",
        "not-json",
        "query-below-minimum",
        "query-not-a-number",
        "query-given-twice",
        "query-too-long",
    ],
)
def test_an_invalid_request_answers_400_naming_the_field_and_never_runs_the_handler(
    app: RestResolver, event: dict[str, Any], field: str
) -> None:
    status, body, _ = resolved(app, event)

    assert status == 400
    assert body["error"]["code"] == "validation_error"
    assert [p["field"] for p in body["error"]["problems"]] == [field]
    assert all(p["problem"] for p in body["error"]["problems"])


def test_a_base64_encoded_json_body_is_decoded(app: RestResolver) -> None:
    event = request("POST", "/orders", body={"event_id": "e-1", "quantity": 3}, base64_body=True)

    status, body, _ = resolved(app, event)

    assert status == 201
    assert body["quantity"] == 3


def test_a_body_in_another_media_type_answers_415(app: RestResolver) -> None:
    event = request(
        "POST",
        "/orders",
        raw_body="event_id=e-1&quantity=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    status, body, _ = resolved(app, event)

    assert status == 415
    assert body["error"]["code"] == "unsupported_media_type"


def test_a_json_media_type_with_parameters_is_json(app: RestResolver) -> None:
    event = request(
        "POST",
        "/orders",
        body={"event_id": "e-1", "quantity": 1},
        headers={"content-type": "application/json; charset=utf-8"},
    )

    assert resolved(app, event)[0] == 201


# --------------------------------------------------------------------------- errors


def test_a_domain_error_answers_its_own_status_and_code(app: RestResolver) -> None:
    status, body, _ = resolved(
        app, request("POST", "/orders", body={"event_id": "taken", "quantity": 1})
    )

    assert status == 409
    assert body["error"]["code"] == "sold_out"


def test_an_unexpected_error_answers_a_generic_500_without_its_message(
    app: RestResolver,
) -> None:
    status, body, _ = resolved(
        app, request("POST", "/orders", body={"event_id": "boom", "quantity": 1})
    )

    assert status == 500
    assert body == {
        "error": {"code": "internal_error", "message": "Something went wrong on our side."}
    }
    assert "hunter2" not in json.dumps(body)


def test_an_answer_that_cannot_be_serialised_answers_the_generic_500(app: RestResolver) -> None:
    @app.get("/broken")
    def broken() -> dict[str, Any]:
        return {"when": object()}

    status, body, _ = resolved(app, request("GET", "/broken"))

    assert status == 500
    assert body["error"]["code"] == "internal_error"


def test_the_nearest_handler_along_the_errors_classes_answers() -> None:
    # Given a resolver with handlers for a base error and for one of its subclasses
    app = RestResolver()

    class Base(Exception):
        pass

    class Special(Base):
        pass

    class Other(Base):
        pass

    @app.exception_handler(Base)
    def base(_exc: Base) -> Response[str]:
        return Response(418, "text/plain", "base")

    @app.exception_handler(Special)
    def special(_exc: Special) -> Response[str]:
        return Response(409, "text/plain", "special")

    @app.get("/special")
    def raise_special() -> None:
        raise Special

    @app.get("/other")
    def raise_other() -> None:
        raise Other

    @app.get("/unhandled")
    def raise_unhandled() -> None:
        raise KeyError("x")

    # Then each error finds the handler nearest its class, and an unhandled one propagates
    assert resolved(app, request("GET", "/special"))[:2] == (409, "special")
    assert resolved(app, request("GET", "/other"))[:2] == (418, "base")
    with pytest.raises(KeyError):
        app.resolve(request("GET", "/unhandled"), None)


# --------------------------------------------------------------------------- CORS


def test_the_allowed_origin_gets_the_cors_headers_on_answers_and_errors(
    app: RestResolver,
) -> None:
    for event in (
        request("GET", "/events/e/orders", headers={"Origin": ORIGIN}),
        request("GET", "/nowhere", headers={"origin": ORIGIN}),
    ):
        _, _, headers = resolved(app, event)

        assert headers["Access-Control-Allow-Origin"] == ORIGIN
        assert headers["Access-Control-Allow-Credentials"] == "true"
        assert headers["Access-Control-Max-Age"] == "600"
        allowed = headers["Access-Control-Allow-Headers"].split(",")
        assert {"Authorization", "Content-Type", "Idempotency-Key", "X-Queue-Token"} <= set(allowed)


def test_another_origin_and_a_request_without_one_get_no_cors_headers(
    app: RestResolver,
) -> None:
    for headers_in in ({"Origin": "https://evil.example"}, {}):
        _, _, headers = resolved(app, request("GET", "/events/e/orders", headers=headers_in))

        assert not any(name.startswith("Access-Control") for name in headers)


def test_any_origin_is_answered_with_a_wildcard_and_no_credentials() -> None:
    app = make_resolver("*")

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"ok": "yes"}

    _, _, headers = resolved(app, request("GET", "/ping", headers={"Origin": ORIGIN}))

    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in headers


def test_a_preflight_answers_204_with_the_methods_and_headers(app: RestResolver) -> None:
    event = request(
        "OPTIONS",
        "/orders",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )

    status, body, headers = resolved(app, event)

    assert status == 204
    assert body == ""
    assert headers["Access-Control-Allow-Methods"] == "GET,OPTIONS,POST"
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Content-Type" not in headers


# --------------------------------------------------------------------------- the request


def test_headers_are_read_whatever_their_case(app: RestResolver) -> None:
    seen: dict[str, str | None] = {}

    @app.get("/headers")
    def headers() -> dict[str, str]:
        seen["key"] = app.current_event.headers.get("Idempotency-Key")
        return {}

    resolved(app, request("GET", "/headers", headers={"idempotency-key": "k-1"}))

    assert seen == {"key": "k-1"}


def test_two_threads_resolving_at_once_each_read_their_own_request(app: RestResolver) -> None:
    # Given Ann's request reads who is asking only after Ben's request, resolved by the same
    # resolver on another thread, has finished
    ann_in_route, ben_done = threading.Event(), threading.Event()
    answers: dict[str, Any] = {}

    @app.get("/who")
    def who() -> dict[str, str]:
        if threading.current_thread().name == "ann":
            ann_in_route.set()
            assert ben_done.wait(10)
        return {"caller": caller_id(app)}

    def ask(name: str) -> None:
        answers[name] = resolved(app, request("GET", "/who", user=f"{name}@example.com"))[1]

    ann = threading.Thread(target=ask, args=("ann",), name="ann")
    ann.start()
    assert ann_in_route.wait(10)
    ask("ben")
    ben_done.set()
    ann.join(10)

    # Then each read their own caller
    assert answers == {"ann": {"caller": "ann@example.com"}, "ben": {"caller": "ben@example.com"}}


def test_no_request_is_readable_outside_one(app: RestResolver) -> None:
    resolved(app, request("GET", "/events/e/orders"))

    with pytest.raises(RuntimeError):
        _ = app.current_event


def test_the_api_factory_loads_nothing_of_powertools_event_handler() -> None:
    # Given a fresh interpreter, When it imports the API functions' factory
    printed = run_fresh(
        "import gatepass.http\n"
        "print([m for m in sys.modules if m.startswith('aws_lambda_powertools.event_handler')])"
    )

    # Then no module of Powertools' event_handler package was loaded
    assert printed.strip() == "[]"
