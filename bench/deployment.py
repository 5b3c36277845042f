"""What a function's Lambda deployment contains, so a cold start imports only that.

The bench runs in the development virtualenv, where every package of every function (and the
tools) is installed. In Lambda a function has the SharedLayer's packages
(``layers/requirements.txt``, boto3 pinned among them) and its own ``requirements.txt``, nothing
else (the runtime's own boto3 is shadowed by the layer's). Libraries that
import optional packages when they are present (X-Ray's ``patch_all`` imports SQLAlchemy and
psycopg; botocore imports awscrt and pyOpenSSL) would otherwise do work in the bench that they
do not do in Lambda. The cold-start child refuses the top-level modules listed here.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from bench.common import ROOT

# What the Lambda Python runtime ships besides the standard library.
RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
LOCAL = frozenset({"gatepass", "functions", "devstack", "webapp", "tests", "bench"})


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements_of(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def closure(requirements: list[str]) -> set[str]:
    """Distributions these requirements install, dependencies included."""
    found: set[str] = set()
    pending = [Requirement(r) for r in requirements]
    while pending:
        requirement = pending.pop()
        name = normal(requirement.name)
        key = name + "[" + ",".join(sorted(requirement.extras)) + "]"
        if key in found:
            continue
        found.add(key)
        found.add(name)
        try:
            requires = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            dependency = Requirement(text)
            extras = requirement.extras or {""}
            if dependency.marker is None or any(
                dependency.marker.evaluate({"extra": extra}) for extra in extras
            ):
                pending.append(dependency)
    return {name for name in found if "[" not in name}


def not_deployed(
    function_dir: Path | None, extra: tuple[str, ...] = (), layer: Path = ROOT / "layers"
) -> list[str]:
    """Top-level modules installed here that the deployment (runtime only for None) lacks;
    ``extra`` adds requirements (the reference stack's X-Ray SDK, which functions no longer
    ship); ``layer`` is the SharedLayer's folder (another revision's, for ``--before``)."""
    wanted = [*RUNTIME, *extra]
    if function_dir is not None:
        wanted += requirements_of(layer / "requirements.txt")
        wanted += requirements_of(function_dir / "requirements.txt")
    allowed = closure(wanted)
    refused = set()
    for module, distributions in metadata.packages_distributions().items():
        if module in LOCAL or module in sys.stdlib_module_names or module.startswith("_"):
            continue
        if not any(normal(d) in allowed for d in distributions):
            refused.add(module)
    return sorted(refused)
