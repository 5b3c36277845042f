"""Logger, Tracer and Metrics, created once. Service name and namespace come from the
POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE variables set in the template's Globals.

Every handler uses the same decorator order::

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    @metrics.log_metrics
    @tracer.capture_lambda_handler
    def lambda_handler(event, context): ...
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
tracer = Tracer()
metrics = Metrics()

__all__ = ["MetricUnit", "correlation_paths", "logger", "metrics", "tracer"]
