"""The docs' table of the web's environment variables is the one its settings models describe."""

from __future__ import annotations

import pytest

from devstack.template import ROOT
from webapp.envdoc import environment_table

pytestmark = pytest.mark.template


def test_the_web_environment_table_in_the_docs_is_generated_from_the_settings_models() -> None:
    # Given the web service's documentation and its settings models
    document = (ROOT / "docs" / "web.md").read_text()

    # When the table is rendered from the models
    table = environment_table()

    # Then the docs carry exactly that table
    assert table in document, (
        "docs/web.md's environment table differs from webapp.config's models; run "
        "PYTHONPATH=layers:container .venv/bin/python -m webapp.envdoc --write docs/web.md"
    )
