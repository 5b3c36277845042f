"""Logger, Tracer and Metrics, created once. Service name and namespace come from the
POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE variables set in the template's Globals.

Every handler uses the same decorator order::

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    @metrics.log_metrics
    @tracer.capture_lambda_handler
    def lambda_handler(event, context): ...
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
# Only botocore: Tracer() would call X-Ray's patch_all, which imports and patches every library
# it supports that is installed (sqlite3 in every function, SQLAlchemy and psycopg in the
# projector) at cold start, whether or not the function uses them. What uses a database asks
# for its drivers with trace_database().
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()
DATABASE_MODULES = ("psycopg", "sqlalchemy_core")


def trace_database() -> None:
    """Trace SQL (the read model's psycopg and SQLAlchemy) as patch_all did; call before the
    first connection. Like patch_all it skips what cannot be patched (X-Ray's psycopg patch
    also wants psycopg_pool, which the projector does not ship) instead of failing, and X-Ray
    remembers what it patched, so calling twice is harmless."""
    if not tracer.disabled:
        patch: Any = tracer.provider.patch  # X-Ray's patch(), which takes raise_errors
        patch(DATABASE_MODULES, raise_errors=False)


__all__ = ["MetricUnit", "correlation_paths", "logger", "metrics", "trace_database", "tracer"]
