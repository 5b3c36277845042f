"""docs/decisions/: every record has its three parts and a line in the index."""

from __future__ import annotations

import re

import pytest

from devstack.template import ROOT

pytestmark = pytest.mark.template

DECISIONS = ROOT / "docs" / "decisions"


def _records() -> list[str]:
    return sorted(p.name for p in DECISIONS.glob("*.md") if p.name != "README.md")


def test_the_index_lists_every_record_and_only_records_that_exist() -> None:
    # Given the records in docs/decisions and the index
    index = (DECISIONS / "README.md").read_text()
    linked = re.findall(r"\]\((\d{4}-[^)]+\.md)\)", index)

    # Then each record is linked once, and each link names a record
    assert _records()
    assert sorted(linked) == _records()


@pytest.mark.parametrize("name", _records())
def test_each_record_is_numbered_and_has_context_decision_and_consequences(name: str) -> None:
    text = (DECISIONS / name).read_text()
    assert re.fullmatch(r"\d{4}-[a-z0-9-]+\.md", name)
    assert text.startswith(f"# {name[:4]}. ")
    for part in ("## Context", "## Decision", "## Consequences"):
        assert part in text, f"{name} lacks {part}"
