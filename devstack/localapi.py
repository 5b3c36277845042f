"""The REST API of ``template.yaml`` served locally, the way API Gateway would serve it.

Routes, the session authorizer, binary media types, CORS, request validation and gateway
responses are all read from the template's ``AWS::Serverless::Api`` and functions' ``Api``
events; there is no second list of routes. Each request becomes a REST (v1) proxy event and the
function runs in this process through :class:`devstack.functions.FunctionHost`.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import logging
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jsonschema
from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

from devstack.functions import FunctionHost
from devstack.template import ApiRoute, TemplateModel

log = logging.getLogger("devstack.api")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# API Gateway's own statuses and messages for the gateway responses a template may customise.
DEFAULT_GATEWAY_RESPONSES: dict[str, tuple[int, str]] = {
    "UNAUTHORIZED": (401, "Unauthorized"),
    "ACCESS_DENIED": (403, "User is not authorized to access this resource with an explicit deny"),
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "BAD_REQUEST_BODY": (400, "Invalid request body"),
    "BAD_REQUEST_PARAMETERS": (400, "Missing required request parameters"),
    "AUTHORIZER_FAILURE": (500, "Internal server error"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, "Internal server error"),
    "INTEGRATION_FAILURE": (502, "Internal server error"),
}
API_ID = "local"


@dataclass(frozen=True)
class Route:
    function: str
    resource: str
    method: str
    authorized: bool
    request_model: str | None
    validate_body: bool
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]
    pattern: re.Pattern[str]
    names: tuple[str, ...]

    @property
    def static_weight(self) -> tuple[int, int]:
        # API Gateway prefers literal path segments over {parameters}, and {param} over {proxy+}.
        segments = self.resource.strip("/").split("/")
        literal = sum(1 for s in segments if not s.startswith("{"))
        greedy = sum(1 for s in segments if s.endswith("+}"))
        return (-literal, greedy)


def _compile(resource: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    names: list[str] = []
    parts = []
    for segment in resource.strip("/").split("/"):
        match = re.fullmatch(r"\{([^}+]+)(\+?)\}", segment)
        if match:
            names.append(match.group(1))
            parts.append(f"(?P<p{len(names) - 1}>{'.+' if match.group(2) else '[^/]+'})")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "/?$"), tuple(names)


def _unquote(value: Any) -> str:
    text = str(value)
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text


class AuthorizerDecision:
    def __init__(self, principal: str, policy: dict[str, Any], context: dict[str, Any]) -> None:
        self.principal = principal
        self.policy = policy
        self.context = context

    def effect_for(self, method_arn: str) -> str | None:
        statements = self.policy.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        effects = set()
        for statement in statements:
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            if not any(fnmatch.fnmatchcase("execute-api:Invoke", a) for a in actions):
                continue
            resources = statement.get("Resource", [])
            resources = [resources] if isinstance(resources, str) else resources
            if any(fnmatch.fnmatchcase(method_arn, r) for r in resources):
                effects.add(str(statement.get("Effect", "")).capitalize())
        if "Deny" in effects:
            return "Deny"
        return "Allow" if "Allow" in effects else None


class GatewayError(Exception):
    def __init__(self, response_type: str, message: str | None = None, **context: str) -> None:
        super().__init__(response_type)
        self.response_type = response_type
        self.message = message or DEFAULT_GATEWAY_RESPONSES.get(response_type, (500, "Error"))[1]
        self.context = context


class LocalApi:
    """A WSGI application that behaves like the template's API Gateway REST API."""

    def __init__(
        self,
        model: TemplateModel,
        host: FunctionHost,
        *,
        extra_apps: dict[str, WsgiApp] | None = None,
    ) -> None:
        self.model = model
        self.host = host
        self.extra_apps = extra_apps or {}
        api_id, api = next(iter(model.of_type("AWS::Serverless::Api").items()))
        self.api_logical_id = api_id
        self.props: dict[str, Any] = api["Properties"]
        self.stage = str(model.resolve(self.props.get("StageName", "Prod")))
        self.binary_types = [
            t.replace("~1", "/") for t in model.resolve(self.props.get("BinaryMediaTypes", []))
        ]
        self.gateway_responses: dict[str, Any] = model.resolve(
            self.props.get("GatewayResponses", {})
        )
        self.models = model.api_models()
        self.cors = model.resolve(self.props.get("Cors")) if self.props.get("Cors") else None
        self.routes = self._routes()
        auth = self.props.get("Auth", {})
        default = auth.get("DefaultAuthorizer")
        self.authorizer_config: dict[str, Any] = (
            auth.get("Authorizers", {}).get(default, {}) if default else {}
        )
        self._auth_cache: dict[str, tuple[float, AuthorizerDecision]] = {}
        self._auth_cache_lock = threading.Lock()

    # ------------------------------------------------------------------ template

    def _routes(self) -> list[Route]:
        routes = []
        for route in self.model.api_routes():
            event = self._api_event(route)
            model = event.get("RequestModel", {})
            query: list[str] = []
            headers: list[str] = []
            for parameter in event.get("RequestParameters", []):
                items = parameter.items() if isinstance(parameter, dict) else [(parameter, {})]
                for name, options in items:
                    if not (isinstance(options, dict) and options.get("Required")):
                        continue
                    kind, _, key = name.removeprefix("method.request.").partition(".")
                    (query if kind == "querystring" else headers).append(key)
            pattern, names = _compile(route.path)
            routes.append(
                Route(
                    function=route.function,
                    resource=route.path,
                    method=route.method,
                    authorized=route.authorized,
                    request_model=route.request_model,
                    validate_body=bool(model) and model.get("ValidateBody", True) is not False,
                    required_query=tuple(query),
                    required_headers=tuple(headers),
                    pattern=pattern,
                    names=names,
                )
            )
        return sorted(routes, key=lambda r: r.static_weight)

    def _api_event(self, route: ApiRoute) -> dict[str, Any]:
        events = self.model.functions[route.function]["Properties"].get("Events", {})
        for event in events.values():
            props = event.get("Properties", {})
            if (
                event.get("Type") == "Api"
                and props.get("Path") == route.path
                and str(props.get("Method", "")).upper() == route.method
            ):
                found: dict[str, Any] = props
                return found
        return {}

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """The route for ``method path``, its path parameters, and whether the path exists."""
        path_exists = False
        for route in self.routes:
            found = route.pattern.match(path)
            if not found:
                continue
            path_exists = True
            if route.method in (method, "ANY"):
                params = {name: found.group(f"p{i}") for i, name in enumerate(route.names)}
                return route, params, True
        return None, {}, path_exists

    # ------------------------------------------------------------------ WSGI

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "/")
        for prefix, app in self.extra_apps.items():
            if path == prefix or path.startswith(prefix + "/") or path.startswith(prefix + "."):
                return app(environ, start_response)
        request = Request(environ)
        started = time.monotonic()
        response = self.handle(request)
        log.info(
            "%s %s -> %s (%d ms)",
            request.method,
            request.full_path.rstrip("?"),
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            return self._handle(request, request_id)
        except GatewayError as error:
            return self.gateway_response(error, request_id)

    def _handle(self, request: Request, request_id: str) -> Response:
        method = request.method.upper()
        route, path_parameters, path_exists = self.match(method, request.path)
        if method == "OPTIONS" and path_exists and self.cors and route is None:
            return self._preflight()
        if route is None:
            raise GatewayError("MISSING_AUTHENTICATION_TOKEN")
        authorizer_context = self._authorize(route, request) if route.authorized else None
        self._validate(route, request)
        event = self.build_event(request, route, path_parameters, authorizer_context, request_id)
        try:
            result = self.host.invoke(route.function, event)
        except Exception:
            log.error("%s failed:\n%s", route.function, traceback.format_exc())
            raise GatewayError("INTEGRATION_FAILURE") from None
        return self._to_response(route, result)

    # ------------------------------------------------------------------ gateway parts

    def _preflight(self) -> Response:
        assert self.cors is not None
        cors = self.cors if isinstance(self.cors, dict) else {"AllowOrigin": self.cors}
        headers = {
            "Access-Control-Allow-Origin": _unquote(cors.get("AllowOrigin", "'*'")),
            "Access-Control-Allow-Methods": _unquote(cors.get("AllowMethods", "'*'")),
        }
        if cors.get("AllowHeaders"):
            headers["Access-Control-Allow-Headers"] = _unquote(cors["AllowHeaders"])
        if cors.get("MaxAge"):
            headers["Access-Control-Max-Age"] = _unquote(cors["MaxAge"])
        if cors.get("AllowCredentials"):
            headers["Access-Control-Allow-Credentials"] = "true"
        return Response(b"", status=200, headers=headers, content_type="application/json")

    def _authorize(self, route: Route, request: Request) -> dict[str, Any]:
        identity = self.authorizer_config.get("Identity", {})
        header = identity.get("Header", "Authorization")
        token = request.headers.get(header, "")
        if not token:
            raise GatewayError("UNAUTHORIZED")
        expression = identity.get("ValidationExpression")
        if expression and not re.fullmatch(expression, token):
            raise GatewayError("UNAUTHORIZED")
        method_arn = (
            f"arn:aws:execute-api:{self.model.region}:{self.model.account_id}:{API_ID}/"
            f"{self.stage}/{request.method.upper()}{request.path}"
        )
        decision = self._cached_decision(token)
        if decision is None:
            decision = self._call_authorizer(token, method_arn)
        effect = decision.effect_for(method_arn)
        if effect != "Allow":
            raise GatewayError("ACCESS_DENIED")
        return {**decision.context, "principalId": decision.principal, "integrationLatency": 0}

    def _cached_decision(self, token: str) -> AuthorizerDecision | None:
        with self._auth_cache_lock:
            cached = self._auth_cache.get(token)
            if cached and cached[0] > time.monotonic():
                return cached[1]
        return None

    def _call_authorizer(self, token: str, method_arn: str) -> AuthorizerDecision:
        function = self.model.authorizer_function()
        event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
        try:
            result = self.host.invoke(function, event)
        except Exception as exc:
            if str(exc) == "Unauthorized":
                raise GatewayError("UNAUTHORIZED") from None
            log.error("authorizer failed:\n%s", traceback.format_exc())
            raise GatewayError("AUTHORIZER_FAILURE") from None
        if (
            not isinstance(result, dict)
            or "principalId" not in result
            or not isinstance(result.get("policyDocument"), dict)
        ):
            log.error("authorizer returned no principalId and policyDocument: %r", result)
            raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR")
        decision = AuthorizerDecision(
            str(result["principalId"]), result["policyDocument"], dict(result.get("context") or {})
        )
        ttl = int(self.authorizer_config.get("Identity", {}).get("ReauthorizeEvery", 300))
        if ttl > 0:
            with self._auth_cache_lock:
                self._auth_cache[token] = (time.monotonic() + ttl, decision)
        return decision

    def _validate(self, route: Route, request: Request) -> None:
        missing = [q for q in route.required_query if not request.args.get(q)]
        missing += [h for h in route.required_headers if not request.headers.get(h)]
        if missing:
            raise GatewayError(
                "BAD_REQUEST_PARAMETERS",
                f"Missing required request parameters: [{', '.join(missing)}]",
            )
        if not (route.request_model and route.validate_body):
            return
        content_type = (request.mimetype or "application/json").lower()
        if content_type != "application/json":
            return
        schema = self.models.get(route.request_model)
        if schema is None:
            return
        raw = request.get_data() or b"{}"
        try:
            document = json.loads(raw)
        except ValueError:
            raise GatewayError("BAD_REQUEST_BODY", validationErrorString="Invalid JSON") from None
        problems = sorted(
            jsonschema.Draft4Validator(schema).iter_errors(document), key=lambda e: list(e.path)
        )
        if problems:
            text = "[" + ", ".join(_describe(p) for p in problems) + "]"
            raise GatewayError(
                "BAD_REQUEST_BODY", "Invalid request body", validationErrorString=text
            )

    def gateway_response(self, error: GatewayError, request_id: str) -> Response:
        default_status = DEFAULT_GATEWAY_RESPONSES.get(error.response_type, (500, ""))[0]
        family = "DEFAULT_4XX" if default_status < 500 else "DEFAULT_5XX"
        config = self.gateway_responses.get(error.response_type)
        if config is None:
            config = self.gateway_responses.get(family, {})
        status = int(config.get("StatusCode", default_status))
        template = config.get("ResponseTemplates", {}).get(
            "application/json", '{"message":$context.error.messageString}'
        )
        variables = {
            "$context.error.responseType": error.response_type,
            "$context.error.messageString": json.dumps(error.message),
            "$context.error.message": _json_escape(error.message),
            "$context.error.validationErrorString": _json_escape(
                error.context.get("validationErrorString", "")
            ),
            "$context.requestId": request_id,
        }
        body = re.sub(
            r"\$context\.[A-Za-z.]+", lambda m: variables.get(m.group(0), ""), str(template)
        )
        headers = {
            name: _unquote(value)
            for name, value in config.get("ResponseParameters", {}).get("Headers", {}).items()
        }
        headers["x-amzn-RequestId"] = request_id
        headers["x-amzn-ErrorType"] = error.response_type
        return Response(body, status=status, headers=headers, content_type="application/json")

    # ------------------------------------------------------------------ events

    def is_binary(self, content_type: str | None) -> bool:
        mimetype = (content_type or "").split(";")[0].strip().lower()
        return bool(mimetype) and any(fnmatch.fnmatch(mimetype, t) for t in self.binary_types)

    def build_event(
        self,
        request: Request,
        route: Route,
        path_parameters: dict[str, str],
        authorizer: dict[str, Any] | None,
        request_id: str,
    ) -> dict[str, Any]:
        headers = dict(request.headers.items())
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            multi_headers.setdefault(name, []).append(value)
        query = {k: request.args.getlist(k)[-1] for k in request.args}
        raw = request.get_data()
        body: str | None
        if not raw:
            body, is_base64 = None, False
        elif self.is_binary(request.headers.get("Content-Type")):
            body, is_base64 = base64.b64encode(raw).decode("ascii"), True
        else:
            body, is_base64 = raw.decode("utf-8", errors="replace"), False
        now = datetime.now(UTC)
        source_ip = request.remote_addr or "127.0.0.1"
        return {
            "resource": route.resource,
            "path": request.path,
            "httpMethod": request.method.upper(),
            "headers": headers or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": (
                {k: request.args.getlist(k) for k in request.args} or None
            ),
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": uuid.uuid5(uuid.NAMESPACE_URL, route.resource).hex[:6],
                "resourcePath": route.resource,
                "httpMethod": request.method.upper(),
                "extendedRequestId": request_id,
                "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "path": f"/{self.stage}{request.path}",
                "accountId": self.model.account_id,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "stage": self.stage,
                "domainPrefix": request.host.split(":")[0].split(".")[0],
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "requestId": request_id,
                "identity": {
                    "sourceIp": source_ip,
                    "userAgent": request.headers.get("User-Agent"),
                },
                "domainName": request.host.split(":")[0],
                "apiId": API_ID,
                "authorizer": authorizer,
            },
            "body": body,
            "isBase64Encoded": is_base64,
        }

    def _to_response(self, route: Route, result: Any) -> Response:
        if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
            log.error("%s returned a malformed proxy response: %r", route.function, result)
            raise GatewayError("INTEGRATION_FAILURE")
        headers = Headers()
        for name, values in (result.get("multiValueHeaders") or {}).items():
            for value in values:
                headers.add(name, str(value))
        for name, value in (result.get("headers") or {}).items():
            headers[name] = str(value)
        body = result.get("body") or ""
        if result.get("isBase64Encoded"):
            try:
                payload = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                raise GatewayError("INTEGRATION_FAILURE") from None
        else:
            payload = str(body).encode("utf-8")
        if "Content-Type" not in headers:
            headers["Content-Type"] = "application/json"
        return Response(payload, status=result["statusCode"], headers=headers)


def _json_escape(text: str) -> str:
    return json.dumps(text)[1:-1]


def _describe(error: jsonschema.ValidationError) -> str:
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{error.message} at /{where}" if where else error.message
