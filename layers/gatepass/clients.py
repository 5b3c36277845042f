"""AWS clients, created once per container by cached factories and reset only by tests.

Clients honour AWS_ENDPOINT_URL, so the same code talks to AWS, to moto in-process, or to the
local stand-in server that ``make dev`` runs.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(
    retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=3, read_timeout=10
)
# Pre-signed URLs must be SigV4 and regional; some regions otherwise sign with SigV2.
_S3_CONFIG = _CONFIG.merge(Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))


@cache
def client(service: str) -> Any:
    config = _S3_CONFIG if service == "s3" else _CONFIG
    make: Any = boto3.client
    return make(service, region_name=_region(), config=config)


@cache
def dynamodb_table(name: str) -> Any:
    return boto3.resource("dynamodb", region_name=_region(), config=_CONFIG).Table(name)


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def reset() -> None:
    """Forget cached clients (tests start each case against a fresh moto)."""
    client.cache_clear()
    dynamodb_table.cache_clear()
