"""Shared fixtures. The environment every function would get from ``template.yaml`` is set
before any handler is imported, with the subscription workflow's wait shortened to seconds."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.client import BaseClient
from botocore.loaders import Loader, create_loader

from devstack.template import ROOT, TemplateModel
from gatepass import clients, slim_models

TEST_PARAMETERS = {
    "SubscriptionPollIntervalSeconds": "1",
    "SubscriptionDeadlineSeconds": "3",
    "WaitlistOfferLifetimeSeconds": "60",
}
MODEL = TemplateModel(parameters=TEST_PARAMETERS)

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": MODEL.region,
        "AWS_REGION": MODEL.region,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "false",
        "POWERTOOLS_DEV": "false",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.update(
    {k: v for k, v in MODEL.all_function_env().items() if k != "POWERTOOLS_LOG_LEVEL"}
)

EVENTS_DIR = ROOT / "events"

# Gatepass's clients read, as in Lambda, the layer's slim copy of botocore's data (only the
# operations Gatepass calls: gatepass.slim_models), built here from the installed botocore, so a
# call the layer's models lack fails a test as it would fail a function. The tests' own setup and
# inspection (creating a table, listing a bucket) use ``aws_session()``, on botocore's full data.
SLIM_DATA = Path(tempfile.mkdtemp(prefix="gatepass-slim-")) / slim_models.FOLDER
slim_models.build(Path(Loader.BUILTIN_DATA_PATH), SLIM_DATA)
clients.SLIM_DATA = SLIM_DATA
clients.session.cache_clear()


def pytest_configure(config: pytest.Config) -> None:
    """Before any xdist worker starts: as root, pgserver runs postgres as a system user it creates
    with useradd when missing, and two workers starting PostgreSQL at once on a fresh machine
    would both try (one fails: the user exists). Create it once, here, in the main process."""
    if os.environ.get("PYTEST_XDIST_WORKER") or not hasattr(os, "geteuid") or os.geteuid():
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns that XDG_RUNTIME_DIR is unset
        from pgserver.utils import ensure_user_exists

    ensure_user_exists("pgserver")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(SLIM_DATA.parent, ignore_errors=True)


def load_event(name: str) -> dict[str, Any]:
    """An ``events/`` file exactly as ``sam local invoke -e`` would send it."""
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    return event


def _reset_caches() -> None:
    from gatepass import clients, keys, ticket_keys, tokens
    from gatepass.dal import queue as queue_store
    from gatepass.logic import queue as queue_rules

    clients.reset()
    keys.reset()
    tokens.reset()
    ticket_keys.reset()
    queue_store.reset()
    queue_rules.reset()


@cache
def _service_models() -> Loader:
    return create_loader()


def aws_session() -> boto3.Session:
    """A new boto3 session that shares one loader of botocore's service models: a fresh loader
    reads and parses the JSON model of every service again, most of a fresh world's cost."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _service_models())
    return boto3.Session(botocore_session=core)


def aws_client(service: str) -> Any:
    """A client on botocore's full data, for a test's own setup and inspection (the operations
    Gatepass never calls, which its own clients do not have)."""
    return aws_session().client(service, region_name=MODEL.region)


@pytest.fixture
def aws() -> Iterator[TemplateModel]:
    """A fresh moto with every resource of ``template.yaml``; the state machine really runs."""
    from moto import mock_aws

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        _reset_caches()
        model = TemplateModel(parameters=TEST_PARAMETERS)
        model.create_all(aws_session())
        yield model
    _reset_caches()


@pytest.fixture
def atomic_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto is not safe under concurrent calls: serialize each call into it, which is what
    DynamoDB's per-item atomicity guarantees (a read-then-write would still interleave)."""
    lock = threading.Lock()
    original = BaseClient._make_api_call

    def one_at_a_time(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        with lock:
            return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", one_at_a_time)


@pytest.fixture
def atomic_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    """Powertools' metric set is one per process (a class attribute), one per request in Lambda:
    serialize each call into it, so that one environment's flush (check, serialize, clear)
    never interleaves with another's flush or ``add_metric`` (tests/support/environments.py)."""
    from gatepass.observability import metrics

    lock = threading.Lock()
    provider = metrics.provider
    add_metric, flush_metrics = provider.add_metric, provider.flush_metrics

    def add_one_at_a_time(*args: Any, **kwargs: Any) -> None:
        with lock:
            add_metric(*args, **kwargs)

    def flush_one_at_a_time(*args: Any, **kwargs: Any) -> None:
        with lock:
            flush_metrics(*args, **kwargs)

    monkeypatch.setattr(provider, "add_metric", add_one_at_a_time)
    monkeypatch.setattr(provider, "flush_metrics", flush_one_at_a_time)


@pytest.fixture
def lambda_context() -> Any:
    from tests.support.api import LambdaContext

    return LambdaContext()


@pytest.fixture
def events_dir() -> Path:
    return EVENTS_DIR
