"""Flask extensions, created unbound and attached to each app by ``create_app``."""

from __future__ import annotations

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# The client address comes from ProxyFix (X-Forwarded-For as set by the ALB).
limiter = Limiter(key_func=get_remote_address, headers_enabled=True, strategy="fixed-window")


def sign_in_limit() -> str:
    return str(current_app.config["RATELIMIT_SIGN_IN"])


def search_limit() -> str:
    return str(current_app.config["RATELIMIT_SEARCH"])


def not_a_search() -> bool:
    return not request.args.get("q", "").strip()


def limiter_storage_uri(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url
