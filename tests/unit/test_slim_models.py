"""The SharedLayer's slim copy of botocore's data (``gatepass.slim_models``): every client
Gatepass makes from it is the client botocore's full data makes, less the documentation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.loaders
import botocore.session
import pytest
from botocore.regions import EndpointResolver

from gatepass import clients, slim_models

pytestmark = pytest.mark.unit

BOTOCORE_DATA = Path(botocore.loaders.Loader.BUILTIN_DATA_PATH)
# One region of each partition's kind, and two of the commercial one.
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1")


@pytest.fixture(scope="module")
def slim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("slim") / slim_models.FOLDER
    slim_models.build(BOTOCORE_DATA, dest)
    return dest


def _loader(slim: Path | None) -> Any:
    return clients._ServicesLoader(slim=slim, extra_search_paths=[])


def _has_prose(value: Any) -> bool:
    if isinstance(value, dict):
        texts = (value[key] for key in slim_models.PROSE & value.keys())
        return any(isinstance(t, str) and t for t in texts) or any(map(_has_prose, value.values()))
    if isinstance(value, list):
        return any(map(_has_prose, value))
    return False


def test_each_model_is_botocores_without_its_documentation(slim: Path) -> None:
    # Given the slim data beside botocore's, When each service's model is loaded from both
    ours, theirs = _loader(slim), _loader(None)
    for service in slim_models.SERVICES:
        slim_model = ours.load_service_model(service, "service-2")
        full_model = theirs.load_service_model(service, "service-2")
        # Then the slim one is the full one with its prose taken out, and nothing else
        assert _has_prose(full_model)
        assert not _has_prose(slim_model)
        assert slim_model == slim_models.without_prose(full_model)
        assert ours.load_service_model(service, "endpoint-rule-set-1") == (
            theirs.load_service_model(service, "endpoint-rule-set-1")
        )
        # And it was read from the slim folder, which the loader takes for botocore's own
        _, path = ours.load_data_with_path(
            f"{service}/{ours.determine_latest_version(service, 'service-2')}/service-2"
        )
        assert path.startswith(str(slim))
        assert ours.is_builtin_path(path)


def test_what_the_slim_data_leaves_out_is_still_found_in_botocores(slim: Path) -> None:
    # Given a loader with the slim data, When it is asked for files the slim copy has not
    ours = _loader(slim)
    # Then they come from botocore's folder (waiters, paginators)
    assert ours.load_service_model("dynamodb", "waiters-2")["waiters"]["TableExists"]
    assert ours.load_service_model("s3", "paginators-1")["pagination"]["ListObjectsV2"]
    # And the slim folder holds only the services Gatepass calls
    assert sorted(p.name for p in slim.iterdir() if p.is_dir()) == sorted(slim_models.SERVICES)


def _resolved(resolver: EndpointResolver, prefix: str, region: str, **variant: bool) -> Any:
    try:
        return resolver.construct_endpoint(prefix, region, **variant)
    except Exception as exc:  # a variant a region lacks: the same refusal from both
        return (type(exc).__name__, str(exc))


def test_every_partition_resolves_gatepass_services_as_botocore_does(slim: Path) -> None:
    # Given both endpoints.json files
    full = json.loads((BOTOCORE_DATA / "endpoints.json").read_text())
    trimmed = json.loads((slim / "endpoints.json").read_text())
    ours, theirs = EndpointResolver(trimmed, True), EndpointResolver(full, True)
    prefixes = {
        json.loads((slim / s / p.name / "service-2.json").read_text())["metadata"]["endpointPrefix"]
        for s in slim_models.SERVICES
        for p in (slim / s).iterdir()
    }
    assert {"dynamodb", "s3", "email", "states"} <= prefixes
    # Then the partitions are the same, and a tenth of the size or less
    assert [p["partition"] for p in trimmed["partitions"]] == [
        p["partition"] for p in full["partitions"]
    ]
    assert len(json.dumps(trimmed)) * 10 < len(json.dumps(full))
    # And every region of every partition resolves each service the same, with every variant
    for partition in full["partitions"]:
        for region in partition["regions"]:
            for prefix in prefixes:
                for variant in ({}, {"use_fips_endpoint": True}, {"use_dualstack_endpoint": True}):
                    assert _resolved(ours, prefix, region, **variant) == (
                        _resolved(theirs, prefix, region, **variant)
                    ), (prefix, region, variant)
            assert ours.get_partition_for_region(region) == theirs.get_partition_for_region(region)


def _session(slim: Path | None) -> Any:
    core = botocore.session.get_session()
    core.register_component("data_loader", _loader(slim))
    return core


def _builtins(client: Any) -> dict[str, Any]:
    """What the client hands its endpoint rules (SDK::Endpoint among them), less the deferred
    account id, a function made per client."""
    builtins = client._ruleset_resolver._builtins
    return {str(key): value for key, value in builtins.items() if not callable(value)}


@pytest.mark.parametrize("service", slim_models.SERVICES)
def test_a_client_from_the_slim_data_is_the_same_client(
    slim: Path, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given credentials and no endpoint override
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for region in REGIONS:
        # When the same client is made from each data
        ours = _session(slim).create_client(service, region_name=region)
        theirs = _session(None).create_client(service, region_name=region)
        # Then it talks to the same endpoint, signs as the same service, knows the same calls
        assert ours.meta.endpoint_url == theirs.meta.endpoint_url
        assert ours.meta.partition == theirs.meta.partition
        assert ours.meta.service_model.signing_name == theirs.meta.service_model.signing_name
        assert ours.meta.service_model.operation_names == theirs.meta.service_model.operation_names
        assert _builtins(ours) == _builtins(theirs)


def test_a_presigned_s3_url_is_the_same(slim: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given S3 clients, virtual-hosted and SigV4 as Gatepass makes them, from each data
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    config = clients._S3_CONFIG
    urls = []
    for data in (slim, None):
        s3 = _session(data).create_client("s3", region_name="eu-west-1", config=config)
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": "tickets", "Key": "a/b.png"}, ExpiresIn=60
        )
        urls.append(url.split("?")[0])
    # Then both point at the same object, by its regional name
    assert urls[0] == urls[1] == "https://tickets.s3.eu-west-1.amazonaws.com/a/b.png"


def test_gatepass_reads_the_slim_data_when_the_layer_has_it(
    slim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the layer's folder present (as layers/Makefile builds it)
    monkeypatch.setattr(clients, "SLIM_DATA", slim)
    clients.session.cache_clear()
    try:
        loader = clients.session()._session.get_component("data_loader")
        # Then the session's loader searches it just before botocore's own folder
        paths = loader.search_paths
        assert paths.index(str(slim)) == paths.index(loader.BUILTIN_DATA_PATH) - 1
        assert paths.index(loader.CUSTOMER_DATA_PATH) < paths.index(str(slim))
    finally:
        clients.session.cache_clear()


def test_the_command_line_builds_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the build runs as layers/Makefile runs it
    assert slim_models.main([str(BOTOCORE_DATA), str(tmp_path / "out")]) == 0
    # Then it names what it wrote, every file there
    written = capsys.readouterr().out.split()
    assert sorted(written) == sorted(str(p) for p in (tmp_path / "out").rglob("*.json"))
    assert len(written) == 2 * len(slim_models.SERVICES) + 1
    # And a wrong call says how to call it
    assert slim_models.main([]) == 2
