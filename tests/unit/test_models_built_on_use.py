"""Every pydantic model in the shared package is built when first used, not when its module is
imported (``defer_build``): a function imports whole domains of models and uses a few, and each
model built at import cost every cold start (docs/performance.md, decision 0035)."""

from __future__ import annotations

import json

import pytest

from tests.support.fresh import run_fresh

pytestmark = pytest.mark.unit

_COUNT = """
import importlib, json, pkgutil, sys
import gatepass.config, gatepass.models, gatepass.settings
from pydantic import BaseModel
modules = [gatepass.config] + [
    importlib.import_module(f"{package.__name__}.{m.name}")
    for package in (gatepass.models, gatepass.settings)
    for m in pkgutil.iter_modules(package.__path__)
]
models = {
    f"{module.__name__}.{name}": value
    for module in modules
    for name, value in vars(module).items()
    if isinstance(value, type)
    and issubclass(value, BaseModel)
    and value.__module__ == module.__name__
}
print(json.dumps({
    "models": len(models),
    "built": sorted(name for name, model in models.items() if model.__pydantic_complete__),
    "not_deferred": sorted(
        name for name, model in models.items() if not model.model_config.get("defer_build")
    ),
}))
"""


def test_importing_every_model_module_builds_no_model() -> None:
    # Given a fresh interpreter, When it imports every settings and models module
    found = json.loads(run_fresh(_COUNT))

    # Then it found the models, and none was built or would be built at import
    assert found["models"] > 130
    assert found["not_deferred"] == []
    assert found["built"] == []
