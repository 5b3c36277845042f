"""Gatepass web: the site attendees and organizers use, served by gunicorn.

``create_app(config)`` builds the app from a ``Config`` (by default read from the environment,
see ``webapp.config``). Reads come from the PostgreSQL read model through a Redis cache; writes
go to the serverless API with the user's session token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Flask, Response, g
from werkzeug.middleware.proxy_fix import ProxyFix

from gatepass import tokens
from webapp import errors, security
from webapp.api_client import ApiClient, HttpApiClient
from webapp.auth import current_viewer, keep_session_cookie
from webapp.cache import ReadCache, redis_client
from webapp.config import Config, WebConfigurationError
from webapp.degraded import DEGRADED_HEADER, LastGoodCopies
from webapp.extensions import limiter, limiter_storage_uri
from webapp.generations import CatalogGeneration
from webapp.media import CdnMediaUrls, MediaUrls, NoMedia, S3MediaUrls
from webapp.pagecache import AnonymousPageCache
from webapp.readmodel import ReadModel, make_engine
from webapp.services import Availability, Services
from webapp.views import oidc
from webapp.waitroom import Queues, QueueTokens

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider


def _kms_session_key(key_id: str) -> Callable[[], tokens.VerifyingKey]:
    # Only the public half, fetched once per worker: the web can verify sessions, never mint one.
    return lambda: tokens.kms_verifying_key(key_id)


def create_app(
    config: Config | None = None,
    *,
    api: ApiClient | None = None,
    session_key: Callable[[], tokens.VerifyingKey] | None = None,
    media: MediaUrls | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Flask:
    """The web app. ``api``, ``session_key`` and ``media`` replace the AWS-backed defaults
    (tests and local development pass their own); ``tracer_provider`` traces the app with it
    whatever ``TRACING`` says (tests read its spans)."""
    config = config or Config.from_env()
    logging.basicConfig(level=config.LOG_LEVEL)
    app = Flask(__name__)
    app.config.from_mapping(config.as_flask())
    app.config["RATELIMIT_STORAGE_URI"] = limiter_storage_uri(config.REDIS_URL)
    app.config["RATELIMIT_STORAGE_OPTIONS"] = {"socket_timeout": 1, "socket_connect_timeout": 1}
    # If Redis is away, every worker counts in its own memory until Redis answers again: the
    # limits keep holding (per process) instead of failing open.
    app.config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True
    app.config["RATELIMIT_SWALLOW_ERRORS"] = False
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    cache_client = redis_client(config.REDIS_URL)
    # Inside ProxyFix, so that it sees the client's scheme and host as the app does.
    app.wsgi_app = AnonymousPageCache(  # type: ignore[method-assign]
        app.wsgi_app,
        CatalogGeneration(cache_client),
        ttl_seconds=config.CACHE_TTL_SECONDS,
        fresh_seconds=config.AVAILABILITY_SECONDS,
    )
    if config.PROXY_FIX_HOPS:
        hops = config.PROXY_FIX_HOPS
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )

    if session_key is None:
        if not config.SESSION_SIGNING_KEY_ID:
            raise WebConfigurationError("SESSION_SIGNING_KEY_ID must name the session-signing key")
        session_key = _kms_session_key(config.SESSION_SIGNING_KEY_ID)
    if media is None:
        if config.MEDIA_BASE_URL:
            media = CdnMediaUrls(config.MEDIA_BASE_URL)
        elif config.MEDIA_BUCKET:
            media = S3MediaUrls(config.MEDIA_BUCKET, config.MEDIA_URL_TTL_SECONDS)
        else:
            media = NoMedia()
    read_model = ReadModel(make_engine(config))
    api = api or HttpApiClient(config.API_URL, config.API_TIMEOUT_SECONDS)
    app.extensions["gatepass"] = Services(
        read_model=read_model,
        cache=ReadCache(cache_client, config.CACHE_TTL_SECONDS),
        api=api,
        media=media,
        session_key=session_key,
        copies=LastGoodCopies(cache_client),
        availability=Availability(read_model.availability, config.AVAILABILITY_SECONDS),
        # Whether a sale is behind a queue is read as seat counts are: at most once per
        # AVAILABILITY_SECONDS per worker and event.
        queues=Queues(api.event_queue, config.AVAILABILITY_SECONDS),
        queue_tokens=QueueTokens(cache_client),
    )

    @app.after_request
    def _say_degraded(response: Response) -> Response:
        if g.get("gatepass_degraded"):
            response.headers[DEGRADED_HEADER] = g.gatepass_degraded
        return response

    app.after_request(keep_session_cookie)
    limiter.init_app(app)
    oidc.init_app(app)
    security.init_app(app, config)
    errors.init_app(app)
    app.jinja_env.globals["current_viewer"] = current_viewer

    from webapp.views import (
        account,
        catalog,
        door,
        health,
        manage,
        organizer,
        queue,
        signin,
        signup,
        tickets,
        waitlist,
    )
    from webapp.views import api as api_views

    for blueprint in (
        catalog.bp,
        signin.bp,
        signup.bp,
        account.bp,
        oidc.bp,
        tickets.bp,
        waitlist.bp,
        queue.bp,
        organizer.bp,
        manage.bp,
        door.bp,
        api_views.bp,
        health.bp,
    ):
        app.register_blueprint(blueprint)
    limiter.exempt(health.bp)
    if tracer_provider is None and config.TRACING == "otlp":
        from webapp import tracing

        tracer_provider = tracing.otlp_provider(
            config.OTEL_EXPORTER_OTLP_ENDPOINT, config.TRACING_SAMPLE_RATIO
        )
    if tracer_provider is not None:
        from webapp import tracing

        tracing.instrument(app, provider=tracer_provider)
    return app
