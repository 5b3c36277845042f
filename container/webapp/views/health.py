"""Liveness for the load balancer and ECS, and a deep diagnostic for operators.

``/livez`` asks only whether this process can serve: it touches no store, so a database or cache
outage never marks every task unhealthy (the site degrades instead: ``webapp.degraded``, and rate
limits hold in each process). ``/healthz`` checks the stores and answers 503 when one is away;
it is for dashboards and people, not for taking tasks out of service.
"""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from webapp.services import services

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/livez")
def livez() -> ResponseReturnValue:
    return jsonify({"status": "ok"}), 200, {"Cache-Control": "no-store"}


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    checks: dict[str, str] = {}
    for name, probe in (("database", services().read_model.ping), ("cache", services().cache.ping)):
        try:
            probe()
            checks[name] = "ok"
        except Exception:
            log.warning("health check: %s is not answering", name, exc_info=True)
            checks[name] = "unavailable"
    healthy = all(state == "ok" for state in checks.values())
    body = {"status": "ok" if healthy else "unavailable", **checks}
    return jsonify(body), 200 if healthy else 503, {"Cache-Control": "no-store"}
