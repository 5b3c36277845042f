"""Every test sits in the folder of its tier and carries that tier's marker, so `make unit`,
`make integration`, `make web`, `make template` and `make e2e` together run what `make test`
runs."""

from __future__ import annotations

import re
import tomllib

import pytest

from devstack.template import ROOT

pytestmark = pytest.mark.template

TIERS = ("unit", "integration", "web", "template", "e2e")


def test_every_test_module_is_in_a_tier_folder_and_carries_its_marker() -> None:
    # Given every test module of the repository
    modules = sorted((ROOT / "tests").rglob("test_*.py"))
    assert modules

    # Then each lives in a tier's folder and marks all its tests with that tier
    for module in modules:
        tier = module.relative_to(ROOT / "tests").parts[0]
        assert tier in TIERS, f"{module} is outside the tier folders {TIERS}"
        marks = re.search(r"^pytestmark = (.+)$", module.read_text(), re.MULTILINE)
        assert marks, f"{module} has no module-level pytestmark"
        assert f"pytest.mark.{tier}" in marks.group(1), f"{module} is not marked {tier}"


def test_the_makefile_has_a_target_per_tier_and_every_tier_marker_is_declared() -> None:
    makefile = (ROOT / "Makefile").read_text()
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"][
        "ini_options"
    ]["markers"]
    assert f"TIERS := {' '.join(TIERS)}" in makefile
    assert "pytest tests/$@ -m $@" in makefile
    assert {m.split(":", 1)[0] for m in declared} >= set(TIERS)
