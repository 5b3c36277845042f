"""A reference function for the cold-start suite: the stack every Gatepass API function is
built on (Powertools Logger, Metrics, Tracer, the validating REST resolver and a pydantic body),
answering the subscribe sample without any Gatepass code or AWS call. Its cold start against
the floor is what the conventions cost before Gatepass does anything."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel

logger = Logger()
metrics = Metrics()
tracer = Tracer()
app = APIGatewayRestResolver(enable_validation=True)


class Body(BaseModel):
    email: str


class Answer(BaseModel):
    email: str
    status: str


@app.post("/subscribe")
def subscribe(body: Body) -> Response[Answer]:
    return Response(
        status_code=202,
        content_type="application/json",
        body=Answer(email=body.email, status="pending"),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result: dict[str, Any] = app.resolve(event, context)
    return result
