"""The code the layer's build compiles once (``gatepass.layer_code``): one import of the modules
records both dataclasses' methods and regular expressions, and every function imports gatepass,
which installs them, before any library compiles its own."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gatepass import dataclass_code, layer_code, regex_code

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = """
import dataclasses
import re

SEAT = re.compile(r"^(?P<row>[A-Z])(?P<number>\\d+)$")


@dataclasses.dataclass(frozen=True)
class Seat:
    row: str
    number: int
"""


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / "gp_layer_code_sample.py").write_text(SAMPLE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "gp_layer_code_sample"
    sys.modules.pop("gp_layer_code_sample", None)


def test_the_command_line_writes_both_files(tmp_path: Path, sample: str) -> None:
    # When the build runs it for a module and one that cannot be imported here
    out = tmp_path / "out"
    out.mkdir()
    assert layer_code.main([str(out), sample, "gp_no_such_module"]) == 0

    # Then one file holds the module's dataclass methods and the other its pattern's program
    codes = dataclass_code.load(out / "dataclass_code.marshal")
    assert codes is not None
    assert any("number" in text for text in codes)
    programs = regex_code.load(out / "regex_code.marshal")
    assert programs is not None
    assert (r"^(?P<row>[A-Z])(?P<number>\d+)$", 0) in programs
    # And a wrong call says how to call it
    assert layer_code.main([]) == 2


@pytest.mark.parametrize("module", [dataclass_code, regex_code], ids=lambda m: m.__name__)
def test_the_package_installs_the_files_the_layer_carries(module: Any, tmp_path: Path) -> None:
    # Given gatepass as the layer ships it, with the stored code beside the module
    shutil.copytree(
        ROOT / "layers" / "gatepass",
        tmp_path / "gatepass",
        ignore=shutil.ignore_patterns("__pycache__", "botocore_data", "*.marshal"),
    )
    stored = tmp_path / "gatepass" / Path(module.FILE).name
    module.write({}, stored)
    # When gatepass is imported, Then it is installed; and without the file it is not
    name = module.__name__.rpartition(".")[2]
    check = f"from gatepass import {name}; print({name}.installed() is not None)"

    def installed() -> str:
        return subprocess.run(
            [sys.executable, "-c", check],
            env={**os.environ, "PYTHONPATH": str(tmp_path)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    assert installed() == "True"
    stored.unlink()
    assert installed() == "False"


def _first_library(app: Path) -> str | None:
    """The first module outside the standard library that ``app`` imports when it runs."""
    for node in ast.parse(app.read_text()).body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.partition(".")[0]
            if top != "__future__" and top not in sys.stdlib_module_names:
                return top
    return None


@pytest.mark.parametrize(
    "app", sorted((ROOT / "functions").glob("*/app.py")), ids=lambda p: p.parent.name
)
def test_every_function_imports_gatepass_before_any_library(app: Path) -> None:
    # Given a function's handler module, When its imports run (not those for type checking alone)
    # Then gatepass comes first, so its __init__ installs the layer's compiled code before
    # Powertools, boto3 or pydantic compile their patterns and dataclasses
    assert _first_library(app) == "gatepass"
