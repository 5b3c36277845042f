"""The Flask web service from container/, run in this process against the local stack."""

from __future__ import annotations

import logging
import os
import secrets
import sys
from typing import Any

from devstack.template import ROOT, TemplateModel

log = logging.getLogger("devstack.web")
CONTAINER = ROOT / "container"


def available() -> bool:
    return (CONTAINER / "webapp" / "__init__.py").is_file()


def web_environment(
    model: TemplateModel, *, api_url: str, aws_url: str, database_url: str, redis_url: str
) -> dict[str, str]:
    """The variables the ECS task definition would set, pointed at the local stand-ins."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": database_url,
        "DB_SSLMODE": "disable",
        "REDIS_URL": redis_url,
        "API_URL": api_url,
        "SESSION_SIGNING_KEY_ID": model.physical_name("SessionSigningKeyAlias"),
        "SESSION_COOKIE_SECURE": "false",
        "PROXY_FIX_HOPS": "0",
        "EXTRA_CSP_ORIGINS": aws_url,
        "AWS_REGION": model.region,
        "MEDIA_BUCKET": model.physical_name("MediaBucket"),
        "UPLOADS_BUCKET": model.physical_name("UploadsBucket"),
        "TICKETS_BUCKET": model.physical_name("TicketsBucket"),
        "AWS_ENDPOINT_URL": aws_url,
        "RATELIMIT_SIGN_IN": "30 per minute",
        "LOG_LEVEL": os.environ.get("GATEPASS_WEB_LOG_LEVEL", "WARNING"),
    }


def migrate(database_url: str) -> None:
    """``alembic upgrade head`` on the read model, as the container's entrypoint does."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(CONTAINER / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(config, "head")


def has_migrations() -> bool:
    return (CONTAINER / "alembic.ini").is_file()


def create_app(env: dict[str, str]) -> Any:
    if str(CONTAINER) not in sys.path:
        sys.path.insert(0, str(CONTAINER))
    from webapp import create_app as factory
    from webapp.config import Config

    return factory(Config.from_env({**os.environ, **env}))
