"""The door's set-up: door staff (POST /add-door-staff, /remove-door-staff), gates
(POST /add-gate, /update-gate), the door's state and counts (GET /events/{event_id}/door) and
the events a person may scan (GET /door-events). docs/decisions/0060."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.door import DynamoDoorStore
from gatepass.http import caller_id, make_resolver
from gatepass.logic import door as door_logic
from gatepass.models.door import (
    AddDoorStaffRequest,
    AddGateRequest,
    DoorEventList,
    DoorStaffResponse,
    EventDoor,
    GateResponse,
    RemoveDoorStaffRequest,
    UpdateGateRequest,
)
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.resolver import Response
from gatepass.settings.door import DoorSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = DoorSettings.load()
door = DynamoDoorStore(settings.ticketing_table)
app = make_resolver(settings.allowed_web_origin)


@app.post("/add-door-staff")
def add_door_staff(body: AddDoorStaffRequest) -> DoorStaffResponse:
    return door_logic.add_door_staff(body, caller_id(app), door=door)


@app.post("/remove-door-staff")
def remove_door_staff(body: RemoveDoorStaffRequest) -> DoorStaffResponse:
    return door_logic.remove_door_staff(body, caller_id(app), door=door)


@app.post("/add-gate")
def add_gate(body: AddGateRequest) -> Response[GateResponse]:
    added = door_logic.add_gate(body, caller_id(app), door=door)
    return Response(status_code=201, content_type="application/json", body=added)


@app.post("/update-gate")
def update_gate(body: UpdateGateRequest) -> GateResponse:
    return door_logic.update_gate(body, caller_id(app), door=door)


@app.get("/events/<event_id>/door")
def event_door(event_id: str) -> EventDoor:
    return door_logic.event_door(event_id, caller_id(app), door=door)


@app.get("/door-events")
def door_events() -> DoorEventList:
    return door_logic.door_events(caller_id(app), door=door)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
