"""The load balancer's health check: the database and the cache both answer."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from webapp.services import services

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


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
    return jsonify(body), 200 if healthy else 503
