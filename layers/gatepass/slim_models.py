"""botocore's data for the services Gatepass calls, without what a client never reads.

A client's first cost after importing the SDK is parsing JSON: botocore's ``endpoints.json``
(1.2 MB, every service in every partition) for its legacy endpoint resolver, then the service's
model (``service-2``, gzipped, mostly documentation: 0.56 MB for DynamoDB, 1.4 MB for S3) and its
endpoint rules. ``build`` writes, from one botocore's ``data`` folder, a folder holding only:

- ``endpoints.json`` with every partition as it is but only the services in ``SERVICES``;
- for each service in ``SERVICES``, its newest API version's ``service-2`` with its
  ``documentation`` and ``documentationUrl`` texts emptied, and its ``endpoint-rule-set-1``,
  uncompressed and without whitespace.

Nothing a client uses is changed: the model's shapes, operations and metadata and the endpoint
rules are the same objects, less the prose. layers/Makefile builds it into the SharedLayer from
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
# The services Gatepass makes clients for (tests/unit/test_clients.py checks the code against it).
SERVICES = ("dynamodb", "kms", "s3", "secretsmanager", "ses", "sns", "stepfunctions")
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
        for name, data in (
            ("service-2", without_prose(model)),
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
