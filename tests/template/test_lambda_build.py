"""What `sam build` ships: layers/Makefile and functions/Makefile run here exactly as sam build
runs them (a copy of the source directory, ARTIFACTS_DIR set), and their output is inspected:
arm64 wheels, the pinned SDK, and compiled bytecode for every module, because Lambda cannot
write a bytecode cache and would otherwise compile every library on every cold start."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import botocore.utils
import pytest

from devstack.template import ROOT, TemplateModel
from gatepass import dataclass_code, ids, regex_code, slim_models
from gatepass.readmodel.database import RDS_CA_BUNDLE

pytestmark = pytest.mark.template

MODEL = TemplateModel()
CHECKED_HASH = 0b11  # PEP 552: hash-based, and checked against the source when imported


def _make(target: str, makefile: Path, source: Path, tmp_path: Path) -> Path:
    """``target`` built as sam build builds it: make in a copy of the source directory."""
    scratch, artifacts = tmp_path / "scratch", tmp_path / "artifacts"
    shutil.copytree(source, scratch, ignore=shutil.ignore_patterns(".aws-sam", ".git"))
    artifacts.mkdir()
    env = {**os.environ, "ARTIFACTS_DIR": str(artifacts), "PYTHON": sys.executable}
    done = subprocess.run(
        ["make", "--no-print-directory", "-f", str(makefile), target],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return artifacts


def _uncompiled(root: Path) -> list[str]:
    """Modules under ``root`` without bytecode for this Python that is checked by hash."""
    missing = []
    for source in root.rglob("*.py"):
        cached = Path(importlib.util.cache_from_source(str(source)))
        if not cached.exists():
            missing.append(str(source.relative_to(root)))
            continue
        header = cached.read_bytes()[:16]
        assert header[:4] == importlib.util.MAGIC_NUMBER, cached
        if int.from_bytes(header[4:8], "little") != CHECKED_HASH:
            missing.append(f"{source.relative_to(root)} (not hash-checked)")
    return missing


def _distributions(root: Path) -> dict[str, str]:
    found = {}
    for info in root.glob("*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        found[name.lower().replace("_", "-")] = version
    return found


def _pins(requirements: Path) -> dict[str, str]:
    pins = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.split("[")[0].lower().replace("_", "-")] = version
    return pins


def test_the_layer_ships_its_pinned_libraries_for_arm64_with_bytecode(tmp_path: Path) -> None:
    # When the SharedLayer is built as sam build builds it
    site = _make("build-SharedLayer", ROOT / "layers" / "Makefile", ROOT / "layers", tmp_path)
    site /= "python"

    # Then it holds the gatepass package and exactly the pinned libraries, the SDK included
    # (so no unpinned botocore shadows the runtime's), built for arm64
    assert (site / "gatepass" / "__init__.py").exists()
    # with the RDS certificate authorities beside the module that names them (ADR 0022)
    shipped = site / "gatepass" / "readmodel" / "rds-ca-bundle.pem"
    assert shipped.read_bytes() == RDS_CA_BUNDLE.read_bytes()
    assert RDS_CA_BUNDLE.name == shipped.name
    assert (shipped.parent / "database.py").exists()
    assert _distributions(site) == _pins(ROOT / "layers" / "requirements.txt")
    assert list(site.glob("pydantic_core/_pydantic_core.*-aarch64-linux-gnu.so"))

    # And every module is compiled, so no cold start compiles one
    assert _uncompiled(site) == []
    assert not (site / "bin").exists()

    # And the slim copy of the layer's own botocore data sits where gatepass.clients reads it,
    # one model per service it calls, built from that botocore's newest models
    slim = site / "gatepass" / slim_models.FOLDER
    assert sorted(p.name for p in slim.iterdir() if p.is_dir()) == sorted(slim_models.SERVICES)
    for service in slim_models.SERVICES:
        (version,) = (p.name for p in (slim / service).iterdir())
        assert version == slim_models.newest_version(site / "botocore" / "data", service)
        assert (slim / service / version / "service-2.json").stat().st_size < (
            site / "botocore" / "data" / service / version / "service-2.json.gz"
        ).stat().st_size * 3
    assert (slim / "endpoints.json").stat().st_size * 10 < (
        site / "botocore" / "data" / "endpoints.json"
    ).stat().st_size

    # And dataclasses' methods are stored compiled for this Python (the runtime's), recorded
    # by importing gatepass with the layer's own libraries and the functions' (a ticket code's
    # fields: gatepass.ticket_codes imports cryptography)
    codes = dataclass_code.load(site / "gatepass" / "dataclass_code.marshal")
    assert codes is not None
    assert len(codes) > 100
    ticket_code = re.compile(r"def __init__\(self,event_id:\w+,ticket_id:\w+,key_id:")
    assert any(ticket_code.search(text) for text in codes)
    # And so are the programs of the regular expressions the same imports compile: botocore's
    # and gatepass's own
    programs = regex_code.load(site / "gatepass" / "regex_code.marshal")
    assert programs is not None
    assert len(programs) > 100
    assert (ids.ID_PATTERN.pattern, 0) in programs
    assert (botocore.utils.LABEL_RE.pattern, 0) in programs
    # And none of the functions' libraries is left in the layer
    assert not {"cryptography", "sqlalchemy", "PIL", "qrcode"} & {p.name for p in site.iterdir()}


def test_the_layer_records_dataclasses_with_every_functions_own_libraries() -> None:
    # Given the libraries the layer's build installs while it records dataclass methods
    recorded = _pins(ROOT / "layers" / "function-libraries.txt")
    # Then they are every function's own libraries, pinned as each function pins them
    wanted: dict[str, str] = {}
    for requirements in (ROOT / "functions").glob("*/requirements.txt"):
        wanted.update(_pins(requirements))
    assert recorded == wanted
    assert not recorded.keys() & _pins(ROOT / "layers" / "requirements.txt").keys()


@pytest.mark.parametrize(
    ("function", "library"),
    [("CreateTicketFunction", "qrcode"), ("SubscribeFunction", None)],
)
def test_a_function_ships_its_handler_and_libraries_with_bytecode(
    function: str, library: str | None, tmp_path: Path
) -> None:
    # When a function is built as sam build builds it
    source = MODEL.function_dir(function)
    artifacts = _make(f"build-{function}", ROOT / "functions" / "Makefile", source, tmp_path)

    # Then it holds its handler and its own libraries, every module compiled, and nothing else
    assert (artifacts / "app.py").exists()
    if library:
        assert (artifacts / library / "__init__.py").exists()
    assert _uncompiled(artifacts) == []
    assert not (artifacts / "Makefile").exists()
    assert not (artifacts / "bin").exists()


def test_every_function_and_the_layer_are_built_by_the_makefiles() -> None:
    for logical_id, function in MODEL.functions.items():
        metadata = function.get("Metadata", {})
        assert metadata.get("BuildMethod") == "makefile", logical_id
        assert metadata.get("ContextPath") == "functions", logical_id
    layer = MODEL.of_type("AWS::Serverless::LayerVersion")["SharedLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert layer["Metadata"]["BuildArchitecture"] == "arm64"


@pytest.mark.parametrize("makefile", ["layers/Makefile", "functions/Makefile"])
def test_the_builds_run_the_interpreter_not_a_version_managers_shim(
    makefile: str, tmp_path: Path
) -> None:
    # Given PYTHON naming a shim that hands over to the interpreter, as pyenv's python3.11 does
    # (pyenv also rehashes after every `-m pip`, and sam's parallel builds' rehashes collide)
    shim, calls = tmp_path / "python3.11", tmp_path / "calls"
    shim.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec {sys.executable} "$@"\n')
    shim.chmod(0o755)

    # When make shows what the build would run (on its command line, as `make test PYTHON=...`
    # passes it, and not inheriting the PYTHON that make test itself was given)
    outer = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    command = ["make", "--no-print-directory", "-n", "-f", str(ROOT / makefile)]
    done = subprocess.run(
        [*command, f"PYTHON={shim}", "build-SharedLayer"],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k not in outer}
        | {"ARTIFACTS_DIR": str(tmp_path / "out")},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    # Then pip and compileall run the interpreter itself, and the shim only told make which it is
    assert f"{sys.executable} -m pip install" in done.stdout
    assert f"{sys.executable} -m compileall" in done.stdout
    assert str(shim) not in done.stdout
    assert "pip" not in calls.read_text()
