"""One source per request contract: the API Gateway ``Models`` in template.yaml (a coarse check at
the gateway) must agree with the pydantic models the handlers validate with, so a body is never
refused by one and accepted by the other for a reason the other knows about."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel, ValidationError

import gatepass.models
from devstack.template import TemplateModel

pytestmark = pytest.mark.template

MODEL = TemplateModel()
GATEWAY = MODEL.api_models()
# A body each model accepts; every check below changes one field of it.
VALID: dict[str, dict[str, Any]] = {
    "SubscribeRequest": {"email": "ada@example.com"},
    "SendOtpRequest": {"email": "ada@example.com", "browser": "b" * 43},
    "VerifyLinkRequest": {"token": "t" * 43, "browser": "b" * 43},
    "VerifyOtpRequest": {"email": "ada@example.com", "code": "123456"},
    "VerifyIdTokenRequest": {"id_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl"},
    "CreateEventRequest": {"title": "Jazz", "starts_at": "2099-01-01T19:00:00Z", "capacity": 10},
    "CreateTicketRequest": {"event_id": "mfrggzdfmztwq2lk"},
    "CheckInRequest": {"event_id": "mfrggzdfmztwq2lk", "code": "A" * 136},
    "CancelTicketRequest": {"ticket_id": "mfrggzdfmztwq2lk"},
    "CancelEventRequest": {"event_id": "mfrggzdfmztwq2lk"},
    "TransferTicketRequest": {"ticket_id": "mfrggzdfmztwq2lk", "to_email": "bob@example.com"},
    "RotateEventKeyRequest": {"event_id": "mfrggzdfmztwq2lk"},
    "ReissueTicketRequest": {"ticket_id": "mfrggzdfmztwq2lk"},
    "AddTicketTypeRequest": {"event_id": "mfrggzdfmztwq2lk", "name": "Balcony", "quota": 40},
    "UpdateTicketTypeRequest": {
        "event_id": "mfrggzdfmztwq2lk",
        "ticket_type_id": "nbswy3dpo5xxe3de",
    },
    "SetExpectedRateRequest": {"event_id": "mfrggzdfmztwq2lk", "expected_orders_per_second": 100},
    "LogActivityRequest": {"events": [{"type": "page_view"}]},
    "SyncScansRequest": {
        "event_id": "mfrggzdfmztwq2lk",
        "scans": [{"nonce": "n0nce-0001", "code": "A" * 136, "scanned_at": "2026-12-02T10:00:00Z"}],
    },
    "AddDoorStaffRequest": {"event_id": "mfrggzdfmztwq2lk", "email": "sam@example.com"},
    "RemoveDoorStaffRequest": {"event_id": "mfrggzdfmztwq2lk", "email": "sam@example.com"},
    "AddGateRequest": {"event_id": "mfrggzdfmztwq2lk", "name": "North gate"},
    "UpdateGateRequest": {"event_id": "mfrggzdfmztwq2lk", "gate_id": "nbswy3dpo5xxe3de"},
    "SignOutRequest": {},
    "JoinWaitlistRequest": {"event_id": "mfrggzdfmztwq2lk", "ticket_type_id": "nbswy3dpo5xxe3de"},
    "LeaveWaitlistRequest": {"event_id": "mfrggzdfmztwq2lk", "ticket_type_id": "nbswy3dpo5xxe3de"},
    "ClaimOfferRequest": {"offer_id": "mfrggzdfmztwq2lk"},
    "DeclineOfferRequest": {"offer_id": "mfrggzdfmztwq2lk"},
    "ConfigureQueueRequest": {
        "event_id": "mfrggzdfmztwq2lk",
        "opens_at": "2099-01-01T10:00:00Z",
        "max_admissions_per_minute": 600,
        "enabled": True,
    },
    "JoinQueueRequest": {"event_id": "mfrggzdfmztwq2lk"},
}
BOUNDS = {
    "minLength": ("maxLength", -1),
    "maxLength": ("minLength", +1),
    "minimum": ("maximum", -1),
    "maximum": ("minimum", +1),
    "minItems": ("maxItems", -1),
    "maxItems": ("minItems", +1),
}


def _pydantic_models() -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for info in pkgutil.iter_modules(gatepass.models.__path__):
        module = importlib.import_module(f"gatepass.models.{info.name}")
        for name, value in vars(module).items():
            if (
                isinstance(value, type)
                and issubclass(value, BaseModel)
                and value.__module__ == module.__name__
            ):
                found[name] = value
    return found


PYDANTIC = _pydantic_models()


def _body_annotation(function: str, path: str) -> str:
    """The pydantic model a handler's route takes as its body."""
    code_dir = MODEL.function_dir(function)
    tree = ast.parse((code_dir / "app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(
            path.replace("{", "<").replace("}", ">") in ast.unparse(d) for d in node.decorator_list
        ):
            for arg in node.args.args:
                if arg.arg == "body" and arg.annotation is not None:
                    return ast.unparse(arg.annotation)
    raise AssertionError(f"{function} has no body for {path}")


def _outside(bound: str, limit: int, example: Any) -> Any:
    """A value just outside ``bound`` = ``limit``, made from the valid ``example``."""
    _, step = BOUNDS[bound]
    size = limit + step
    if isinstance(example, str):
        # Shortened, or lengthened at the front, so the rest of the value stays as it was.
        return example[: max(size, 0)] if step < 0 else "a" * (size - len(example)) + example
    if isinstance(example, list):
        return [example[0]] * max(size, 0)
    return size


def test_every_route_body_has_its_gateway_model_named_after_the_pydantic_model() -> None:
    for route in MODEL.api_routes():
        if route.method != "POST":
            continue
        assert route.request_model in GATEWAY, route
        assert _body_annotation(route.function, route.path) == route.request_model, route
    assert set(GATEWAY) == set(VALID)


@pytest.mark.parametrize("name", sorted(GATEWAY))
def test_gateway_and_pydantic_require_the_same_fields_of_the_same_types(name: str) -> None:
    gateway = GATEWAY[name]
    schema = PYDANTIC[name].model_json_schema(mode="validation")
    assert sorted(gateway.get("required", [])) == sorted(schema.get("required", []))
    assert set(gateway["properties"]) <= set(schema["properties"])
    for field, rules in gateway["properties"].items():
        assert rules["type"] == schema["properties"][field].get("type"), f"{name}.{field}"


@pytest.mark.parametrize("name", sorted(GATEWAY))
def test_shared_bounds_are_equal_and_the_gateway_is_never_stricter(name: str) -> None:
    model, valid = PYDANTIC[name], VALID[name]
    model.model_validate(valid)
    jsonschema.validate(valid, GATEWAY[name])
    properties = model.model_json_schema(mode="validation")["properties"]
    for field, rules in GATEWAY[name]["properties"].items():
        for bound, limit in rules.items():
            if bound not in BOUNDS:
                continue
            if bound in properties[field]:
                assert properties[field][bound] == limit, f"{name}.{field} {bound}"
                continue
            # A bound only the gateway states must be one the pydantic model implies.
            with pytest.raises(ValidationError):
                model.model_validate({**valid, field: _outside(bound, limit, valid[field])})
