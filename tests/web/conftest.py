"""Fixtures for the web service against real PostgreSQL and Redis (see ``servers``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine

from gatepass.readmodel.cache import RedisInvalidator
from gatepass.readmodel.database import Database
from tests.web import servers
from tests.web.fake_api import SESSION_KEY, TICKETS_ORIGIN, UPLOADS_URL, FakeApi, session_token
from webapp import create_app
from webapp.config import Config

MEDIA_BUCKET = "gatepass-media-test"


@pytest.fixture(scope="session")
def servers_of_this_session() -> Iterator[None]:
    yield
    servers.stop()


@pytest.fixture(scope="session")
def database_url(servers_of_this_session: None) -> str:
    return servers.postgres_url()


@pytest.fixture(scope="session")
def cache_url(servers_of_this_session: None) -> str:
    return servers.redis_url()


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def projector_database(database_url: str) -> Iterator[Database]:
    """The read model as the projector writes to it (psycopg, one connection)."""
    database = Database(database_url)
    yield database
    database.close()


@pytest.fixture
def cache(cache_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(cache_url)
    yield client
    client.close()


@pytest.fixture
def clean(database_url: str, cache: redis.Redis) -> None:
    """Every test starts with an empty read model and an empty cache (and rate limits)."""
    servers.truncate_all(database_url)
    cache.flushdb()


@pytest.fixture
def web_config(database_url: str, cache_url: str) -> Config:
    return Config.from_env(
        {
            "SECRET_KEY": "test-secret-key-" + "x" * 32,
            "DATABASE_URL": database_url,
            "REDIS_URL": cache_url,
            "API_URL": "https://api.invalid/dev",
            "DB_POOL_SIZE": "2",
            "DB_MAX_OVERFLOW": "2",
            "CACHE_TTL_SECONDS": "300",
            # Pages read their own writes at once in tests; the interval itself (ADR 0071) is
            # tested in test_cache with a clock the test moves.
            "AVAILABILITY_SECONDS": "0",
            "RATELIMIT_SIGN_IN": "5 per minute",
            "RATELIMIT_SEARCH": "10 per minute",
            "MEDIA_BUCKET": MEDIA_BUCKET,
            "UPLOADS_BUCKET": "gatepass-uploads-test",
            "TICKETS_BUCKET": "gatepass-tickets-test",
            "TESTING": "true",
        }
    )


@pytest.fixture
def fake_api(clean: None, projector_database: Database, cache: redis.Redis) -> FakeApi:
    return FakeApi(database=projector_database, invalidator=RedisInvalidator(cache))


@pytest.fixture
def make_app(web_config: Config, fake_api: FakeApi) -> Iterator[Any]:
    built: list[Flask] = []

    def make(**changes: Any) -> Flask:
        app = create_app(
            web_config.model_copy(update=changes), api=fake_api, session_key=lambda: SESSION_KEY
        )
        built.append(app)
        return app

    yield make
    for app in built:
        app.extensions["gatepass"].read_model.engine.dispose()


@pytest.fixture
def app(make_app: Any) -> Flask:
    built: Flask = make_app()
    return built


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    # As behind the ALB: TLS ends there and X-Forwarded-Proto says so.
    test_client = app.test_client()
    test_client.environ_base["HTTP_X_FORWARDED_PROTO"] = "https"
    return test_client


def sign_in_as(client: FlaskClient, email: str) -> None:
    """A session as the sign-in flow leaves it (the flow itself is tested in test_sign_in)."""
    client.set_cookie("__Host-gp_session", session_token(email), domain="localhost", secure=True)


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page carries a form with a CSRF token"
    return found.group(1)


def page_token(client: FlaskClient, path: str = "/signin") -> str:
    """Open a page with a form as a browser would and return the form token it carries (the
    anonymous catalog has no form: the sign-in page is the first that asks for one)."""
    response = client.get(path)
    assert response.status_code == 200
    return csrf_from(response.get_data(as_text=True))


__all__ = ["MEDIA_BUCKET", "TICKETS_ORIGIN", "UPLOADS_URL", "csrf_from", "page_token", "sign_in_as"]


@pytest.fixture
def projector(
    clean: None, database_url: str, cache_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """The projector function wired to this session's PostgreSQL and Redis (its read model
    connection is disposed of afterwards)."""
    from functions.projector import app as projector_app
    from gatepass.settings.projector import ProjectorSettings

    settings = ProjectorSettings.load(
        environ={"DATABASE_URL": database_url, "REDIS_URL": cache_url}
    )
    monkeypatch.setattr(projector_app, "settings", settings)
    projector_app.read_model.cache_clear()
    yield projector_app
    projector_app.read_model()[0].close()
    projector_app.read_model.cache_clear()
