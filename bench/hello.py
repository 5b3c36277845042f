"""The ceiling for the web reads: a WSGI app that answers a constant, served by gunicorn with
the web service's own configuration (``container/gunicorn.conf.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = b'{"hello": "world"}'


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
    )
    return [BODY]


def _flask_app() -> Any:
    from flask import Flask, jsonify

    flask_app = Flask(__name__)

    @flask_app.get("/")
    def hello() -> Any:
        return jsonify(hello="world")

    return flask_app


# The same answer through Flask: what the framework costs before the app does anything.
flask_app = _flask_app()
