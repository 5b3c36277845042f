"""Clients come from a session whose model loader looks only for the services Gatepass calls
(``gatepass.clients.SERVICES``): the same models as botocore's own loader, without listing
every service botocore ships at each cold start."""

from __future__ import annotations

import re
from pathlib import Path

import botocore.loaders
import botocore.session
import pytest
from botocore.exceptions import UnknownServiceError

from gatepass import clients

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
# clients.client("s3"), clients.client_of("dynamodb"), client("kms") after a from-import; not
# boto3.client(...), which makes its client from boto3's own session (the read model's IAM token).
CLIENT_CALL = re.compile(r"(?<!boto3\.)\bclient(?:_of)?\(\s*\"([a-z0-9-]+)\"")


def _services_called() -> set[str]:
    called: set[str] = set()
    for folder in ("layers/gatepass", "functions"):
        for path in (ROOT / folder).rglob("*.py"):
            called.update(CLIENT_CALL.findall(path.read_text()))
    return called


def test_every_service_the_code_calls_is_one_the_loader_looks_for() -> None:
    # Given the code's client calls, When they are gathered, Then the loader knows each service.
    called = _services_called()
    assert {"dynamodb", "s3", "kms"} <= called
    assert called <= set(clients.SERVICES), called - set(clients.SERVICES)


def test_the_loader_finds_the_same_models_as_botocores_own() -> None:
    # Given a fresh copy of Gatepass's loader and botocore's default one (fresh: every S3 call
    # edits the operation's model in the cache of the loader that made its client, as botocore
    # does for any loader, so the shared session's copy differs after any test's S3 call)
    shared = clients.session()._session.get_component("data_loader")
    ours = type(shared)(
        extra_search_paths=[
            path
            for path in shared.search_paths
            if path
            not in (
                botocore.loaders.Loader.CUSTOMER_DATA_PATH,
                botocore.loaders.Loader.BUILTIN_DATA_PATH,
                str(clients.SLIM_DATA),
            )
        ]
    )
    theirs = botocore.session.get_session().get_component("data_loader")
    # When each lists the services it can load, Then Gatepass's has exactly its own services
    assert ours.list_available_services("service-2") == sorted(clients.SERVICES)
    assert set(clients.SERVICES) <= set(theirs.list_available_services("service-2"))
    # And each service model and endpoint ruleset is the one botocore loads
    for service in clients.SERVICES:
        for kind in ("service-2", "endpoint-rule-set-1"):
            assert ours.load_service_model(service, kind) == theirs.load_service_model(
                service, kind
            )


def test_a_service_gatepass_does_not_call_is_named_in_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a region and credentials
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # When a client of a service outside the list is asked for, Then botocore says which
    with pytest.raises(UnknownServiceError, match="ec2"):
        clients.client_of("ec2")
