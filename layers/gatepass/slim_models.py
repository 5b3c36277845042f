"""botocore's data for the services Gatepass calls, without what its clients never read.

A client's first cost after importing the SDK is parsing JSON: botocore's ``endpoints.json``
(1.2 MB, every service in every partition) for its legacy endpoint resolver, then the service's
model (``service-2``, gzipped, mostly documentation: 0.56 MB for DynamoDB, 1.4 MB for S3) and its
endpoint rules. ``build`` writes, from one botocore's ``data`` folder, a folder holding only:

- ``endpoints.json`` with every partition as it is but only the services in ``SERVICES``;
- for each service in ``SERVICES``, its newest API version's ``service-2`` with only the
  operations Gatepass calls (``OPERATIONS``), those botocore itself calls on such a client
  (``SDK_OPERATIONS``) and the service's endpoint-discovery operation, only the shapes they
  reach and the service's errors, and its ``documentation`` and ``documentationUrl`` texts
  emptied; and its ``endpoint-rule-set-1``, uncompressed and without whitespace.

Nothing a client uses is changed: the kept operations, their shapes, the errors, the metadata and
the endpoint rules are the same objects, less the prose. A client made from it has no method for
an operation not kept (S3's model has some 100, Gatepass calls 4): building those methods and
parsing their shapes was most of what making an S3 client cost (decision 0085).
``tests/unit/test_slim_models.py`` finds every operation name in the deployed code and fails if
one is not kept. layers/Makefile builds it into the SharedLayer from
the layer's own pinned botocore (so the data and the code that reads it are one version), and
``gatepass.clients`` puts it first on its loader's search path, treated as botocore's own data
(so endpoint resolution takes the same path as with the bundled files). Anything not here
(paginators, waiters, older API versions, other services) is still found in botocore's folder.

Run as ``python -m gatepass.slim_models BOTOCORE_DATA DEST``. Standard library only: the build's
Python need not have the SDK installed.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# The folder's name inside the gatepass package, where layers/Makefile writes it.
FOLDER = "botocore_data"
# The operations Gatepass calls on each service's client, as the model names them. A name the code
# reaches for (``client.put_item``, ``generate_presigned_url("get_object")``,
# ``get_paginator("scan")``) and no model here keeps fails tests/unit/test_slim_models.py.
OPERATIONS: dict[str, tuple[str, ...]] = {
    "dynamodb": (
        "BatchGetItem",
        "BatchWriteItem",
        "DeleteItem",
        "GetItem",
        "PutItem",
        "Query",
        "Scan",
        "TransactWriteItems",
        "UpdateItem",
    ),
    "kms": ("Decrypt", "Encrypt", "GenerateDataKey", "GetPublicKey", "Sign", "Verify"),
    "s3": ("DeleteObject", "GetObject", "HeadObject", "PutObject"),
    "secretsmanager": ("GetSecretValue",),
    "ses": ("SendEmail", "SendRawEmail"),
    "sns": ("GetSubscriptionAttributes", "Publish", "Subscribe"),
    "stepfunctions": ("StartExecution",),
}
# What botocore itself looks up or calls on a client by an operation's name: a pre-signed POST
# resolves its endpoint as CreateBucket's, S3 redirects are followed with HeadBucket to find the
# bucket's region, a directory bucket's credentials come from CreateSession
# (tests/unit/test_slim_models.py finds each in botocore's code).
SDK_OPERATIONS: dict[str, tuple[str, ...]] = {"s3": ("CreateBucket", "CreateSession", "HeadBucket")}
# The services Gatepass makes clients for (tests/unit/test_clients.py checks the code against it).
SERVICES = tuple(OPERATIONS)
# What botocore keeps only to write docstrings.
PROSE = frozenset({"documentation", "documentationUrl"})


def _read(path: Path) -> Any:
    """``path`` (without its extension) as botocore reads it: ``.json``, else ``.json.gz``."""
    plain = path.with_name(path.name + ".json")
    if plain.is_file():
        return json.loads(plain.read_bytes())
    return json.loads(gzip.decompress(path.with_name(path.name + ".json.gz").read_bytes()))


def _write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_name(path.name + ".json").write_text(json.dumps(data, separators=(",", ":")))


def without_prose(value: Any) -> Any:
    """``value`` with every documentation text emptied. The keys stay: botocore indexes some of
    them (a client context parameter's ``documentation``), and a member may be named so (its
    value is then a shape, not a text, and is kept)."""
    if isinstance(value, dict):
        return {
            key: "" if key in PROSE and isinstance(item, str) else without_prose(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [without_prose(item) for item in value]
    return value


def _reached(shape_name: str, shapes: dict[str, Any], seen: set[str]) -> None:
    """Add ``shape_name`` and every shape its members, list members and map entries name."""
    pending = [shape_name]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        shape = shapes[name]
        pending.extend(member["shape"] for member in shape.get("members", {}).values())
        pending.extend(shape[part]["shape"] for part in ("member", "key", "value") if part in shape)


def kept_operations(service: str, model: dict[str, Any]) -> list[str]:
    """The operations the slim model of ``service`` keeps; a name the model lacks is an error."""
    operations = model["operations"]
    wanted = {*OPERATIONS[service], *SDK_OPERATIONS.get(service, ())}
    missing = wanted - operations.keys()
    if missing:
        raise KeyError(f"{service}'s model has no operation {sorted(missing)}")
    # botocore looks the endpoint-discovery operation up whenever it makes the client.
    wanted.update(name for name, op in operations.items() if op.get("endpointoperation"))
    return sorted(wanted)


def only_operations(model: dict[str, Any], operations: Iterable[str]) -> dict[str, Any]:
    """``model`` with only ``operations``, the shapes they reach and every error shape (which
    ``client.exceptions`` makes classes of), everything else as it is."""
    kept = {name: model["operations"][name] for name in operations}
    shapes: dict[str, Any] = model["shapes"]
    seen: set[str] = set()
    for name, shape in shapes.items():
        if shape.get("exception"):
            _reached(name, shapes, seen)
    for operation in kept.values():
        for part in ("input", "output"):
            if part in operation:
                _reached(operation[part]["shape"], shapes, seen)
        for error in operation.get("errors", ()):
            _reached(error["shape"], shapes, seen)
    return {
        **model,
        "operations": kept,
        "shapes": {name: shape for name, shape in shapes.items() if name in seen},
    }


def newest_version(source: Path, service: str) -> str:
    """The API version botocore picks when none is asked for: the highest with a model."""
    versions = [
        folder.name
        for folder in (source / service).iterdir()
        if folder.is_dir() and any(folder.glob("service-2.json*"))
    ]
    if not versions:
        raise FileNotFoundError(f"botocore has no model for {service!r} in {source}")
    return max(versions)


def build(source: Path, dest: Path, services: Iterable[str] = SERVICES) -> list[Path]:
    """Write the slim data for ``services`` from botocore's ``source`` folder into ``dest``."""
    written: list[Path] = []
    prefixes: set[str] = set()
    for service in services:
        version = newest_version(source, service)
        model = _read(source / service / version / "service-2")
        prefixes.update({service, str(model["metadata"].get("endpointPrefix", service))})
        slim = only_operations(model, kept_operations(service, model))
        for name, data in (
            ("service-2", without_prose(slim)),
            ("endpoint-rule-set-1", _read(source / service / version / "endpoint-rule-set-1")),
        ):
            _write(dest / service / version / name, data)
            written.append(dest / service / version / f"{name}.json")
    endpoints = _read(source / "endpoints")
    for partition in endpoints["partitions"]:
        partition["services"] = {
            name: entry for name, entry in partition["services"].items() if name in prefixes
        }
    _write(dest / "endpoints", endpoints)
    written.append(dest / "endpoints.json")
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m gatepass.slim_models BOTOCORE_DATA DEST", file=sys.stderr)
        return 2
    for path in build(Path(argv[0]), Path(argv[1])):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
