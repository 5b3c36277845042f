"""AWS clients, created once per container by cached factories and reset only by tests.

Clients honour AWS_ENDPOINT_URL, so the same code talks to AWS, to moto in-process, or to the
local stand-in server that ``make dev`` runs.

Tables are low-level DynamoDB clients, not ``boto3.resource``: a resource loads a second model
(the resource definitions) and builds its classes at the first call, the largest single cost of
a function's first event (docs/performance.md). ``dynamodb_table`` answers a ``Table`` with the
methods the data layer uses, taking and giving Python values and ``boto3.dynamodb.conditions``
as the resource's table does, through the same transformation boto3 registers for resources.

Every DynamoDB client made here answers a request that AWS still throttles after the SDK's own
retries (a partition or table out of read or write capacity, a request-rate limit, a service
briefly unwell) with ``StorageUnavailable``, whatever the operation: reads, writes, queries and
batches alike, so every function answers it as 503 (``gatepass.http``), never as a 500. The data
layer imports the class from ``gatepass.dal.storage``.

Clients come from one boto3 session whose model loader knows only the services Gatepass calls
(``SERVICES``). botocore's own loader checks a service's name against every service it ships
before it loads a model, listing each of their folders on disk (some 430 of them, once for the
service model and once for the endpoint rules): about a tenth of a cold start's boto3 work,
spent on a check whose answer is fixed here. Where the SharedLayer carries the slim copy of
botocore's data for those services (``gatepass.slim_models``: no documentation, no other
services' endpoints), the loader reads it first and botocore takes it for its own data; parsing
it instead of the full files is most of what making the first client costs.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.loaders import Loader

from gatepass.slim_models import FOLDER

# The services Gatepass makes clients for (tests/unit/test_clients.py checks the code against it).
from gatepass.slim_models import SERVICES as SERVICES

_CONFIG = Config(
    retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=3, read_timeout=10
)
# Pre-signed URLs must be SigV4 and regional; some regions otherwise sign with SigV2.
_S3_CONFIG = _CONFIG.merge(Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))
# What DynamoDB answers, once botocore's retries are spent, when it cannot serve the request now
# although nothing is wrong with it: capacity or request-rate limits, or a transient fault.
BUSY_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


class StorageUnavailable(Exception):
    """Storage refused or failed to do what was asked; trying again later may work.

    ``details`` adds fields to the error body (for example how many items were not written);
    ``throttled`` says AWS refused for capacity (the request itself was fine), not a conflict.
    """

    def __init__(
        self, message: str, *, details: dict[str, Any] | None = None, throttled: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.throttled = throttled


class _BusyIsUnavailable:
    """Mixed into DynamoDB client classes: a busy answer becomes ``StorageUnavailable``."""

    def _make_api_call(self, operation_name: str, api_params: dict[str, Any]) -> Any:
        base: Any = super()
        try:
            return base._make_api_call(operation_name, api_params)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) not in BUSY_CODES:
                raise
            raise StorageUnavailable(
                "The service is busy right now; please try again in a moment.", throttled=True
            ) from exc


# Built into the SharedLayer (layers/Makefile); a checkout has none and reads botocore's own.
SLIM_DATA = Path(__file__).with_name(FOLDER)


class _ServicesLoader(Loader):
    """botocore's loader, with ``SERVICES`` as the services it looks for on its search paths,
    and ``slim`` (a slim copy of botocore's data) searched just before botocore's own folder
    (after ``AWS_DATA_PATH`` and ``~/.aws/models``, which still override it) and taken as it."""

    def __init__(self, *, slim: Path | None = None, extra_search_paths: list[str]) -> None:
        self._slim = str(slim) if slim is not None else None
        super().__init__(extra_search_paths=extra_search_paths)
        if self._slim is not None:
            self.search_paths.insert(self.search_paths.index(self.BUILTIN_DATA_PATH), self._slim)

    def is_builtin_path(self, path: str) -> bool:
        # botocore hands endpoints.json's legacy answer to the endpoint rules when the file is
        # not its own; the slim copy is its own data, less the prose and the other services.
        if self._slim is not None and os.path.commonpath((self._slim, path)) == self._slim:
            return True
        return bool(super().is_builtin_path(path))

    def list_available_services(self, type_name: str) -> list[str]:
        found = {
            service
            for service in SERVICES
            for path in self.search_paths
            if os.path.isdir(folder := os.path.join(path, service))
            and any(
                self.file_loader.exists(os.path.join(folder, version, type_name))
                for version in os.listdir(folder)
            )
        }
        return sorted(found)


@cache
def session() -> boto3.Session:
    """The session every client here is made from (boto3's defaults, the loader above)."""
    core = botocore.session.get_session()
    data_path = core.get_config_variable("data_path")
    core.register_component(
        "data_loader",
        _ServicesLoader(
            slim=SLIM_DATA if SLIM_DATA.is_dir() else None,
            extra_search_paths=data_path.split(os.pathsep) if data_path else [],
        ),
    )
    return boto3.Session(botocore_session=core)


_GUARDED: dict[type, type] = {}


def _guarded(client_class: type) -> type:
    """``client_class`` with ``_BusyIsUnavailable`` mixed in (one per botocore client class)."""
    if client_class not in _GUARDED:
        _GUARDED[client_class] = type(client_class.__name__, (_BusyIsUnavailable, client_class), {})
    return _GUARDED[client_class]


@cache
def client(service: str) -> Any:
    return client_of(service)


def client_of(service: str) -> Any:
    """A new client (``client`` caches one per service)."""
    config = _S3_CONFIG if service == "s3" else _CONFIG
    make: Any = session().client
    made = make(service, region_name=_region(), config=config)
    if service == "dynamodb":
        made.__class__ = _guarded(type(made))
    return made


class Table:
    """One table, addressed with Python values (``meta.client`` too, as the resource's)."""

    def __init__(self, name: str, documents: Any) -> None:
        self.name = self.table_name = name
        self.meta = _Meta(documents)

    def get_item(self, **params: Any) -> Any:
        return self.meta.client.get_item(TableName=self.name, **params)

    def put_item(self, **params: Any) -> Any:
        return self.meta.client.put_item(TableName=self.name, **params)

    def update_item(self, **params: Any) -> Any:
        return self.meta.client.update_item(TableName=self.name, **params)

    def delete_item(self, **params: Any) -> Any:
        return self.meta.client.delete_item(TableName=self.name, **params)

    def query(self, **params: Any) -> Any:
        return self.meta.client.query(TableName=self.name, **params)

    def scan(self, **params: Any) -> Any:
        return self.meta.client.scan(TableName=self.name, **params)


class _Meta:
    def __init__(self, client: Any) -> None:
        self.client = client


@cache
def dynamodb_documents() -> Any:
    """A DynamoDB client that takes and answers Python values (what ``boto3.resource`` registers
    on its own client), apart from ``client("dynamodb")``, which speaks DynamoDB JSON."""
    from boto3.dynamodb.transform import TransformationInjector, copy_dynamodb_params

    documents = client_of("dynamodb")
    events = documents.meta.events
    injector = TransformationInjector()
    events.register(
        "provide-client-params.dynamodb", copy_dynamodb_params, unique_id="gp-params-copy"
    )
    events.register(
        "before-parameter-build.dynamodb",
        injector.inject_condition_expressions,
        unique_id="gp-condition-expression",
    )
    events.register(
        "before-parameter-build.dynamodb",
        injector.inject_attribute_value_input,
        unique_id="gp-attr-value-input",
    )
    events.register(
        "after-call.dynamodb", injector.inject_attribute_value_output, unique_id="gp-attr-output"
    )
    return documents


@cache
def dynamodb_table(name: str) -> Table:
    return Table(name, dynamodb_documents())


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def reset() -> None:
    """Forget cached clients (tests start each case against a fresh moto)."""
    client.cache_clear()
    dynamodb_documents.cache_clear()
    dynamodb_table.cache_clear()
