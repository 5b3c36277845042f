"""The SharedLayer's slim copy of botocore's data (``gatepass.slim_models``): every client
Gatepass makes from it is the client botocore's full data makes, less the documentation and the
operations Gatepass does not call; every operation the deployed code names is kept."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import botocore
import botocore.loaders
import botocore.session
import pytest
from botocore import xform_name
from botocore.regions import EndpointResolver

from gatepass import clients, slim_models
from tests.conftest import SLIM_DATA

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
BOTOCORE_DATA = Path(botocore.loaders.Loader.BUILTIN_DATA_PATH)
# One region of each partition's kind, and two of the commercial one.
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1")


@pytest.fixture(scope="module")
def slim() -> Path:
    """The slim data the test session built from this botocore (tests/conftest.py)."""
    return SLIM_DATA


def _loader(slim: Path | None) -> Any:
    return clients._ServicesLoader(slim=slim, extra_search_paths=[])


def _has_prose(value: Any) -> bool:
    if isinstance(value, dict):
        texts = (value[key] for key in slim_models.PROSE & value.keys())
        return any(isinstance(t, str) and t for t in texts) or any(map(_has_prose, value.values()))
    if isinstance(value, list):
        return any(map(_has_prose, value))
    return False


def _shape_names(value: Any) -> set[str]:
    """Every shape name an operation or a shape refers to."""
    if isinstance(value, dict):
        named = {value["shape"]} if isinstance(value.get("shape"), str) else set()
        return named.union(*map(_shape_names, value.values()))
    if isinstance(value, list):
        return set().union(*map(_shape_names, value))
    return set()


def test_each_model_is_botocores_with_only_what_gatepass_calls(slim: Path) -> None:
    # Given the slim data beside botocore's, When each service's model is loaded from both
    ours, theirs = _loader(slim), _loader(None)
    for service in slim_models.SERVICES:
        slim_model = ours.load_service_model(service, "service-2")
        full_model = theirs.load_service_model(service, "service-2")
        # Then it keeps the operations Gatepass calls, those botocore calls for it, and no other
        kept = set(slim_model["operations"])
        wanted = {*slim_models.OPERATIONS[service], *slim_models.SDK_OPERATIONS.get(service, ())}
        discovery = {n for n, op in full_model["operations"].items() if op.get("endpointoperation")}
        assert kept == wanted | discovery
        assert len(kept) < len(full_model["operations"])
        # And every kept operation, shape and error is botocore's less its prose, nothing else
        assert _has_prose(full_model)
        assert not _has_prose(slim_model)
        expected = slim_models.without_prose(full_model)
        assert {k: v for k, v in slim_model.items() if k not in ("operations", "shapes")} == {
            k: v for k, v in expected.items() if k not in ("operations", "shapes")
        }
        for name in kept:
            assert slim_model["operations"][name] == expected["operations"][name]
        for name, shape in slim_model["shapes"].items():
            assert shape == expected["shapes"][name]
        # And every shape a kept one names is there, and every error the service has
        assert _shape_names(slim_model["operations"]) <= slim_model["shapes"].keys()
        assert _shape_names(slim_model["shapes"]) <= slim_model["shapes"].keys()
        errors = {n for n, shape in full_model["shapes"].items() if shape.get("exception")}
        assert errors <= slim_model["shapes"].keys()
        assert ours.load_service_model(service, "endpoint-rule-set-1") == (
            theirs.load_service_model(service, "endpoint-rule-set-1")
        )
        # And it was read from the slim folder, which the loader takes for botocore's own
        _, path = ours.load_data_with_path(
            f"{service}/{ours.determine_latest_version(service, 'service-2')}/service-2"
        )
        assert path.startswith(str(slim))
        assert ours.is_builtin_path(path)


def _operation_names_in(folders: tuple[str, ...]) -> dict[str, set[str]]:
    """Every attribute and text in the deployed code that is a client method's name (``put_item``,
    ``"get_object"`` for a pre-signed URL, ``"scan"`` for a paginator), with where it is."""
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Attribute):
                    found.setdefault(node.attr, set()).add(str(path.relative_to(ROOT)))
                elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found.setdefault(node.value, set()).add(str(path.relative_to(ROOT)))
    return found


def _by_method_name() -> dict[str, set[tuple[str, str]]]:
    """Every operation of the services Gatepass calls (botocore's full models) as (service,
    operation), by the name of its client method."""
    theirs = _loader(None)
    methods: dict[str, set[tuple[str, str]]] = {}
    for service in slim_models.SERVICES:
        for operation in theirs.load_service_model(service, "service-2")["operations"]:
            methods.setdefault(xform_name(operation), set()).add((service, operation))
    return methods


def test_every_operation_the_code_names_is_kept() -> None:
    # Given every operation of every service's full model, by the name its client method has
    methods = _by_method_name()
    # When the deployed code (the layer, the functions, the web service) is searched for them
    named = _operation_names_in(("layers/gatepass", "functions", "container/webapp"))
    called = {name: methods[name] for name in named.keys() & methods.keys()}
    assert {"put_item", "transact_write_items", "put_object", "get_object", "sign"} <= set(called)
    # Then each one is kept in every service whose client has that method: a name found where
    # it is not a call (a key's own sign(), a route's name) costs a little model, never a call
    missing = {
        (service, operation, *sorted(named[name]))
        for name, owners in called.items()
        for service, operation in owners
        if operation not in slim_models.OPERATIONS[service]
    }
    assert not missing, missing


def test_every_operation_botocore_calls_by_name_is_kept() -> None:
    # Given the operations of the services Gatepass calls, by method name and by model name
    owners = _by_method_name()
    for pairs in list(owners.values()):
        for service, operation in pairs:
            owners.setdefault(operation, set()).add((service, operation))
    # When botocore's own code is searched for a model looked up by an operation's name
    # (``operation_model("CreateBucket")``) and for a client's method it calls itself
    # (``self._client.head_bucket(...)``)
    named: set[str] = set()
    for path in Path(botocore.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            first = node.args[0] if node.args else None
            if node.func.attr == "operation_model" and isinstance(first, ast.Constant):
                named.add(str(first.value))
            elif "client" in ast.unparse(node.func.value).lower():
                named.add(node.func.attr)
    found = {pair for name in named & owners.keys() for pair in owners[name]}
    assert ("s3", "CreateBucket") in found
    # Then each is kept, as one botocore calls for Gatepass
    for service, operation in found:
        assert operation in slim_models.SDK_OPERATIONS.get(service, ()), (service, operation)


def test_an_operation_the_model_lacks_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an operation name the service's model does not have
    monkeypatch.setitem(slim_models.OPERATIONS, "s3", ("PutObject", "PutObjectz"))
    model = _loader(None).load_service_model("s3", "service-2")
    # Then the build refuses, naming it
    with pytest.raises(KeyError, match="PutObjectz"):
        slim_models.kept_operations("s3", model)


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


def _described(shape: Any, depth: int = 0) -> Any:
    """A shape as its name, type and members, members in turn (cut at a recursive shape's
    sixth level); what botocore serialises and parses by."""
    if shape is None or depth > 6:
        return None
    members = getattr(shape, "members", None) or {}
    inner = [getattr(shape, part, None) for part in ("member", "key", "value")]
    return (
        shape.name,
        shape.type_name,
        sorted(shape.serialization.items()),
        {name: _described(member, depth + 1) for name, member in members.items()},
        [_described(part, depth + 1) for part in inner if part is not None],
    )


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
        # Then it talks to the same endpoint, signs as the same service, makes the same errors
        assert ours.meta.endpoint_url == theirs.meta.endpoint_url
        assert ours.meta.partition == theirs.meta.partition
        assert ours.meta.service_model.signing_name == theirs.meta.service_model.signing_name
        assert _builtins(ours) == _builtins(theirs)
        assert sorted(ours.exceptions._code_to_exception) == sorted(
            theirs.exceptions._code_to_exception
        )
        # And has a method for each operation Gatepass calls, with the same input and output
        for operation in slim_models.OPERATIONS[service]:
            method = xform_name(operation)
            assert callable(getattr(ours, method)), method
            mine = ours.meta.service_model.operation_model(operation)
            other = theirs.meta.service_model.operation_model(operation)
            assert _described(mine.input_shape) == _described(other.input_shape)
            assert _described(mine.output_shape) == _described(other.output_shape)
            assert mine.http == other.http
        # And none for an operation it does not call
        unused = set(theirs.meta.service_model.operation_names) - set(
            ours.meta.service_model.operation_names
        )
        assert unused
        assert not any(hasattr(ours, xform_name(operation)) for operation in unused)


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


def test_a_presigned_s3_post_is_the_same(slim: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given S3 clients as Gatepass makes them, from each data (an upload form, as create-event's)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    posts = []
    for data in (slim, None):
        s3 = _session(data).create_client("s3", region_name="eu-west-1", config=clients._S3_CONFIG)
        post = s3.generate_presigned_post(
            Bucket="uploads",
            Key="u/1.png",
            Fields={"Content-Type": "image/png"},
            Conditions=[{"Content-Type": "image/png"}, ["content-length-range", 1, 10]],
            ExpiresIn=60,
        )
        posts.append((post["url"], sorted(post["fields"])))
    # Then both post to the same bucket with the same fields
    assert posts[0] == posts[1]
    assert posts[0][0] == "https://uploads.s3.eu-west-1.amazonaws.com/"


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
