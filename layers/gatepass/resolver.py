"""The REST resolver of every API function: routes, pydantic validation at the edge, CORS.

It keeps what the functions used of Powertools' ``APIGatewayRestResolver(enable_validation=
True)``: ``@app.get``/``@app.post`` with ``<name>`` path parameters, a pydantic model parameter
read from the JSON body, ``Annotated[..., Query(...)]`` parameters read from the query string,
answers returned as models or as ``Response``, exception handlers looked up along the error's
classes, CORS on every answer and the answer to a preflight. Importing Powertools'
``event_handler`` package loads every resolver, event class and the OpenAPI machinery of
Powertools, about 0.14 x a function's floor at each cold start (decision 0079); this module
loads nothing beyond pydantic, which the functions load anyway.

A route's validators are built the first time it is called, so a cold start builds only the
route it serves. The request being resolved is held per resolver and per thread: one
environment's request is never read by another's.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import itertools
import json
import re
import threading
import typing
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

T = TypeVar("T")
Handler = TypeVar("Handler", bound=Callable[..., Any])

# API Gateway decodes the path, so a parameter may hold what a URI would escape (Powertools'
# rule); it never spans a ``/``.
_PARAMETER = re.compile(r"<(\w+)>")
_PARAMETER_VALUE = r"[-._~()'!*:@,;=+&$%<> \[\]{}|^\w]+"
# The headers API Gateway's clients send (Powertools' required set), before a resolver's own.
_REQUIRED_CORS_HEADERS = (
    "Authorization",
    "Content-Type",
    "X-Amz-Date",
    "X-Api-Key",
    "X-Amz-Security-Token",
)


class Query:
    """A parameter read from the query string, with pydantic ``Field`` constraints:
    ``limit: Annotated[int, Query(ge=1, le=100)] = 20``."""

    def __init__(self, **constraints: Any) -> None:
        self.field = Field(**constraints)


class RequestInvalid(Exception):
    """The request does not fit the route: pydantic's errors, each ``loc`` starting with where
    the value was read (``body``, ``query`` or ``path``)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("request validation failed")
        self._errors = errors

    def errors(self) -> list[dict[str, Any]]:
        return list(self._errors)


class UnsupportedMediaType(Exception):
    """A body was sent in a media type other than JSON."""

    def __init__(self, content_type: str) -> None:
        super().__init__(f"unsupported content type: {content_type}")
        self.content_type = content_type


class NotFound(Exception):
    """No route answers this method and path."""


class Response(Generic[T]):
    """An answer with its own status, media type and headers; a model body is serialised to
    JSON by its own serialiser (by alias)."""

    def __init__(
        self,
        status_code: int,
        content_type: str | None = None,
        body: T | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.headers: dict[str, str] = dict(headers or {})
        if content_type:
            self.headers.setdefault("Content-Type", content_type)


class Headers(Mapping[str, str]):
    """A request's headers, read whatever the case of their names."""

    def __init__(self, headers: Mapping[str, str] | None) -> None:
        self._headers = {name.lower(): value for name, value in (headers or {}).items()}

    def __getitem__(self, name: str) -> str:
        return self._headers[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._headers

    def __iter__(self) -> Iterator[str]:
        return iter(self._headers)

    def __len__(self) -> int:
        return len(self._headers)


class Request:
    """What a handler reads of API Gateway's REST proxy event."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.raw_event = event
        self.method = str(event.get("httpMethod") or "GET").upper()
        self.path = str(event.get("path") or "/")
        self.headers = Headers(event.get("headers"))
        context = event.get("requestContext") or {}
        self.authorizer: Mapping[str, Any] | None = context.get("authorizer")

    def query(self, name: str) -> list[str] | None:
        """Every value the query string gives ``name``, or None."""
        many = self.raw_event.get("multiValueQueryStringParameters") or {}
        if name in many:
            return list(many[name])
        one = self.raw_event.get("queryStringParameters") or {}
        return [one[name]] if name in one else None

    def text(self) -> str | None:
        """The body as text (decoded when API Gateway sent it base64-encoded)."""
        body = self.raw_event.get("body")
        if body and self.raw_event.get("isBase64Encoded"):
            try:
                return base64.b64decode(body, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return "\ufffd"  # not JSON: fails as an invalid body, not as a crash
        return str(body) if body is not None else None


class CORS:
    """Powertools' CORS rules: an allowed ``Origin`` gets the access-control headers on every
    answer; a preflight (``OPTIONS`` that no route takes) gets 204 and the methods."""

    def __init__(
        self,
        allow_origin: str = "*",
        allow_headers: list[str] | None = None,
        max_age: int | None = None,
        allow_credentials: bool = False,
    ) -> None:
        self.allow_origin = allow_origin
        self.allow_headers = ",".join(sorted({*_REQUIRED_CORS_HEADERS, *(allow_headers or [])}))
        self.max_age = max_age
        self.allow_credentials = allow_credentials

    def headers(self, origin: str | None) -> dict[str, str]:
        if not origin:
            return {}
        if origin != self.allow_origin:
            if self.allow_origin != "*":
                return {}
            origin = "*"
        headers = {"Access-Control-Allow-Origin": origin}
        headers["Access-Control-Allow-Headers"] = self.allow_headers
        if self.max_age is not None:
            headers["Access-Control-Max-Age"] = str(self.max_age)
        if origin != "*" and self.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers


class _Parameter:
    __slots__ = ("adapter", "default", "name", "required", "where")

    def __init__(self, name: str, where: str, default: Any, adapter: Any) -> None:
        self.name = name
        self.where = where
        self.required = default is inspect.Parameter.empty
        self.default = default
        self.adapter = adapter


class _Route:
    def __init__(self, method: str, rule: str, func: Callable[..., Any], status_code: int):
        self.method = method
        self.rule = rule.rstrip("/") or "/"
        parts = _PARAMETER.split(self.rule)  # literal, name, literal, name, ..., literal
        pattern = "".join(
            f"(?P<{part}>{_PARAMETER_VALUE})" if odd else re.escape(part)
            for odd, part in zip(itertools.cycle((False, True)), parts, strict=False)
        )
        self.pattern = re.compile(f"^{pattern}/*$")
        self.func = func
        self.status_code = status_code
        self._parameters: list[_Parameter] | None = None

    def parameters(self) -> list[_Parameter]:
        """The handler's parameters and their validators, built at the route's first call."""
        if self._parameters is None:
            self._parameters = list(_parameters_of(self.func, set(_PARAMETER.findall(self.rule))))
        return self._parameters

    def arguments(self, request: Request, path: Mapping[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        for parameter in self.parameters():
            loc: tuple[str | int, ...]
            if parameter.where == "path":
                raw: Any = path.get(parameter.name)
                loc = ("path", parameter.name)
            elif parameter.where == "query":
                given = request.query(parameter.name)
                raw = given[0] if given and len(given) == 1 else given  # twice: refused
                loc = ("query", parameter.name)
            else:
                raw, loc = _body(request), ("body",)
                if isinstance(raw, _Malformed):
                    errors.append(raw.error)
                    continue
            if raw is None:
                if parameter.required:
                    errors.append({"type": "missing", "loc": loc, "msg": "Field required"})
                else:
                    values[parameter.name] = parameter.default
                continue
            if parameter.adapter is None:
                values[parameter.name] = raw
                continue
            try:
                values[parameter.name] = parameter.adapter(raw)
            except ValidationError as exc:
                errors.extend(
                    {**error, "loc": (*loc, *error["loc"])}
                    for error in exc.errors(include_url=False, include_context=False)
                )
        if errors:
            raise RequestInvalid(errors)
        return values


class _Malformed:
    def __init__(self, error: dict[str, Any]) -> None:
        self.error = error


def _body(request: Request) -> Any:
    text = request.text()
    if not text:
        return None
    content_type = request.headers.get("content-type", "").strip()
    if content_type and not content_type.lower().startswith("application/json"):
        raise UnsupportedMediaType(content_type)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        return _Malformed({"type": "json_invalid", "loc": ("body", exc.pos), "msg": exc.msg})


def _parameters_of(func: Callable[..., Any], path_names: set[str]) -> Iterator[_Parameter]:
    hints = typing.get_type_hints(func, include_extras=True)
    for name, parameter in inspect.signature(func).parameters.items():
        annotation = hints.get(name, str)
        base, query = annotation, None
        if typing.get_origin(annotation) is Annotated:
            base, *metadata = typing.get_args(annotation)
            query = next((m for m in metadata if isinstance(m, Query)), None)
        default = parameter.default
        if name in path_names:
            adapter = None if base is str else TypeAdapter(annotation).validate_python
            yield _Parameter(name, "path", default, adapter)
        elif query is None and isinstance(base, type) and issubclass(base, BaseModel):
            yield _Parameter(name, "body", default, base.model_validate)
        else:
            typed = Annotated[base, query.field] if query is not None else base
            yield _Parameter(name, "query", default, TypeAdapter(typed).validate_python)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _to_response(result: Any, status_code: int) -> Response[Any]:
    if isinstance(result, Response):
        return result
    return Response(status_code, "application/json", result)


def _serialised(response: Response[Any]) -> Response[Any]:
    """``response`` with its body as text or bytes: a model by its own serialiser (by alias),
    anything else as compact JSON."""
    body = response.body
    if body is None or isinstance(body, str | bytes):
        return response
    if isinstance(body, BaseModel):
        response.body = body.model_dump_json(by_alias=True)
    else:
        response.body = json.dumps(body, separators=(",", ":"), default=_json_default)
    return response


ExceptionHandler = Callable[[Any], Response[Any]]


class RestResolver:
    """Routes API Gateway REST proxy events to handlers and builds the proxy answer."""

    def __init__(self, cors: CORS | None = None) -> None:
        self._cors = cors
        self._routes: list[_Route] = []
        self._handlers: dict[type[BaseException], ExceptionHandler] = {}
        self._local = threading.local()

    # ------------------------------------------------------------------- registering

    def route(self, rule: str, method: str, status_code: int = 200) -> Callable[[Handler], Handler]:
        def register(func: Handler) -> Handler:
            self._routes.append(_Route(method.upper(), rule, func, status_code))
            return func

        return register

    def get(self, rule: str, status_code: int = 200) -> Callable[[Handler], Handler]:
        return self.route(rule, "GET", status_code)

    def post(self, rule: str, status_code: int = 200) -> Callable[[Handler], Handler]:
        return self.route(rule, "POST", status_code)

    def exception_handler(
        self, exc_class: type[BaseException]
    ) -> Callable[[ExceptionHandler], ExceptionHandler]:
        def register(handler: ExceptionHandler) -> ExceptionHandler:
            self._handlers[exc_class] = handler
            return handler

        return register

    # ------------------------------------------------------------------- resolving

    @property
    def current_event(self) -> Request:
        """The request being resolved (in this thread)."""
        request: Request | None = getattr(self._local, "request", None)
        if request is None:
            raise RuntimeError("no request is being resolved")
        return request

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        """The proxy answer to ``event`` (``context``, Lambda's, is not read)."""
        request = Request(event)
        self._local.request = request
        try:
            return self._answer(request, self._respond(request))
        finally:
            self._local.request = None

    def _respond(self, request: Request) -> Response[Any]:
        """The answer, its body serialised (a route's where its errors are handled)."""
        try:
            for route in self._routes:
                if route.method != request.method:
                    continue
                match = route.pattern.match(request.path)
                if match is not None:
                    arguments = route.arguments(request, match.groupdict())
                    return _serialised(_to_response(route.func(**arguments), route.status_code))
            if self._cors is not None and request.method == "OPTIONS":
                methods = ",".join(sorted({"OPTIONS", *(r.method for r in self._routes)}))
                return Response(204, headers={"Access-Control-Allow-Methods": methods}, body="")
            raise NotFound(f"{request.method} {request.path}")
        except Exception as exc:
            handler = next(
                (self._handlers[k] for k in type(exc).__mro__ if k in self._handlers), None
            )
            if handler is None:
                raise
            return _serialised(handler(exc))

    def _answer(self, request: Request, response: Response[Any]) -> dict[str, Any]:
        headers = dict(response.headers)
        body: Any = response.body
        if self._cors is not None:
            headers.update(self._cors.headers(request.headers.get("origin")))
        encoded = isinstance(body, bytes)
        if isinstance(body, bytes):
            body = base64.b64encode(body).decode()
        return {
            "statusCode": response.status_code,
            "body": body,
            "isBase64Encoded": encoded,
            "multiValueHeaders": {name: [value] for name, value in headers.items()},
        }
